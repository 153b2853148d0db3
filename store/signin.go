package store

import (
	"context"
	"time"
)

// SignInToken is a single-use sign-in link's token, stored only as its
// digest: the token itself is in the link sent to the user.
type SignInToken struct {
	Digest    Digest
	UserID    string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working: it is valid up to, but
	// not at, this instant. Zero: it never expires (give every token an
	// expiry).
	ExpiresAt time.Time
}

// ExpiredAt reports whether the token is expired at t.
func (s *SignInToken) ExpiredAt(t time.Time) bool {
	return !s.ExpiresAt.IsZero() && !t.Before(s.ExpiresAt)
}

// SignInTokenStore persists sign-in tokens by digest. Every method is safe
// for concurrent use.
type SignInTokenStore interface {
	// CreateSignInToken stores t. ErrConflict if its digest exists.
	CreateSignInToken(ctx context.Context, t *SignInToken) error
	// ConsumeSignInToken deletes the token and returns it, atomically: of
	// concurrent callers exactly one gets it, the others ErrNotFound. An
	// expired token is deleted and reported as ErrNotFound.
	ConsumeSignInToken(ctx context.Context, d Digest, now time.Time) (*SignInToken, error)
}
