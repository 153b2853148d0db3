package store

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// CachedSession is a session as the [SessionCache] holds it: shared and
// read-only, with the time it was last seen in this process.
type CachedSession struct {
	// Session is the record. Do not modify it.
	Session *Session
	entryState[Session]
}

// Principal returns the principal built for this session, building it with
// build on first use.
func (c *CachedSession) Principal(build func(*Session) *gatehouse.Principal) *gatehouse.Principal {
	return c.principalOnce(c.Session, build)
}

// LastSeen returns the later of the stored last-seen time and the last use
// in this process.
func (c *CachedSession) LastSeen() time.Time {
	t := c.Session.LastSeenAt
	if n := c.lastUse.Load(); n > 0 && n > t.UnixNano() {
		return time.Unix(0, n)
	}
	return t
}

// SessionCache is a [SessionStore] that answers lookups by digest from a
// bounded LRU, as [KeyCache] does for keys, and coalesces last-seen times
// in memory (Flush writes them). Deletions through it drop the entry before
// they return. It is safe for concurrent use.
type SessionCache struct {
	inner  SessionStore
	c      *digestCache[*CachedSession]
	loadFn func(context.Context, Digest) (*CachedSession, error)

	mu      sync.Mutex
	pending map[Digest]time.Time
}

var _ SessionStore = (*SessionCache)(nil)

// NewSessionCache wraps s.
func NewSessionCache(s SessionStore, cfg CacheConfig) (*SessionCache, error) {
	c, err := newDigestCache[*CachedSession](cfg)
	if err != nil {
		return nil, err
	}
	sc := &SessionCache{inner: s, c: c, pending: map[Digest]time.Time{}}
	sc.loadFn = sc.load
	return sc, nil
}

// Now returns the cache's clock reading.
func (sc *SessionCache) Now() time.Time { return sc.c.cfg.Now() }

// Clock returns the cache's clock itself, for callers that read it on every
// request: calling it directly saves the indirection through Now.
func (sc *SessionCache) Clock() func() time.Time { return sc.c.cfg.Now }

func (sc *SessionCache) load(ctx context.Context, d Digest) (*CachedSession, error) {
	// A use recorded here but not yet flushed is newer than the store's:
	// read it before the store, so that a reload sees one or the other
	// (Flush deletes a pending time only after the store has it).
	sc.mu.Lock()
	pending := sc.pending[d]
	sc.mu.Unlock()
	s, err := sc.inner.SessionByDigest(ctx, d)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Digest != d {
		return nil, ErrCorrupt
	}
	cs := &CachedSession{Session: s}
	if pending.After(s.LastSeenAt) {
		cs.lastUse.Store(pending.UnixNano())
	}
	return cs, nil
}

// LookupAt returns the cached session for d, loading it on a miss. It does
// not check timeouts: the caller does, against now.
func (sc *SessionCache) LookupAt(ctx context.Context, d Digest, now time.Time) (*CachedSession, error) {
	return sc.c.get(ctx, d, now, sc.loadFn)
}

// PeekAt returns the cached session for d when it is in the cache and
// fresh at now. It never calls the store. Like LookupAt, it does not check
// timeouts.
func (sc *SessionCache) PeekAt(d Digest, now time.Time) (*CachedSession, bool) {
	return sc.c.peek(d, now)
}

// Touch records a use of cs at now, at most once a second per session; the
// time reaches the store on the next Flush.
func (sc *SessionCache) Touch(cs *CachedSession, now time.Time) {
	if !cs.claimUse(now) {
		return
	}
	sc.mu.Lock()
	sc.pending[cs.Session.Digest] = now
	sc.mu.Unlock()
}

// Flush writes pending last-seen times to the store. A time is dropped
// from the pending set only once the store has it: a failed write is tried
// again by the next Flush, and a reload in between still sees it.
func (sc *SessionCache) Flush(ctx context.Context) error {
	sc.mu.Lock()
	batch := maps.Clone(sc.pending)
	sc.mu.Unlock()
	var errs []error
	for d, t := range batch {
		if err := sc.inner.TouchSession(ctx, d, t); err != nil {
			errs = append(errs, err)
			continue
		}
		sc.mu.Lock()
		if sc.pending[d].Equal(t) {
			delete(sc.pending, d)
		}
		sc.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Invalidate drops the entry for d.
func (sc *SessionCache) Invalidate(d Digest) { sc.c.invalidate(d) }

// FeedAlive records that an invalidation feed has delivered to this cache
// every change made before at (on the cache's clock). [sqlstore.Watcher]
// calls it after each heartbeat. From the first call on, the cache serves
// an entry older than CacheConfig.RevalidateAfter only while the feed's
// last such time is within RevalidateAfter of now; otherwise it loads the
// entry again from the store, so that a change made elsewhere is seen
// within RevalidateAfter even while the feed is down.
//
// [sqlstore.Watcher]: https://pkg.go.dev/github.com/gatehouse-go/gatehouse/store/sqlstore#Watcher
func (sc *SessionCache) FeedAlive(at time.Time) { sc.c.feedAlive(at) }

// InvalidateAll drops every entry.
func (sc *SessionCache) InvalidateAll() { sc.c.invalidateAll() }

// CreateSession implements [SessionStore].
func (sc *SessionCache) CreateSession(ctx context.Context, s *Session) error {
	if err := sc.inner.CreateSession(ctx, s); err != nil {
		return err
	}
	sc.c.invalidate(s.Digest)
	return nil
}

// SessionByDigest implements [SessionStore] through the cache; it returns
// a copy.
func (sc *SessionCache) SessionByDigest(ctx context.Context, d Digest) (*Session, error) {
	cs, err := sc.LookupAt(ctx, d, sc.Now())
	if err != nil {
		return nil, err
	}
	c := cs.Session.Clone()
	c.LastSeenAt = cs.LastSeen()
	return c, nil
}

// TouchSession implements [SessionStore]; it writes through.
func (sc *SessionCache) TouchSession(ctx context.Context, d Digest, at time.Time) error {
	return sc.inner.TouchSession(ctx, d, at)
}

// DeleteSession implements [SessionStore] and drops the cached entry.
func (sc *SessionCache) DeleteSession(ctx context.Context, d Digest) error {
	if err := sc.inner.DeleteSession(ctx, d); err != nil {
		return err
	}
	sc.c.invalidate(d)
	sc.mu.Lock()
	delete(sc.pending, d)
	sc.mu.Unlock()
	return nil
}

// DeleteUserSessions implements [SessionStore] and drops every cached
// entry of the user.
func (sc *SessionCache) DeleteUserSessions(ctx context.Context, userID string) ([]Digest, error) {
	ds, err := sc.inner.DeleteUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		sc.c.invalidate(d)
	}
	return ds, nil
}
