package store

import (
	"context"
	"time"
)

// SigningKey is a public key a user registered to sign their own short-lived
// JWTs (a personal access config). The server keeps only the public key: it
// never holds a secret for these tokens, and deleting the registration
// revokes every token signed with the key.
type SigningKey struct {
	// KID is the key ID that tokens carry in their "kid" header. It is
	// unique across all owners.
	KID string
	// OwnerID is the user the key belongs to; tokens signed with it act as
	// this user.
	OwnerID string
	// TenantID is the organization the key acts in; empty without tenants.
	TenantID string
	// Name is a label for listings ("laptop", "ci"); optional.
	Name string
	// Algorithm is the one JWS algorithm the key verifies: "EdDSA" or
	// "ES256".
	Algorithm string
	// PublicKey is the key in PKIX, ASN.1 DER form.
	PublicKey []byte
	// Scopes is the ceiling of what tokens signed with the key may do.
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt is when the registration stops verifying tokens; zero:
	// never.
	ExpiresAt time.Time
}

// ExpiredAt reports whether the registration is expired at t. It is valid up
// to, but not at, its expiry instant.
func (k *SigningKey) ExpiredAt(t time.Time) bool {
	return !k.ExpiresAt.IsZero() && !t.Before(k.ExpiresAt)
}

// Clone returns a deep copy of k.
func (k *SigningKey) Clone() *SigningKey {
	c := *k
	if k.PublicKey != nil {
		c.PublicKey = append([]byte(nil), k.PublicKey...)
	}
	if k.Scopes != nil {
		c.Scopes = append([]string(nil), k.Scopes...)
	}
	return &c
}

// SigningKeyStore persists registered signing keys, looked up by key ID.
//
// The contract is the one of every store (see the package doc): ctx first,
// [ErrNotFound] for a missing key, [ErrConflict] for a KID that exists,
// deleting a missing key is not an error, records returned are the caller's
// own copies, and every method is safe for concurrent use. A KID comes from
// an unverified token header: backends use it only as an opaque lookup key
// (a map key, a bound SQL parameter), never in a path or a query string.
type SigningKeyStore interface {
	// RegisterSigningKey stores k. ErrConflict if its KID exists.
	RegisterSigningKey(ctx context.Context, k *SigningKey) error
	// SigningKeyByKID returns the key with the given KID.
	SigningKeyByKID(ctx context.Context, kid string) (*SigningKey, error)
	// ListSigningKeys returns the owner's keys ordered by KID.
	ListSigningKeys(ctx context.Context, ownerID string) ([]*SigningKey, error)
	// DeleteSigningKey removes the key; a missing key is not an error.
	DeleteSigningKey(ctx context.Context, kid string) error
}
