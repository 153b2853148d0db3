package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock, either way: 5 minutes, as Standard Webhooks advises.
const DefaultTolerance = 5 * time.Minute

// Limits on the headers [Verify] parses, so that a hostile sender cannot
// make it do much work.
const (
	maxIDLen        = 256
	maxSignatureLen = 4096
)

// Errors returned by [Verify]. Test with errors.Is.
var (
	// ErrMissingHeaders means a Standard Webhooks header is missing,
	// empty or too long.
	ErrMissingHeaders = errors.New("webhook: missing or oversized webhook headers")
	// ErrTimestamp means webhook-timestamp is not a Unix time in seconds
	// or is further from now than the tolerance (a replay or a bad clock).
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance")
	// ErrSignature means no v1 signature matches the message.
	ErrSignature = errors.New("webhook: no matching signature")
)

// Verify checks a received message: headers h (webhook-id,
// webhook-timestamp, webhook-signature), the raw body, the receiver's
// clock now and the timestamp tolerance (0: [DefaultTolerance]). It
// returns nil when one of the space-separated "v1,<base64>" signatures
// is the HMAC-SHA-256 of "id.timestamp.body" under secret, compared in
// constant time, and the timestamp is within tolerance of now. Other
// signature versions are skipped. A malformed secret is [ErrSecret].
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	return verify(key, h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature), body, now, tolerance)
}

func verify(key []byte, id, ts, sigs string, body []byte, now time.Time, tolerance time.Duration) error {
	if id == "" || ts == "" || sigs == "" || len(id) > maxIDLen || len(sigs) > maxSignatureLen || len(ts) > 20 {
		return ErrMissingHeaders
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts[0] == '+' || ts[0] == '-' {
		return ErrTimestamp
	}
	// Compare in seconds, so that no time arithmetic overflows.
	diff := now.Unix() - sec
	if sec < 0 || diff > int64(tolerance/time.Second) || -diff > int64(tolerance/time.Second) {
		return ErrTimestamp
	}
	want := mac(key, id, ts, body)
	var got [64]byte
	rest := sigs
	for rest != "" {
		var one string
		one, rest, _ = strings.Cut(rest, " ")
		version, enc, ok := strings.Cut(one, ",")
		// An HMAC-SHA-256 is 44 base64 characters exactly: this also
		// refuses the CR and LF that the decoder would skip.
		if !ok || version != "v1" || len(enc) != base64.StdEncoding.EncodedLen(sha256.Size) {
			continue
		}
		n, err := base64.StdEncoding.Strict().Decode(got[:], []byte(enc))
		if err != nil {
			continue
		}
		if hmac.Equal(got[:n], want) {
			return nil
		}
	}
	return ErrSignature
}
