package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names, as Standard Webhooks spells them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret's text form.
const SecretPrefix = "whsec_"

// Secret lengths accepted by [ParseSecret], in bytes: Standard Webhooks
// allows 24 to 64; [NewSecret] makes 32.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// ErrSecret means a signing secret is not "whsec_" followed by the
// standard base64 of 24 to 64 bytes.
var ErrSecret = errors.New("webhook: malformed secret")

// NewSecret returns a new signing secret: 32 bytes from crypto/rand, as
// "whsec_" and their base64.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// ParseSecret returns the key bytes of a secret in its text form.
func ParseSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok || len(enc) > base64.StdEncoding.EncodedLen(MaxSecretBytes) {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, ErrSecret
	}
	return key, nil
}

// Signer signs messages with one secret. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a signer for secret ("whsec_..."): [ErrSecret] when it
// is malformed.
func NewSigner(secret string) (*Signer, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key}, nil
}

// Sign returns the signature header value of a message: "v1," and the
// base64 HMAC-SHA-256 of "id.timestamp.body", timestamp in Unix seconds.
func (s *Signer) Sign(id string, at time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(s.key, id, strconv.FormatInt(at.Unix(), 10), body))
}

// SetHeaders sets the three Standard Webhooks headers of a message sent
// at at.
func (s *Signer) SetHeaders(h http.Header, id string, at time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, at, body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
