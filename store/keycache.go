package store

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// ErrCorrupt is returned when a backend answers with a record that cannot be
// right (nil, or for another digest). It is treated as the backend being
// unavailable.
var ErrCorrupt = errors.New("store: corrupt record")

// CachedKey is a key record as the [KeyCache] holds it: shared by every
// request that presents the key, and read-only.
type CachedKey struct {
	// Key is the record. Do not modify it.
	Key *Key
	entryState[Key]
}

// Principal returns the principal built for this key, building it with
// build on first use. Every later call returns the same value, whatever
// build it passes: one cache serves one mapping of keys to principals.
func (c *CachedKey) Principal(build func(*Key) *gatehouse.Principal) *gatehouse.Principal {
	return c.principalOnce(c.Key, build)
}

// KeyCache is a [KeyStore] that answers lookups by digest from a bounded LRU
// in front of another KeyStore. Updates, revocations and deletions made
// through it drop the cached entry before they return; [KeyCache.Invalidate]
// does the same for changes reported by other processes. It is safe for
// concurrent use.
type KeyCache struct {
	inner  KeyStore
	c      *digestCache[*CachedKey]
	loadFn func(context.Context, Digest) (*CachedKey, error) // kc.load, bound once
}

var _ KeyStore = (*KeyCache)(nil)

// NewKeyCache wraps s. It returns an error when cfg is invalid.
func NewKeyCache(s KeyStore, cfg CacheConfig) (*KeyCache, error) {
	c, err := newDigestCache[*CachedKey](cfg)
	if err != nil {
		return nil, err
	}
	kc := &KeyCache{inner: s, c: c}
	kc.loadFn = kc.load
	return kc, nil
}

// Unwrap returns the wrapped store.
func (kc *KeyCache) Unwrap() KeyStore { return kc.inner }

// Now returns the cache's clock reading.
func (kc *KeyCache) Now() time.Time { return kc.c.cfg.Now() }

// Clock returns the cache's clock itself, for callers that read it on every
// request: calling it directly saves the indirection through Now.
func (kc *KeyCache) Clock() func() time.Time { return kc.c.cfg.Now }

// LookupAt returns the cached key for d, loading it from the wrapped store
// on a miss. It returns [ErrNotFound] for an unknown digest and the
// backend's error otherwise. It does not check revocation or expiry: the
// caller does, on every hit, against now.
func (kc *KeyCache) LookupAt(ctx context.Context, d Digest, now time.Time) (*CachedKey, error) {
	return kc.c.get(ctx, d, now, kc.loadFn)
}

// PeekAt returns the cached key for d when it is in the cache and fresh at
// now. It never calls the store. Like LookupAt, it does not check
// revocation or expiry.
func (kc *KeyCache) PeekAt(d Digest, now time.Time) (*CachedKey, bool) {
	return kc.c.peek(d, now)
}

func (kc *KeyCache) load(ctx context.Context, d Digest) (*CachedKey, error) {
	k, err := kc.inner.KeyByDigest(ctx, d)
	if err != nil {
		return nil, err
	}
	if k == nil || k.Digest != d {
		return nil, ErrCorrupt
	}
	return &CachedKey{Key: k}, nil
}

// Invalidate drops the entry for d, cached or negative. An invalidation feed
// calls it when another process changes a key.
func (kc *KeyCache) Invalidate(d Digest) { kc.c.invalidate(d) }

// FeedAlive records that an invalidation feed has delivered to this cache
// every change made before at (on the cache's clock). [sqlstore.Watcher]
// calls it after each heartbeat. From the first call on, the cache serves
// an entry older than CacheConfig.RevalidateAfter only while the feed's
// last such time is within RevalidateAfter of now; otherwise it loads the
// entry again from the store, so that a change made elsewhere is seen
// within RevalidateAfter even while the feed is down.
//
// [sqlstore.Watcher]: https://pkg.go.dev/github.com/gatehouse-go/gatehouse/store/sqlstore#Watcher
func (kc *KeyCache) FeedAlive(at time.Time) { kc.c.feedAlive(at) }

// InvalidateAll drops every entry, for example when an invalidation feed
// reconnects and may have missed events.
func (kc *KeyCache) InvalidateAll() { kc.c.invalidateAll() }

// Len returns the number of cached keys and of remembered unknown digests.
func (kc *KeyCache) Len() (keys, unknown int) { return kc.c.lens() }

// CreateKey implements [KeyStore].
func (kc *KeyCache) CreateKey(ctx context.Context, k *Key) error {
	if err := kc.inner.CreateKey(ctx, k); err != nil {
		return err
	}
	kc.c.invalidate(k.Digest)
	return nil
}

// KeyByDigest implements [KeyStore] through the cache; it returns a copy.
func (kc *KeyCache) KeyByDigest(ctx context.Context, d Digest) (*Key, error) {
	ck, err := kc.LookupAt(ctx, d, kc.Now())
	if err != nil {
		return nil, err
	}
	return ck.Key.Clone(), nil
}

// KeyByID implements [KeyStore]; it is not cached.
func (kc *KeyCache) KeyByID(ctx context.Context, id string) (*Key, error) {
	return kc.inner.KeyByID(ctx, id)
}

// ListKeys implements [KeyStore]; it is not cached.
func (kc *KeyCache) ListKeys(ctx context.Context, f KeyFilter) ([]*Key, string, error) {
	return kc.inner.ListKeys(ctx, f)
}

// UpdateKey implements [KeyStore] and drops the cached entry.
func (kc *KeyCache) UpdateKey(ctx context.Context, id string, u KeyUpdate) (*Key, error) {
	k, err := kc.inner.UpdateKey(ctx, id, u)
	if err != nil {
		return nil, err
	}
	kc.c.invalidate(k.Digest)
	return k, nil
}

// RevokeKey implements [KeyStore] and drops the cached entry, so that the
// key is refused by every request that starts after RevokeKey returns.
func (kc *KeyCache) RevokeKey(ctx context.Context, id string, t time.Time) (*Key, error) {
	k, err := kc.inner.RevokeKey(ctx, id, t)
	if err != nil {
		return nil, err
	}
	kc.c.invalidate(k.Digest)
	return k, nil
}

// DeleteKey implements [KeyStore] and drops the cached entry.
func (kc *KeyCache) DeleteKey(ctx context.Context, id string) error {
	k, err := kc.inner.KeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := kc.inner.DeleteKey(ctx, id); err != nil {
		return err
	}
	kc.c.invalidate(k.Digest)
	return nil
}
