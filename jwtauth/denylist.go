package jwtauth

import (
	"context"
	"sync"
	"time"
)

// TokenRef identifies a verified token to a [Denylist].
type TokenRef struct {
	Issuer  string
	Subject string
	// ID is the "jti" claim; empty when the token has none.
	ID string
	// IssuedAt is the "iat" claim; zero when the token has none.
	IssuedAt time.Time
	// ExpiresAt is the "exp" claim.
	ExpiresAt time.Time
}

// Denylist revokes individual tokens before they expire, by jti or by
// subject. The authenticator asks it about every token on every request,
// the cached ones included, so Denied must be fast: a slow denylist slows
// every request. Keep it in memory and feed it from wherever revocations
// are recorded.
//
// Denied reports whether the token is revoked. An error fails closed: the
// request gets 503. Implementations must be safe for concurrent use.
type Denylist interface {
	Denied(ctx context.Context, t TokenRef) (bool, error)
}

// MemoryDenylist is an in-memory [Denylist]. Entries are dropped once they
// can no longer matter (see RevokeID and RevokeSubject), so it stays as
// small as the set of live revoked tokens. It is safe for concurrent use;
// Denied takes a read lock and does not allocate.
type MemoryDenylist struct {
	now      func() time.Time
	mu       sync.RWMutex
	ids      map[string]time.Time // jti -> until
	subjects map[string]subjectRevocation
	writes   int
}

type subjectRevocation struct {
	before time.Time // tokens issued before this are refused
	until  time.Time // the entry is dropped after this
}

var _ Denylist = (*MemoryDenylist)(nil)

// NewMemoryDenylist returns an empty denylist. now is the clock used to
// drop stale entries; nil means time.Now.
func NewMemoryDenylist(now func() time.Time) *MemoryDenylist {
	if now == nil {
		now = time.Now
	}
	return &MemoryDenylist{now: now, ids: map[string]time.Time{}, subjects: map[string]subjectRevocation{}}
}

// RevokeID refuses the token whose jti is id. Pass the token's expiry as
// until: the entry is dropped after it, when the token is refused anyway.
func (d *MemoryDenylist) RevokeID(id string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids[id] = until
	d.pruneLocked()
}

// RevokeSubject refuses every token of subject issued before before (and
// every token of subject without an "iat"), as a "sign out everywhere"
// does; tokens issued later pass. Pass the latest expiry any such token can
// have as until (issue time plus the longest token lifetime): the entry is
// dropped after it.
func (d *MemoryDenylist) RevokeSubject(subject string, before, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subjects[subject] = subjectRevocation{before: before, until: until}
	d.pruneLocked()
}

// Len returns the number of entries, by jti and by subject.
func (d *MemoryDenylist) Len() (ids, subjects int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.ids), len(d.subjects)
}

// Denied implements [Denylist].
func (d *MemoryDenylist) Denied(_ context.Context, t TokenRef) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if t.ID != "" {
		if _, ok := d.ids[t.ID]; ok {
			return true, nil
		}
	}
	if r, ok := d.subjects[t.Subject]; ok {
		if t.IssuedAt.IsZero() || t.IssuedAt.Before(r.before) {
			return true, nil
		}
	}
	return false, nil
}

// pruneLocked drops entries past their until, at most once every 64
// writes, so that writes stay cheap.
func (d *MemoryDenylist) pruneLocked() {
	d.writes++
	if d.writes%64 != 0 {
		return
	}
	now := d.now()
	for k, until := range d.ids {
		if now.After(until) {
			delete(d.ids, k)
		}
	}
	for k, r := range d.subjects {
		if now.After(r.until) {
			delete(d.subjects, k)
		}
	}
}
