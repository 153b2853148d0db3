package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testsync"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestCacheConcurrentMisses sends 1,000 concurrent requests with one key
// while the store is held, so that every request is waiting for the same
// load before it is released: exactly one store call answers them all.
func TestCacheConcurrentMisses(t *testing.T) {
	const n = 1000
	for _, known := range []bool{false, true} {
		name := "unknown key"
		if known {
			name = "known key"
		}
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			f := newFixture(t)
			f.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) {
				<-release
				return f.mem.KeyByDigest(ctx, d)
			}
			key, err := testFormat.Generate()
			require.NoError(t, err)
			want := http.StatusUnauthorized
			if known {
				key, _ = f.issue(t, apikey.Params{Scopes: []string{"read"}})
				want = http.StatusOK
			}
			h := f.mw.Handler(echo)

			var waiting atomic.Int64
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r := httptest.NewRequest(http.MethodGet, "/", nil)
					r.Header.Set("Authorization", "Bearer "+key)
					r = r.WithContext(testsync.WaitCountingCtx{Context: r.Context(), Waiting: &waiting})
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					codes[i] = w.Code
				})
			}
			testsync.Until(t, "every request waiting for the load", func() bool { return waiting.Load() == n })
			close(release)
			wg.Wait()

			assert.Equal(t, int64(1), f.probe.calls.Load(), "store calls")
			for i, c := range codes {
				require.Equal(t, want, c, "request %d", i)
			}
			// And the next request is answered from the cache.
			assert.Equal(t, want, get(h, bearer(key)).Code)
			assert.Equal(t, int64(1), f.probe.calls.Load(), "store calls")
		})
	}
}

// TestCacheRevokedNextRequest revokes a cached key through the cache: the
// very next request is refused.
func TestCacheRevokedNextRequest(t *testing.T) {
	f := newFixture(t)
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	other, _ := f.issue(t, apikey.Params{OwnerID: "usr_bob", Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	for range 3 {
		require.Equal(t, http.StatusOK, get(h, bearer(key)).Code)
		require.Equal(t, http.StatusOK, get(h, bearer(other)).Code)
	}
	require.Equal(t, int64(2), f.probe.calls.Load(), "both keys cached")

	f.revoke(t, rec.ID)
	w := get(h, bearer(key))
	requireProblem(t, w, http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, apikey.DetailInvalid, bearerChallenge(t, w).Params["error_description"])
	assert.Equal(t, int64(3), f.probe.calls.Load(), "the revoked key was reloaded")
	// It stays refused, from the cache, and the other key is untouched.
	requireProblem(t, get(h, bearer(key)), http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, http.StatusOK, get(h, bearer(other)).Code)
	assert.Equal(t, int64(3), f.probe.calls.Load())
}

// TestCacheRevokedDuringLoad revokes a key while a load of its
// pre-revocation record is in flight. The request that started before the
// revocation may pass; none that starts after RevokeKey returns does.
func TestCacheRevokedDuringLoad(t *testing.T) {
	f := newFixture(t)
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	read, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	f.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) {
		k, err := f.mem.KeyByDigest(ctx, d)
		if first.CompareAndSwap(false, true) {
			close(read) // the record is read: not revoked yet
			<-release
		}
		return k, err
	}
	h := f.mw.Handler(echo)

	inflight := make(chan int)
	go func() { inflight <- get(h, bearer(key)).Code }()
	<-read
	f.revoke(t, rec.ID)
	close(release)
	assert.Equal(t, http.StatusOK, <-inflight, "the request that began before the revocation")

	for range 3 {
		requireProblem(t, get(h, bearer(key)), http.StatusUnauthorized, "invalid_token")
	}
	assert.Equal(t, int64(2), f.probe.calls.Load(), "the stale load was not cached; one fresh load")
}

// TestCacheRevokedUnderLoad revokes a key while many goroutines use it: no
// request that starts after RevokeKey returns is accepted.
func TestCacheRevokedUnderLoad(t *testing.T) {
	f := newFixture(t)
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)

	var revoked, stop atomic.Bool
	var accepted, refusedAfter, acceptedAfter atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				after := revoked.Load()
				code := get(h, bearer(key)).Code
				switch {
				case after && code == http.StatusOK:
					acceptedAfter.Add(1)
				case after:
					refusedAfter.Add(1)
				case code == http.StatusOK:
					accepted.Add(1)
				}
			}
		})
	}
	testsync.Until(t, "requests accepted", func() bool { return accepted.Load() >= 100 })
	f.revoke(t, rec.ID)
	revoked.Store(true)
	testsync.Until(t, "requests refused", func() bool { return refusedAfter.Load() >= 100 })
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, acceptedAfter.Load(), "requests accepted after the revocation returned")
}

