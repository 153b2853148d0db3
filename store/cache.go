package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/shardlru"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// CacheConfig configures the caches in front of a store. The zero value is
// usable: every field documents its default.
type CacheConfig struct {
	// Size bounds the number of cached records. Default 10,000.
	Size int
	// NegativeSize bounds the number of remembered unknown digests, kept
	// apart so that a flood of made-up credentials cannot evict real ones.
	// Default 10,000.
	NegativeSize int
	// TTL is how long a record is served from the cache before it is
	// loaded again. It bounds how stale a process can be about a change made
	// by another process when no invalidation feed reaches it. Default 1
	// minute.
	TTL time.Duration
	// NegativeTTL is how long an unknown digest is remembered. Default 5
	// seconds.
	NegativeTTL time.Duration
	// LoadTimeout bounds one store call made on a miss. The call is shared
	// by every request waiting for the same digest, so it does not end when
	// the first of them gives up. Default 5 seconds.
	LoadTimeout time.Duration
	// RevalidateAfter applies to a cache that an invalidation feed keeps
	// (see [KeyCache.FeedAlive]): while the feed has not proved itself
	// alive within this span, a cached record older than it is loaded
	// again from the store before it is served, so that a change made by
	// another process is seen within this span even while the feed is
	// down. Default 1 second.
	RevalidateAfter time.Duration
	// StaleIfUnavailable chooses what a revalidation that fails (the store
	// cannot answer either) does: false, the default, refuses the request
	// with the store's error, which the middleware answers with 503 (fail
	// closed: a process that can reach neither its feed nor its store
	// cannot know whether a key was revoked elsewhere); true serves the
	// cached record until its TTL, trading that bound for availability
	// during a database outage. A record the store reports missing is
	// never served.
	StaleIfUnavailable bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Observer, when set, is told the outcome of every lookup and the
	// duration of every store load. Default none.
	Observer CacheObserver
}

// CacheObserver receives cache events, for metrics. Implementations must be
// fast and safe for concurrent use: CacheLookup runs on every request.
type CacheObserver interface {
	// CacheLookup is told how a lookup was answered.
	CacheLookup(o CacheOutcome)
	// StoreLoad is told how long one load from the store took and how it
	// ended: nil, ErrNotFound, or a failure. Concurrent misses of one
	// digest share a load, and it is reported once.
	StoreLoad(elapsed time.Duration, err error)
}

// CacheOutcome is how a cache lookup was answered.
type CacheOutcome uint8

const (
	// CacheHit: a fresh record was in the cache.
	CacheHit CacheOutcome = iota
	// CacheNegativeHit: the digest was recently found unknown.
	CacheNegativeHit
	// CacheMiss: the lookup went to the store (or joined a load under way).
	CacheMiss
)

func (o CacheOutcome) String() string {
	switch o {
	case CacheHit:
		return "hit"
	case CacheNegativeHit:
		return "negative_hit"
	case CacheMiss:
		return "miss"
	}
	return "unknown"
}

