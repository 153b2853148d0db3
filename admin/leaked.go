package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// What [LeakedKeys] does with a reported key that it finds.
const (
	LeakRevoke = "revoke" // revoke it at once (the default)
	LeakFlag   = "flag"   // only log and emit key.leaked; the key keeps working
)

// GitHubSecretScanningKeysURL is where GitHub publishes the keys that sign
// its secret scanning partner reports.
const GitHubSecretScanningKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// LeakActorID is the actor of the revocations and events that leak
// reports cause.
const LeakActorID = "github-secret-scanning"

// LeakConfig holds the optional settings of [NewLeakedKeys].
type LeakConfig struct {
	// KeysURL is the reporter's published key set. Default
	// [GitHubSecretScanningKeysURL].
	KeysURL string
	// Action is [LeakRevoke] or [LeakFlag]. Default LeakRevoke. A report
	// emits key.leaked only when it changes something, so that a replayed
	// report (a new webhook-id) does not reach receivers again: with
	// LeakRevoke, when it revoked the key; with LeakFlag, at most once per
	// key per 24 hours in each process (for the 10,000 keys reported
	// last). The log records every report (gatehouse.key.leaked).
	Action string
	// Client fetches the key set. Default: an http.Client with a
	// 10-second timeout. Each fetch is also bounded by 10 seconds, and
	// does not end when the request that caused it does.
	Client *http.Client
	// RefreshInterval is the least time between two fetches of the key
	// set (on an unknown key ID); within it, a report signed by a key ID
	// the last fetch did not find is answered 503 with Retry-After.
	// Default 1 minute.
	RefreshInterval time.Duration
	// MaxBody caps a report's body. Default 1 MiB.
	MaxBody int64
	// MaxTokens caps the tokens of one report. Default 1000.
	MaxTokens int
	// MaxKeySetBody caps the key set document. Default 1 MiB.
	MaxKeySetBody int64
}

// LeakReport is one token of a report: GitHub's {"token", "type", "url",
// "source"}.
type LeakReport struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// LeakResult is the answer for one token, as GitHub's partner program
// expects it: label "true_positive" when the token is a key of this
// service (revoked or flagged), "false_positive" otherwise.
type LeakResult struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// Errors of a leak report's body.
var (
	// ErrLeakReport means the body is not a JSON array of reports, or
	// holds more than MaxTokens. Response: 400.
	ErrLeakReport = errors.New("admin: malformed leak report")
	// ErrLeakSignature means the report's signature is missing or does
	// not verify. Response: 401.
	ErrLeakSignature = errors.New("admin: leak report signature invalid")
)

// LeakedKeys is the endpoint of GitHub's secret scanning partner program:
// GitHub POSTs the tokens it found in public code, signed with ECDSA
// P-256 (Github-Public-Key-Identifier names the key,
// Github-Public-Key-Signature holds the base64 ASN.1 signature of the raw
// body's SHA-256). It verifies the signature against the published key
// set, checks each token's prefix and checksum before any lookup, finds
// the key by digest, revokes it or only flags it (as configured), and
// emits key.leaked (and key.revoked when it revoked the key), once per
// change (see [LeakConfig].Action). It is safe for concurrent use.
type LeakedKeys struct {
	m         *Manager
	keys      *reporterKeys
	action    string
	maxBody   int64
	maxTokens int
	seen      *leakSeen // flagged keys' last key.leaked
}

// NewLeakedKeys returns the leak endpoint over m's keys, hasher, format,
// logger and event sink. It needs no authentication middleware: the
// signature is the authentication.
func NewLeakedKeys(m *Manager, cfg LeakConfig) (*LeakedKeys, error) {
	if m == nil {
		return nil, errors.New("admin: nil manager")
	}
	if cfg.KeysURL == "" {
		cfg.KeysURL = GitHubSecretScanningKeysURL
	}
	switch cfg.Action {
	case "":
		cfg.Action = LeakRevoke
	case LeakRevoke, LeakFlag:
	default:
		return nil, errors.New("admin: leak action must be revoke or flag")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Minute
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 1000
	}
	if cfg.MaxKeySetBody <= 0 {
		cfg.MaxKeySetBody = 1 << 20
	}
	return &LeakedKeys{m: m, action: cfg.Action, maxBody: cfg.MaxBody, maxTokens: cfg.MaxTokens, seen: newLeakSeen(leakSeenWindow, leakSeenCap),
		keys: &reporterKeys{url: cfg.KeysURL, client: cfg.Client, interval: cfg.RefreshInterval, maxBody: cfg.MaxKeySetBody, now: m.now}}, nil
}

// Check verifies a report's signature: keyID and sig are the
// Github-Public-Key-Identifier and Github-Public-Key-Signature headers.
// It returns nil, [ErrLeakSignature], [ErrUnknownSigningKey], or a
// [*SigningKeysRetryError] holding [ErrSigningKeysUnavailable] or
// [ErrSigningKeyNotFetched].
func (l *LeakedKeys) Check(ctx context.Context, body []byte, keyID, sig string) error {
	if keyID == "" || sig == "" || len(sig) > 512 {
		return ErrLeakSignature
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrLeakSignature
	}
	pub, err := l.keys.key(ctx, keyID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], raw) {
		return ErrLeakSignature
	}
	return nil
}