// TestCacheChangedElsewhere revokes a key in the backing store, as another
// process does: this process serves the cached record until its TTL, or
// until the invalidation feed calls Invalidate.
func TestCacheChangedElsewhere(t *testing.T) {
	const ttl = time.Minute
	for _, viaFeed := range []bool{false, true} {
		name := "TTL"
		if viaFeed {
			name = "Invalidate"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, withCache(store.CacheConfig{TTL: ttl}))
			key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"}})
			h := f.mw.Handler(echo)
			require.Equal(t, http.StatusOK, get(h, bearer(key)).Code)
			_, err := f.mem.RevokeKey(context.Background(), rec.ID, f.clock.Now())
			require.NoError(t, err)

			if viaFeed {
				f.cache.Invalidate(rec.Digest)
			} else {
				f.clock.Advance(ttl - time.Nanosecond)
				require.Equal(t, http.StatusOK, get(h, bearer(key)).Code, "stale within the TTL, the documented bound")
				f.clock.Advance(time.Nanosecond)
			}
			requireProblem(t, get(h, bearer(key)), http.StatusUnauthorized, "invalid_token")
			assert.Equal(t, int64(2), f.probe.calls.Load())
		})
	}
}

// TestCacheFlood floods the middleware with made-up keys: both caches stay
// within their bounds, and a flood of unknown keys does not evict a key in
// use.
func TestCacheFlood(t *testing.T) {
	const size, negSize, flood = 32, 64, 3000
	f := newFixture(t, withCache(store.CacheConfig{Size: size, NegativeSize: negSize}))
	h := f.mw.Handler(echo)
	hot, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	require.Equal(t, http.StatusOK, get(h, bearer(hot)).Code)

	t.Run("valid checksums", func(t *testing.T) {
		before := f.probe.calls.Load()
		for i := range flood {
			key, err := testFormat.Generate()
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, get(h, bearer(key)).Code)
			if i%500 == 0 {
				pos, neg := f.cache.Len()
				require.LessOrEqual(t, pos, size)
				require.LessOrEqual(t, neg, negSize)
			}
		}
		pos, neg := f.cache.Len()
		assert.Equal(t, 1, pos, "only the hot key is cached")
		assert.Equal(t, negSize, neg, "the negative cache is full, not over")
		assert.Equal(t, int64(flood), f.probe.calls.Load()-before, "one store call per distinct unknown key")

		before = f.probe.calls.Load()
		require.Equal(t, http.StatusOK, get(h, bearer(hot)).Code)
		assert.Equal(t, before, f.probe.calls.Load(), "the hot key is still cached")
	})

	t.Run("bad checksums", func(t *testing.T) {
		f.cache.InvalidateAll()
		before := f.probe.calls.Load()
		for range flood {
			key, err := testFormat.Generate()
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, get(h, bearer(badChecksum(key))).Code)
		}
		pos, neg := f.cache.Len()
		assert.Zero(t, pos)
		assert.Zero(t, neg, "rejected before the cache")
		assert.Equal(t, before, f.probe.calls.Load(), "rejected before the store")
	})

	t.Run("issued keys", func(t *testing.T) {
		// The cache is sharded (16 shards of size/16 for this size), so
		// it is full only once every shard has seen enough keys: with 4 *
		// size random keys, some shard saw too few about 4% of the time;
		// with 16 * size, never in practice (each shard expects 32).
		for range 16 * size {
			key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
			require.Equal(t, http.StatusOK, get(h, bearer(key)).Code)
			pos, _ := f.cache.Len()
			require.LessOrEqual(t, pos, size)
		}
		pos, _ := f.cache.Len()
		assert.Equal(t, size, pos)
	})
}