func (c *CacheConfig) withDefaults() (CacheConfig, error) {
	out := *c
	if out.Size < 0 || out.NegativeSize < 0 || out.TTL < 0 || out.NegativeTTL < 0 || out.LoadTimeout < 0 || out.RevalidateAfter < 0 {
		return out, errors.New("store: cache config: sizes and durations must not be negative")
	}
	if out.Size == 0 {
		out.Size = 10_000
	}
	if out.NegativeSize == 0 {
		out.NegativeSize = 10_000
	}
	if out.TTL == 0 {
		out.TTL = time.Minute
	}
	if out.NegativeTTL == 0 {
		out.NegativeTTL = 5 * time.Second
	}
	if out.LoadTimeout == 0 {
		out.LoadTimeout = 5 * time.Second
	}
	if out.RevalidateAfter == 0 {
		out.RevalidateAfter = time.Second
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out, nil
}

type cacheEntry[V any] struct {
	v      V
	until  time.Time
	loaded int64 // unix nanoseconds of the start of the load that read v
}

// digestCache is the engine shared by the key and session caches: a sharded
// LRU of records by digest, an LRU of unknown digests, singleflight loads,
// and an epoch per shard that keeps a load which began before an
// invalidation of its shard from
// putting a stale record back.
type digestCache[V any] struct {
	cfg    CacheConfig
	shards *shardlru.LRU[Digest, *cacheEntry[V]]
	neg    *lru.Cache[Digest, time.Time]
	group  singleflight.Group

	// alive is the unix-nanosecond time before which every change was
	// delivered by the invalidation feed (see FeedAlive); 0: no feed
	// keeps this cache, and entries are served until their TTL.
	alive atomic.Int64

	mu sync.Mutex // held to change an epoch and to insert
	// epochs[i] counts the invalidations that touched shard i. One counter
	// per shard, so that dropping one digest (on every login, say) does not
	// stop the loads under way for every other digest from being cached.
	epochs [shardlru.MaxShards]atomic.Uint64
}

func newDigestCache[V any](cfg CacheConfig) (*digestCache[V], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &digestCache[V]{cfg: cfg}
	if c.shards, err = shardlru.New[Digest, *cacheEntry[V]](cfg.Size); err != nil {
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	if c.neg, err = lru.New[Digest, time.Time](cfg.NegativeSize); err != nil {
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	return c, nil
}

func (c *digestCache[V]) shard(d Digest) *lru.Cache[Digest, *cacheEntry[V]] {
	return c.shards.Shard(d)
}

// epoch is the invalidation counter of d's shard.
func (c *digestCache[V]) epoch(d Digest) *atomic.Uint64 {
	return &c.epochs[c.shards.Index(d)]
}

// fresh reports whether e may be served at now without asking the store:
// within its TTL and, when a feed keeps the cache, either vouched for by
// the feed (alive within RevalidateAfter) or younger than RevalidateAfter.
func (c *digestCache[V]) fresh(e *cacheEntry[V], now time.Time) bool {
	if !now.Before(e.until) {
		return false
	}
	a := c.alive.Load()
	if a == 0 {
		return true
	}
	n, span := now.UnixNano(), int64(c.cfg.RevalidateAfter)
	return n-a < span || n-e.loaded < span
}

// peek returns the cached value for d if it is fresh at now, without
// consulting the negative cache or the store.
func (c *digestCache[V]) peek(d Digest, now time.Time) (V, bool) {
	if e, ok := c.shard(d).Get(d); ok && c.fresh(e, now) {
		if c.cfg.Observer != nil {
			c.cfg.Observer.CacheLookup(CacheHit)
		}
		return e.v, true
	}
	var zero V
	return zero, false
}

// get returns the cached value for d, or loads it with load. An entry
// within its TTL that the feed does not vouch for is loaded again; if that
// load fails and StaleIfUnavailable is set, the entry is served.
func (c *digestCache[V]) get(ctx context.Context, d Digest, now time.Time, load func(context.Context, Digest) (V, error)) (V, error) {
	obs := c.cfg.Observer
	e, cached := c.shard(d).Get(d)
	if cached && c.fresh(e, now) {
		if obs != nil {
			obs.CacheLookup(CacheHit)
		}
		return e.v, nil
	}
	if until, ok := c.neg.Get(d); ok && now.Before(until) {
		if obs != nil {
			obs.CacheLookup(CacheNegativeHit)
		}
		var zero V
		return zero, ErrNotFound
	}
	if obs != nil {
		obs.CacheLookup(CacheMiss)
	}
	v, err := c.load(ctx, d, load)
	if err != nil && cached && c.cfg.StaleIfUnavailable && now.Before(e.until) && !errors.Is(err, ErrNotFound) {
		return e.v, nil
	}
	return v, err
}

// feedAlive records that the feed delivered every change made before at.
func (c *digestCache[V]) feedAlive(at time.Time) {
	n := at.UnixNano()
	for {
		old := c.alive.Load()
		if n <= old || c.alive.CompareAndSwap(old, n) {
			return
		}
	}
}

func (c *digestCache[V]) load(ctx context.Context, d Digest, load func(context.Context, Digest) (V, error)) (V, error) {
	epoch := c.epoch(d)
	e0 := epoch.Load()
	var k [len(Digest{}) + 8]byte
	copy(k[:], d[:])
	binary.LittleEndian.PutUint64(k[len(d):], e0)
	ch := c.group.DoChan(string(k[:]), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LoadTimeout)
		defer cancel()
		var start time.Time
		if c.cfg.Observer != nil {
			start = time.Now()
		}
		// The entry's age counts from before the read: the record is at
		// least as new as this moment.
		began := c.cfg.Now()
		v, err := safeLoad(lctx, d, load)
		if c.cfg.Observer != nil {
			c.cfg.Observer.StoreLoad(time.Since(start), err)
		}
		now := c.cfg.Now()
		c.mu.Lock()
		if epoch.Load() == e0 {
			switch {
			case err == nil:
				c.shard(d).Add(d, &cacheEntry[V]{v: v, until: began.Add(c.cfg.TTL), loaded: began.UnixNano()})
				c.neg.Remove(d)
			case errors.Is(err, ErrNotFound):
				c.neg.Add(d, now.Add(c.cfg.NegativeTTL))
			}
		}
		c.mu.Unlock()
		return v, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero V
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// safeLoad calls load and turns a panic into an error, so that a broken
// backend cannot take the process down through the singleflight goroutine.
func safeLoad[V any](ctx context.Context, d Digest, load func(context.Context, Digest) (V, error)) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: backend panicked: %v", p)
		}
	}()
	return load(ctx, d)
}

// invalidate drops d from the cache. Loads that began before it do not put
// their result back.
func (c *digestCache[V]) invalidate(d Digest) {
	c.mu.Lock()
	c.epoch(d).Add(1)
	c.shard(d).Remove(d)
	c.neg.Remove(d)
	c.mu.Unlock()
}

func (c *digestCache[V]) invalidateAll() {
	c.mu.Lock()
	for i := range c.epochs {
		c.epochs[i].Add(1)
	}
	c.shards.Purge()
	c.neg.Purge()
	c.mu.Unlock()
}

// lens returns the number of cached records and of remembered unknown
// digests.
func (c *digestCache[V]) lens() (positive, negative int) {
	return c.shards.Len(), c.neg.Len()
}
