package admin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/httpget"
)

// Errors of the signing keys of leak reports.
var (
	// ErrUnknownSigningKey means a report names a key that the published
	// key set does not hold, fetched again for this report. Response: 401.
	ErrUnknownSigningKey = errors.New("admin: leak report signed with an unknown key")
	// ErrSigningKeyNotFetched means a report names a key that the key set
	// did not hold when it was fetched, less than RefreshInterval ago: the
	// key may be new (the reporter rotated it since), so the report is to
	// be sent again once the key set may be fetched again. It comes in a
	// [*SigningKeysRetryError]. Response: 503 with Retry-After.
	ErrSigningKeyNotFetched = errors.New("admin: leak report signing key not in the key set fetched last")
	// ErrSigningKeysUnavailable means the key set could not be fetched,
	// so no report can be verified. It comes in a
	// [*SigningKeysRetryError]. Response: 503 with Retry-After.
	ErrSigningKeysUnavailable = errors.New("admin: leak report signing keys unavailable")
)

// SigningKeysRetryError is the error of a report that cannot be verified
// now: Err is [ErrSigningKeysUnavailable] or [ErrSigningKeyNotFetched],
// and RetryAfter how long until the key set may be fetched again.
type SigningKeysRetryError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *SigningKeysRetryError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *SigningKeysRetryError) Unwrap() error { return e.Err }

const maxKeyIDLen = 256

// keySetFetchTimeout bounds one fetch of the key set, whatever the
// client's own timeout.
const keySetFetchTimeout = 10 * time.Second

// reporterKeys is the published key set of a leak reporter (GitHub's
// secret scanning: {"public_keys": [{"key_identifier", "key" (PEM),
// "is_current"}]}), fetched with a timeout and a size cap, cached, and
// fetched again when an unknown key ID appears, at most once per
// interval; fetches are serialised, so a flood of unknown IDs costs one
// fetch per interval. A fetch does not end with the request that caused
// it (only with its timeout), so that a caller who hangs up cannot make
// it fail for everyone. Only ECDSA P-256 keys are kept.
type reporterKeys struct {
	url      string
	client   *http.Client
	interval time.Duration
	maxBody  int64
	now      func() time.Time

	keys atomic.Pointer[map[string]*ecdsa.PublicKey]

	mu        sync.Mutex // held during a fetch
	lastFetch time.Time
	lastErr   error
}

// key returns the public key with identifier id.
func (g *reporterKeys) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	if len(id) > maxKeyIDLen {
		return nil, ErrUnknownSigningKey
	}
	if m := g.keys.Load(); m != nil {
		if k := (*m)[id]; k != nil {
			return k, nil
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.keys.Load(); m != nil { // fetched while this request waited
		if k := (*m)[id]; k != nil {
			return k, nil
		}
	}
	now := g.now()
	if since := now.Sub(g.lastFetch); !g.lastFetch.IsZero() && since < g.interval {
		err := ErrSigningKeyNotFetched
		if g.lastErr != nil {
			err = ErrSigningKeysUnavailable
		}
		return nil, &SigningKeysRetryError{RetryAfter: g.interval - since, Err: err}
	}
	g.lastFetch = now
	// The fetch outlives a caller who hangs up, within its own bound.
	m, err := g.fetch(context.WithoutCancel(ctx))
	g.lastErr = err
	if err != nil {
		return nil, &SigningKeysRetryError{RetryAfter: g.interval, Err: fmt.Errorf("%w: %v", ErrSigningKeysUnavailable, err)}
	}
	g.keys.Store(&m)
	if k := m[id]; k != nil {
		return k, nil
	}
	return nil, ErrUnknownSigningKey
}

func (g *reporterKeys) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	body, err := httpget.Capped(ctx, g.client, g.url, "application/json", keySetFetchTimeout, g.maxBody, "key set")
	if err != nil {
		return nil, err
	}
	var doc struct {
		PublicKeys []struct {
			ID  string `json:"key_identifier"`
			Key string `json:"key"`
		} `json:"public_keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("key set is not JSON")
	}
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range doc.PublicKeys {
		if k.ID == "" || len(k.ID) > maxKeyIDLen {
			continue
		}
		if pub := parseP256(k.Key); pub != nil {
			out[k.ID] = pub
		}
	}
	if len(out) == 0 {
		return nil, errors.New("key set holds no P-256 key")
	}
	return out, nil
}

// parseP256 reads a PEM "PUBLIC KEY" holding an ECDSA P-256 key; nil for
// anything else.
func parseP256(s string) *ecdsa.PublicKey {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil
	}
	return pub
}
