package store

import (
	"context"
	"time"
)

// Session is a login session. Only the digest of its ID is stored; the ID
// itself lives in the browser's cookie.
type Session struct {
	Digest    Digest
	UserID    string
	TenantID  string
	Scopes    []string
	CreatedAt time.Time
	// LastSeenAt is when the session was last used, for the idle timeout.
	// It is written in batches, so it may lag by the flush interval.
	LastSeenAt time.Time
	// ExpiresAt is the absolute timeout: the session ends then however
	// active it is.
	ExpiresAt time.Time
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	if s.Scopes != nil {
		c.Scopes = append([]string(nil), s.Scopes...)
	}
	return &c
}

// SessionStore persists sessions by the digest of their ID.
type SessionStore interface {
	// CreateSession stores s. ErrConflict if its digest exists.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByDigest returns the session with digest d.
	SessionByDigest(ctx context.Context, d Digest) (*Session, error)
	// TouchSession sets LastSeenAt to at when at is later; a missing
	// session is not an error.
	TouchSession(ctx context.Context, d Digest, at time.Time) error
	// DeleteSession removes the session; a missing one is not an error.
	DeleteSession(ctx context.Context, d Digest) error
	// DeleteUserSessions removes every session of the user and returns
	// their digests, so that caches can drop them.
	DeleteUserSessions(ctx context.Context, userID string) ([]Digest, error)
}