// TestCacheNegative checks the negative cache: an unknown key is answered
// without a store call for NegativeTTL, and creating the key through the
// cache forgets the miss at once.
func TestCacheNegative(t *testing.T) {
	const negTTL = 5 * time.Second
	f := newFixture(t, withCache(store.CacheConfig{NegativeTTL: negTTL}))
	h := f.mw.Handler(echo)
	key, err := testFormat.Generate()
	require.NoError(t, err)

	for range 3 {
		requireProblem(t, get(h, bearer(key)), http.StatusUnauthorized, "invalid_token")
	}
	assert.Equal(t, int64(1), f.probe.calls.Load())
	f.clock.Advance(negTTL)
	requireProblem(t, get(h, bearer(key)), http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, int64(2), f.probe.calls.Load(), "the miss is looked up again after NegativeTTL")

	hasher, err := store.NewHasher(nil)
	require.NoError(t, err)
	require.NoError(t, f.cache.CreateKey(context.Background(), &store.Key{
		ID: store.NewID("key"), Digest: hasher.Sum(key), Prefix: testPrefix, Last4: apikey.Last4(key),
		Name: "late", OwnerID: "usr_late", Scopes: []string{"read"}, CreatedAt: f.clock.Now(),
	}))
	w := get(h, bearer(key))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "hello usr_late", w.Body.String())
}

// TestCacheExpiryOnEveryHit moves the injected clock (CacheConfig.Now and
// apikey.Config.Now) across a cached key's expiry: the hit is refused at
// the expiry instant without a store call.
func TestCacheExpiryOnEveryHit(t *testing.T) {
	f := newFixture(t, withCache(store.CacheConfig{TTL: time.Hour}))
	expiry := f.clock.Now().Add(10 * time.Minute)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}, ExpiresAt: expiry})
	h := f.mw.Handler(echo)

	steps := []struct {
		at   time.Duration // relative to expiry
		want int
	}{
		{at: -10 * time.Minute, want: 200},
		{at: -time.Second, want: 200},
		{at: -time.Nanosecond, want: 200},
		{at: 0, want: 401},
		{at: time.Second, want: 401},
		{at: -time.Second, want: 200}, // a clock that steps back sees it valid again
		{at: 30 * time.Minute, want: 401},
	}
	for _, s := range steps {
		f.clock.Set(expiry.Add(s.at))
		w := get(h, bearer(key))
		require.Equal(t, s.want, w.Code, "at expiry%+v", s.at)
		if s.want != 200 {
			requireProblem(t, w, s.want, "invalid_token")
		}
	}
	assert.Equal(t, int64(1), f.probe.calls.Load(), "every step was a cache hit")
	pos, _ := f.cache.Len()
	assert.Equal(t, 1, pos)
}

