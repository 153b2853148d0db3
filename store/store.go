package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// Errors returned by every backend. Test with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a record with the same ID, digest or unique field
	// already exists.
	ErrConflict = errors.New("store: conflict")
)

// Digest is the SHA-256 or HMAC-SHA-256 digest of a secret (an API key, a
// session ID). Secrets are stored and looked up only by digest.
type Digest [32]byte

// Key is an API key record. The plaintext key is never stored.
type Key struct {
	ID          string
	Digest      Digest
	Prefix      string // the application prefix, e.g. "cpx_live."
	Last4       string // the last 4 characters of the key, for display
	Name        string
	Description string
	OwnerID     string // the user who owns the key
	TenantID    string // the organization the key acts in
	Scopes      []string
	Role        string // when set, scopes come from the application's roles
	CreatedBy   string // the principal that created the key
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	LastUsedAt  time.Time // zero: never used
	RevokedAt   time.Time // zero: not revoked
	Metadata    map[string]string
	// AllowedNetworks, when not empty, are the only networks the key may
	// be used from (see [gatehouse.Principal.AllowedNetworks]), masked
	// (10.1.2.3/8 is kept as 10.0.0.0/8). Parsed once when the record is
	// loaded, so that a cached key checks them without parsing.
	AllowedNetworks []netip.Prefix
	// Credits, when set, is the key's allowance of uses; its live count
	// is kept by a [CreditSpender]. Nil: unlimited.
	Credits *gatehouse.Credits
}

// Revoked reports whether the key has been revoked.
func (k *Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// ExpiredAt reports whether the key is expired at t. A key is valid up to,
// but not at, its expiry instant.
func (k *Key) ExpiredAt(t time.Time) bool {
	return !k.ExpiresAt.IsZero() && !t.Before(k.ExpiresAt)
}

// Clone returns a deep copy of k.
func (k *Key) Clone() *Key {
	c := *k
	if k.Scopes != nil {
		c.Scopes = append([]string(nil), k.Scopes...)
	}
	if k.Metadata != nil {
		c.Metadata = make(map[string]string, len(k.Metadata))
		for a, b := range k.Metadata {
			c.Metadata[a] = b
		}
	}
	if k.AllowedNetworks != nil {
		c.AllowedNetworks = append([]netip.Prefix(nil), k.AllowedNetworks...)
	}
	if k.Credits != nil {
		cr := *k.Credits
		c.Credits = &cr
	}
	return &c
}

// KeyFilter selects keys for [KeyStore.ListKeys]. Empty fields match all.
type KeyFilter struct {
	OwnerID        string
	TenantID       string
	IncludeRevoked bool
	// After is the cursor: the ID of the last key of the previous page.
	After string
	// Limit is the page size; 0 means 100, and it is capped at 1000.
	Limit int
}

// PageLimit returns the effective page size of a Limit value.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}

// cutPage cuts sorted items to limit: the page and the cursor of the next
// one (the ID of the page's last item), or "" when nothing follows.
func cutPage[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}

// KeyUpdate holds the fields [KeyStore.UpdateKey] may change; nil fields
// are left as they are. A key's value, digest, owner, tenant and scopes never
// change: rotation creates a new key. Its allowed networks and credits may
// change; the change reaches other processes' caches as a revocation does
// (the invalidation feed).
type KeyUpdate struct {
	Name        *string
	Description *string
	// ExpiresAt sets the expiry; a pointer to the zero time removes it.
	ExpiresAt *time.Time
	// AllowedNetworks sets the allowed networks; a pointer to an empty
	// list removes them (any address).
	AllowedNetworks *[]netip.Prefix
	// Credits sets the allowance, live count included (Remaining as of
	// Since); a pointer to the zero Credits removes it (unlimited).
	Credits *gatehouse.Credits
}

// KeyStore persists API keys. Keys are ordered by ID, which [NewID] makes
// sortable by creation time.
type KeyStore interface {
	// CreateKey stores k. ErrConflict if its ID or digest exists.
	CreateKey(ctx context.Context, k *Key) error
	// KeyByDigest returns the key with digest d, revoked or not.
	KeyByDigest(ctx context.Context, d Digest) (*Key, error)
	// KeyByID returns the key with the given ID, revoked or not.
	KeyByID(ctx context.Context, id string) (*Key, error)
	// ListKeys returns up to f.Limit keys matching f with IDs after
	// f.After, in ID order, and the cursor of the next page ("" at the
	// end).
	ListKeys(ctx context.Context, f KeyFilter) (keys []*Key, next string, err error)
	// UpdateKey applies u and returns the updated key.
	UpdateKey(ctx context.Context, id string, u KeyUpdate) (*Key, error)
	// RevokeKey marks the key revoked at t and returns it. Revoking a
	// revoked key keeps the first revocation time.
	RevokeKey(ctx context.Context, id string, t time.Time) (*Key, error)
	// DeleteKey removes the key; a missing key is not an error.
	DeleteKey(ctx context.Context, id string) error
}

// idAlphabet is the lower-case Crockford base32 of record IDs.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// IsID reports whether s has the shape of an ID [NewID] returns for
// prefix: prefix, "_", then 26 characters of lower-case Crockford base32.
func IsID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(idAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// NewID returns a new record ID: prefix, "_", then 26 characters of
// Crockford base32 holding a 48-bit millisecond timestamp and 80 random bits,
// so that IDs sort by creation time.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	out := make([]byte, 0, len(prefix)+27)
	out = append(out, prefix...)
	out = append(out, '_')
	// 128 bits as 26 base32 digits, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = lo>>shift | hi<<(64-shift)
		default:
			v = lo >> shift
		}
		out = append(out, idAlphabet[v&31])
	}
	return string(out)
}