// ParseLeakReports reads a report body: a JSON array of at most max
// objects (unknown members ignored). It returns [ErrLeakReport] for
// anything else.
func ParseLeakReports(body []byte, max int) ([]LeakReport, error) {
	var rs []LeakReport
	if err := json.Unmarshal(body, &rs); err != nil || rs == nil || len(rs) > max {
		return nil, ErrLeakReport
	}
	return rs, nil
}

// Report handles verified reports: a result for each, in order. A store
// failure stops it with an error (the keys revoked so far stay revoked;
// the reporter sends the report again).
func (l *LeakedKeys) Report(ctx context.Context, reports []LeakReport) ([]LeakResult, error) {
	out := make([]LeakResult, 0, len(reports))
	for _, r := range reports {
		label, err := l.one(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, LeakResult{TokenRaw: r.Token, TokenType: r.Type, Label: label})
	}
	return out, nil
}

func (l *LeakedKeys) one(ctx context.Context, r LeakReport) (string, error) {
	// Prefix, length, alphabet and checksum first: a look-alike never
	// reaches the store.
	if len(r.Token) > 256 || l.m.format.Parse(r.Token) != nil {
		return "false_positive", nil
	}
	k, err := l.m.keys.KeyByDigest(ctx, l.m.hasher.Sum(r.Token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "false_positive", nil
	case err != nil:
		return "", gatehouse.Unavailable(err)
	}
	// emit: whether this report changed something that receivers have
	// not heard of (a replayed report emits nothing).
	action, emit := "flagged", false
	if l.action == LeakRevoke {
		action = "revoked"
		if !k.Revoked() {
			k, emit, err = l.m.revokeOnce(ctx, Actor{ID: LeakActorID}, k)
			if errors.Is(err, store.ErrNotFound) {
				return "false_positive", nil // deleted meanwhile
			}
			if err != nil {
				return "", gatehouse.Unavailable(err)
			}
		}
	} else {
		emit = l.seen.due(k.ID, l.m.now())
	}
	url := r.URL
	if len(url) > 2048 {
		url = ""
	}
	l.m.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.key.leaked", slog.String("key_id", k.ID), slog.String("key_name", k.Name),
		slog.String("owner_id", k.OwnerID), slog.String("tenant_id", k.TenantID), slog.String("action", action),
		slog.String("url", url), slog.String("source", truncate(r.Source, 64)))
	if emit {
		l.m.emit(ctx, Event{Type: EventKeyLeaked, Key: k, ActorID: LeakActorID, At: l.m.now(), LeakAction: action, LeakURL: url})
	}
	return "true_positive", nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ServeHTTP answers POST reports: 200 with a JSON array of [LeakResult];
// 401 problem+json for a missing, unknown or bad signature; 400 for a
// body that is not a report; 413 for one over MaxBody; 405 for another
// method; 503 when the key set or the store cannot be reached, and 503
// with Retry-After for a key ID unknown to the key set fetched less than
// RefreshInterval ago (a key rotated since then verifies on the retry).
func (l *LeakedKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Send leak reports with POST", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, http.StatusRequestEntityTooLarge, "body_too_large", "The report is larger than "+strconv.FormatInt(l.maxBody, 10)+" bytes", nil)
			return
		}
		problem(w, http.StatusBadRequest, "malformed_body", "The report could not be read", nil)
		return
	}
	err = l.Check(r.Context(), body, r.Header.Get("Github-Public-Key-Identifier"), r.Header.Get("Github-Public-Key-Signature"))
	var retry *SigningKeysRetryError
	if errors.As(err, &retry) {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(max(1, (retry.RetryAfter+time.Second-1)/time.Second)), 10))
	}
	switch {
	case errors.Is(err, ErrSigningKeysUnavailable):
		l.m.log.LogAttrs(r.Context(), slog.LevelError, "gatehouse.leak_report.keys_unavailable", slog.String("error", err.Error()))
		problem(w, http.StatusServiceUnavailable, "unavailable", "The reporter's signing keys cannot be fetched; try again later", nil)
		return
	case errors.Is(err, ErrSigningKeyNotFetched):
		// Maybe a key rotated since the last fetch: the reporter sends
		// the report again once the key set may be fetched again.
		problem(w, http.StatusServiceUnavailable, "unavailable", "The report's signing key is not in the key set fetched last; try again later", nil)
		return
	case err != nil:
		problem(w, http.StatusUnauthorized, "invalid_signature", "The report's signature is missing or does not verify", nil)
		return
	}
	reports, err := ParseLeakReports(body, l.maxTokens)
	if err != nil {
		problem(w, http.StatusBadRequest, "malformed_body", "The report must be a JSON array of at most "+strconv.Itoa(l.maxTokens)+" {token, type, url, source} objects", nil)
		return
	}
	results, err := l.Report(r.Context(), reports)
	if err != nil {
		problem(w, http.StatusServiceUnavailable, "unavailable", "The key store is unavailable; send the report again later", nil)
		return
	}
	writeJSON(w, http.StatusOK, results)
}