// TestCacheTTL checks that a cached record is reloaded after TTL.
func TestCacheTTL(t *testing.T) {
	const ttl = 2 * time.Minute
	f := newFixture(t, withCache(store.CacheConfig{TTL: ttl}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	require.Equal(t, 200, get(h, bearer(key)).Code)
	f.clock.Advance(ttl - time.Nanosecond)
	require.Equal(t, 200, get(h, bearer(key)).Code)
	assert.Equal(t, int64(1), f.probe.calls.Load())
	f.clock.Advance(time.Nanosecond)
	require.Equal(t, 200, get(h, bearer(key)).Code)
	assert.Equal(t, int64(2), f.probe.calls.Load())
}

// TestFailClosed makes the store fail in every way SECURITY.md lists, with
// and without the cache: the answer is 503, never 200 and never 401,
// nothing internal is echoed, and the failure is not cached.
func TestFailClosed(t *testing.T) {
	secretErr := "pq: password authentication failed for user admin at 10.9.8.7"
	faults := []struct {
		name   string
		cache  store.CacheConfig
		lookup func(ctx context.Context, d store.Digest, k *store.Key) (*store.Key, error)
		// cancel cancels the request's context once the store is called.
		cancel bool
		// cacheOnly marks faults that only the cache can meet (its load
		// timeout).
		cacheOnly bool
	}{
		{name: "error", lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			return nil, errors.New(secretErr)
		}},
		{name: "deadline exceeded", lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			return nil, context.DeadlineExceeded
		}},
		{name: "panic", lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			panic(secretErr)
		}},
		{name: "nil record", lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			return nil, nil
		}},
		{name: "record of another digest", lookup: func(_ context.Context, _ store.Digest, k *store.Key) (*store.Key, error) {
			c := k.Clone()
			c.Digest[0] ^= 1
			return c, nil
		}},
		{name: "slow beyond LoadTimeout", cache: store.CacheConfig{LoadTimeout: time.Millisecond}, cacheOnly: true,
			lookup: func(ctx context.Context, _ store.Digest, k *store.Key) (*store.Key, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}},
		{name: "request cancelled while waiting", cancel: true,
			lookup: func(ctx context.Context, _ store.Digest, k *store.Key) (*store.Key, error) {
				<-ctx.Done() // the load's own timeout ends it; the request gave up long before
				return nil, ctx.Err()
			}, cache: store.CacheConfig{LoadTimeout: 50 * time.Millisecond}},
	}
	for _, useCache := range []bool{true, false} {
		for _, fault := range faults {
			name := fault.name
			if !useCache {
				if fault.cacheOnly {
					continue
				}
				name = "no cache/" + name
			}
			t.Run(name, func(t *testing.T) {
				var broken atomic.Bool
				broken.Store(true)
				var rec *store.Key
				opts := []option{withCache(fault.cache)}
				if !useCache {
					opts = []option{withoutCache()}
				}
				f := newFixture(t, opts...)
				var key string
				key, rec = f.issue(t, apikey.Params{Scopes: []string{"read"}})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				f.probe.lookup = func(lctx context.Context, d store.Digest) (*store.Key, error) {
					if !broken.Load() {
						return f.mem.KeyByDigest(lctx, d)
					}
					if fault.cancel {
						cancel()
					}
					return fault.lookup(lctx, d, rec)
				}
				var served atomic.Bool
				h := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					served.Store(true)
					echo(w, r)
				}))

				r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
				r.Header.Set("Authorization", "Bearer "+key)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				p := requireProblem(t, w, http.StatusServiceUnavailable, "unavailable")
				assert.Equal(t, detailUnavailable, p.Detail)
				assert.Empty(t, w.Header().Values("WWW-Authenticate"))
				assert.False(t, served.Load(), "the handler never runs")
				assertNoLeak(t, w, key, secretErr, "10.9.8.7", "panic", "corrupt", "deadline")

				// The failure is not remembered: once the store answers,
				// the key works.
				broken.Store(false)
				if f.cache != nil {
					_, neg := f.cache.Len()
					assert.Zero(t, neg, "a failure is not a negative entry")
				}
				testsync.Until(t, "the store to answer", func() bool { return get(h, bearer(key)).Code == http.StatusOK })
			})
		}
	}
}

// TestFailClosedConcurrent sends many concurrent requests while the store
// fails: every one is a 503.
func TestFailClosedConcurrent(t *testing.T) {
	f := newFixture(t)
	f.probe.lookup = func(context.Context, store.Digest) (*store.Key, error) {
		return nil, errors.New("connection reset")
	}
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	var wg sync.WaitGroup
	codes := make([]int, 200)
	for i := range codes {
		wg.Go(func() { codes[i] = get(h, bearer(key)).Code })
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, http.StatusServiceUnavailable, c, "request %d", i)
	}
}

// TestCachedKeySurvivesStoreOutage checks that a cached key is served
// without the store (the hot path makes no store call), while an uncached
// one fails closed.
func TestCachedKeySurvivesStoreOutage(t *testing.T) {
	var down atomic.Bool
	f := newFixture(t)
	f.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) {
		if down.Load() {
			return nil, errors.New("down")
		}
		return f.mem.KeyByDigest(ctx, d)
	}
	cached, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	cold, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	require.Equal(t, http.StatusOK, get(h, bearer(cached)).Code)
	down.Store(true)
	assert.Equal(t, http.StatusOK, get(h, bearer(cached)).Code)
	requireProblem(t, get(h, bearer(cold)), http.StatusServiceUnavailable, "unavailable")
}
