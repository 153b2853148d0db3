package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/internal/testsync"
	"github.com/gatehouse-go/gatehouse/store"
)

// cacheClock is a settable clock, safe for concurrent use.
type cacheClock = testclock.Clock

func newCacheClock() *cacheClock { return testclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)) }

// probeStore wraps a KeyStore, counts KeyByDigest calls and lets a test
// replace KeyByDigest with lookup (set before the store is shared). Every
// other method goes straight to the wrapped store.
type probeStore struct {
	store.KeyStore
	calls  atomic.Int64
	lookup func(ctx context.Context, call int64, d store.Digest) (*store.Key, error)
}

func (s *probeStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	n := s.calls.Add(1)
	if s.lookup != nil {
		return s.lookup(ctx, n, d)
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

// releaser returns a channel and a function that closes it once; the
// function also runs at cleanup so that a failed test never leaves
// goroutines blocked on it.
func releaser(t *testing.T) (<-chan struct{}, func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return ch, release
}

func digestOf(s string) store.Digest { return sha256.Sum256([]byte(s)) }

func randomDigest(t *testing.T) store.Digest {
	t.Helper()
	var d store.Digest
	_, err := rand.Read(d[:])
	require.NoError(t, err)
	return d
}

// addKey stores a key with digest d in s and returns it.
func addKey(t *testing.T, s store.KeyStore, id string, d store.Digest) *store.Key {
	t.Helper()
	k := &store.Key{ID: id, Digest: d, Prefix: "cpx_live.", Name: id, TenantID: "org_1", Scopes: []string{"read"}}
	require.NoError(t, s.CreateKey(context.Background(), k))
	return k
}

func newKeyCache(t *testing.T, s store.KeyStore, cfg store.CacheConfig) *store.KeyCache {
	t.Helper()
	kc, err := store.NewKeyCache(s, cfg)
	require.NoError(t, err)
	return kc
}

func TestCacheConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     store.CacheConfig
		wantErr bool
	}{
		{name: "zero value", cfg: store.CacheConfig{}},
		{name: "explicit", cfg: store.CacheConfig{Size: 1, NegativeSize: 1, TTL: time.Second, NegativeTTL: time.Second, LoadTimeout: time.Second, Now: time.Now}},
		{name: "negative Size", cfg: store.CacheConfig{Size: -1}, wantErr: true},
		{name: "negative NegativeSize", cfg: store.CacheConfig{NegativeSize: -1}, wantErr: true},
		{name: "negative TTL", cfg: store.CacheConfig{TTL: -time.Second}, wantErr: true},
		{name: "negative NegativeTTL", cfg: store.CacheConfig{NegativeTTL: -1}, wantErr: true},
		{name: "negative LoadTimeout", cfg: store.CacheConfig{LoadTimeout: -time.Millisecond}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc, err := store.NewKeyCache(store.NewMemory(), tt.cfg)
			sc, serr := store.NewSessionCache(store.NewMemory(), tt.cfg)
			if tt.wantErr {
				assert.Error(t, err)
				assert.Nil(t, kc)
				assert.Error(t, serr)
				assert.Nil(t, sc)
				return
			}
			require.NoError(t, err)
			require.NoError(t, serr)
			keys, unknown := kc.Len()
			assert.Zero(t, keys)
			assert.Zero(t, unknown)
		})
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	const callers = 1000
	for _, known := range []bool{false, true} {
		t.Run("known="+strconv.FormatBool(known), func(t *testing.T) {
			mem := store.NewMemory()
			d := digestOf("hot")
			if known {
				addKey(t, mem, "key_hot", d)
			}
			gate, release := releaser(t)
			ps := &probeStore{KeyStore: mem}
			ps.lookup = func(ctx context.Context, _ int64, d store.Digest) (*store.Key, error) {
				<-gate
				return mem.KeyByDigest(ctx, d)
			}
			clock := newCacheClock()
			kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})

			var waiting atomic.Int64
			ctx := testsync.WaitCountingCtx{Context: context.Background(), Waiting: &waiting}
			got := make([]*store.CachedKey, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { got[i], errs[i] = kc.LookupAt(ctx, d, clock.Now()) })
			}
			// Release the store only once every caller waits for the one
			// load (or as soon as a second store call shows they do not).
			testsync.Until(t, "every caller waits", func() bool {
				return waiting.Load() >= callers || ps.calls.Load() > 1
			})
			release()
			wg.Wait()

			assert.EqualValues(t, 1, ps.calls.Load(), "store calls")
			for i := range callers {
				if known {
					require.NoError(t, errs[i])
					assert.Same(t, got[0], got[i], "every caller shares one record")
				} else {
					require.ErrorIs(t, errs[i], store.ErrNotFound)
				}
			}
			// And the answer is now cached.
			_, err := kc.LookupAt(context.Background(), d, clock.Now())
			if known {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, store.ErrNotFound)
			}
			assert.EqualValues(t, 1, ps.calls.Load(), "store calls after the load")
		})
	}
}

func TestCacheRevocationIsImmediate(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	ps := &probeStore{KeyStore: store.NewMemory()}
	kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
	d := digestOf("k")
	k := addKey(t, kc, "key_1", d)

	ck, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	require.False(t, ck.Key.Revoked())
	again, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	require.Same(t, ck, again, "second lookup is a hit")
	require.EqualValues(t, 1, ps.calls.Load(), "second lookup is a hit")

	revoked, err := kc.RevokeKey(ctx, k.ID, clock.Now())
	require.NoError(t, err)
	require.True(t, revoked.Revoked())

	ck, err = kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.True(t, ck.Key.Revoked(), "the very next lookup sees the revocation")
	assert.EqualValues(t, 2, ps.calls.Load())
}

func TestCacheChangesThroughCacheDropEntry(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	kc := newKeyCache(t, store.NewMemory(), store.CacheConfig{Now: clock.Now})
	d := digestOf("k")
	k := addKey(t, kc, "key_1", d)

	_, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	exp := clock.Now().Add(time.Hour)
	name := "renamed"
	_, err = kc.UpdateKey(ctx, k.ID, store.KeyUpdate{Name: &name, ExpiresAt: &exp})
	require.NoError(t, err)
	ck, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, "renamed", ck.Key.Name)
	assert.True(t, ck.Key.ExpiresAt.Equal(exp))

	require.NoError(t, kc.DeleteKey(ctx, k.ID))
	_, err = kc.LookupAt(ctx, d, clock.Now())
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.NoError(t, kc.DeleteKey(ctx, k.ID), "deleting a missing key is not an error")
	_, err = kc.UpdateKey(ctx, k.ID, store.KeyUpdate{Name: &name})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = kc.RevokeKey(ctx, k.ID, clock.Now())
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// TestCacheEpochGuard interleaves a load with an invalidation: the load
// reads the record, the record changes and the cache is invalidated, then
// the load finishes. The stale record must not be put back, and lookups
// that start after the invalidation must not join the stale load.
func TestCacheEpochGuard(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, kc *store.KeyCache, mem *store.Memory, k *store.Key, now time.Time)
	}{
		{
			name: "RevokeKey through the cache",
			change: func(t *testing.T, kc *store.KeyCache, _ *store.Memory, k *store.Key, now time.Time) {
				_, err := kc.RevokeKey(context.Background(), k.ID, now)
				require.NoError(t, err)
			},
		},
		{
			name: "revoked elsewhere, Invalidate from a feed",
			change: func(t *testing.T, kc *store.KeyCache, mem *store.Memory, k *store.Key, now time.Time) {
				_, err := mem.RevokeKey(context.Background(), k.ID, now)
				require.NoError(t, err)
				kc.Invalidate(k.Digest)
			},
		},
		{
			name: "revoked elsewhere, InvalidateAll",
			change: func(t *testing.T, kc *store.KeyCache, mem *store.Memory, k *store.Key, now time.Time) {
				_, err := mem.RevokeKey(context.Background(), k.ID, now)
				require.NoError(t, err)
				kc.InvalidateAll()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newCacheClock()
			mem := store.NewMemory()
			d := digestOf("k")
			k := addKey(t, mem, "key_1", d)

			entered := make(chan struct{})
			gate, release := releaser(t)
			ps := &probeStore{KeyStore: mem}
			ps.lookup = func(ctx context.Context, n int64, d store.Digest) (*store.Key, error) {
				rec, err := mem.KeyByDigest(ctx, d)
				if n == 1 { // the first load reads, then stalls
					close(entered)
					<-gate
				}
				return rec, err
			}
			kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})

			type result struct {
				ck  *store.CachedKey
				err error
			}
			first := make(chan result, 1)
			go func() {
				ck, err := kc.LookupAt(ctx, d, clock.Now())
				first <- result{ck, err}
			}()
			<-entered

			tt.change(t, kc, mem, k, clock.Now())

			// A lookup that starts after the change, while the stale load
			// is still in flight, loads again and sees the revocation.
			second := make(chan result, 1)
			go func() {
				ck, err := kc.LookupAt(ctx, d, clock.Now())
				second <- result{ck, err}
			}()
			var r result
			select {
			case r = <-second:
			case <-time.After(10 * time.Second):
				t.Fatal("a lookup started after the change waits for the stale load")
			}
			require.NoError(t, r.err)
			assert.True(t, r.ck.Key.Revoked(), "lookup after the change saw the old record")
			assert.EqualValues(t, 2, ps.calls.Load())

			release()
			r = <-first
			require.NoError(t, r.err)
			assert.False(t, r.ck.Key.Revoked(), "the load that began before the change read the old record")

			// The stale record was not put back over the fresh one.
			ck, err := kc.LookupAt(ctx, d, clock.Now())
			require.NoError(t, err)
			assert.True(t, ck.Key.Revoked(), "stale record was cached")
			assert.EqualValues(t, 2, ps.calls.Load())
		})
	}
}

// TestCacheEpochGuardNothingCached checks that a load racing an
// invalidation caches nothing, even when nothing else loads afterwards.
func TestCacheEpochGuardNothingCached(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	known := digestOf("known")
	addKey(t, mem, "key_1", known)
	unknown := digestOf("unknown")

	for name, d := range map[string]store.Digest{"known": known, "unknown": unknown} {
		t.Run(name, func(t *testing.T) {
			entered := make(chan struct{}, 1)
			gate, release := releaser(t)
			ps := &probeStore{KeyStore: mem}
			ps.lookup = func(ctx context.Context, _ int64, d store.Digest) (*store.Key, error) {
				entered <- struct{}{}
				<-gate
				return mem.KeyByDigest(ctx, d)
			}
			kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = kc.LookupAt(ctx, d, clock.Now())
			}()
			<-entered
			kc.Invalidate(d)
			release()
			<-done
			keys, negatives := kc.Len()
			assert.Zero(t, keys)
			assert.Zero(t, negatives)
		})
	}
}

// TestCacheEpochIsPerShard: an invalidation guards the loads of its own
// shard only. A load under way for a digest in another shard still caches
// its result, so dropping one entry (as every login does) does not send
// the other callers back to the store.
func TestCacheEpochIsPerShard(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	loading, other := store.Digest{0x00, 1}, store.Digest{0x01, 2} // shards 0 and 1
	addKey(t, mem, "key_1", loading)
	entered := make(chan struct{}, 1)
	var gate atomic.Pointer[<-chan struct{}] // the current load's gate
	hold := func() func() {
		g, release := releaser(t)
		gate.Store(&g)
		return release
	}
	ps := &probeStore{KeyStore: mem}
	ps.lookup = func(ctx context.Context, n int64, d store.Digest) (*store.Key, error) {
		if n == 1 {
			entered <- struct{}{}
			<-*gate.Load()
		}
		return mem.KeyByDigest(ctx, d)
	}
	kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
	release := hold()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := kc.LookupAt(ctx, loading, clock.Now())
		assert.NoError(t, err)
	}()
	<-entered
	kc.Invalidate(other)
	release()
	<-done
	_, cached := kc.PeekAt(loading, clock.Now())
	assert.True(t, cached, "a load in another shard is cached")
	_, err := kc.LookupAt(ctx, loading, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(1), ps.calls.Load(), "the next lookup is a hit")

	// The same invalidation in the load's own shard keeps it out.
	kc.Invalidate(loading)
	ps.calls.Store(0)
	release = hold()
	done = make(chan struct{})
	go func() {
		defer close(done)
		_, _ = kc.LookupAt(ctx, loading, clock.Now())
	}()
	<-entered
	kc.Invalidate(store.Digest{0x10, 3}) // shard 0 as well (16 shards)
	release()
	<-done
	_, cached = kc.PeekAt(loading, clock.Now())
	assert.False(t, cached, "an invalidation in the load's shard keeps its result out")
}

// TestCacheRevocationUnderLoad hammers one key from many goroutines while
// an invalidation feed keeps forcing loads, revokes it, and checks that no
// lookup started after RevokeKey returned sees the key unrevoked.
func TestCacheRevocationUnderLoad(t *testing.T) {
	const (
		rounds  = 20
		readers = 6
	)
	for round := range rounds {
		ctx := context.Background()
		clock := newCacheClock()
		mem := store.NewMemory()
		ps := &probeStore{KeyStore: mem}
		ps.lookup = func(ctx context.Context, _ int64, d store.Digest) (*store.Key, error) {
			rec, err := mem.KeyByDigest(ctx, d)
			runtime.Gosched() // widen the window between read and return
			return rec, err
		}
		kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
		d := digestOf("round " + strconv.Itoa(round))
		k := addKey(t, kc, "key_"+strconv.Itoa(round), d)

		var (
			revoked    atomic.Bool
			stop       atomic.Bool
			lookups    atomic.Int64
			afterCount atomic.Int64
			violations atomic.Int64
			failures   atomic.Int64
			wg         sync.WaitGroup
		)
		for range readers {
			wg.Go(func() {
				for !stop.Load() {
					after := revoked.Load()
					ck, err := kc.LookupAt(ctx, d, clock.Now())
					lookups.Add(1)
					if err != nil {
						failures.Add(1)
						continue
					}
					if after {
						afterCount.Add(1)
						if !ck.Key.Revoked() {
							violations.Add(1)
						}
					}
				}
			})
		}
		wg.Go(func() { // an invalidation feed that keeps the cache cold
			for !stop.Load() {
				kc.Invalidate(d)
				runtime.Gosched()
			}
		})

		testsync.Until(t, "readers warm up", func() bool { return lookups.Load() > 200 })
		_, err := kc.RevokeKey(ctx, k.ID, clock.Now())
		require.NoError(t, err)
		revoked.Store(true)
		testsync.Until(t, "readers run after the revocation", func() bool { return afterCount.Load() > 500 })
		stop.Store(true)
		wg.Wait()

		require.Zero(t, failures.Load(), "round %d: lookup errors", round)
		require.Zero(t, violations.Load(), "round %d: lookups after RevokeKey saw the key unrevoked", round)
	}
}

func TestCacheStaysBounded(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		size, negMax int
		known        int
		unknown      int
	}{
		{name: "random unknown digests", size: 64, negMax: 32, unknown: 5000},
		{name: "many known keys", size: 64, negMax: 32, known: 500},
		{name: "size not a multiple of the shard count", size: 10, negMax: 5, known: 300, unknown: 300},
		{name: "size one", size: 1, negMax: 1, known: 100, unknown: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newCacheClock()
			mem := store.NewMemory()
			kc := newKeyCache(t, mem, store.CacheConfig{Size: tt.size, NegativeSize: tt.negMax, Now: clock.Now})
			for i := range tt.known {
				d := randomDigest(t)
				addKey(t, mem, "key_"+strconv.Itoa(i), d)
				_, err := kc.LookupAt(ctx, d, clock.Now())
				require.NoError(t, err)
			}
			for range tt.unknown {
				_, err := kc.LookupAt(ctx, randomDigest(t), clock.Now())
				require.ErrorIs(t, err, store.ErrNotFound)
			}
			keys, unknown := kc.Len()
			assert.LessOrEqual(t, keys, tt.size, "cached keys")
			assert.LessOrEqual(t, unknown, tt.negMax, "remembered unknown digests")
			if tt.unknown >= tt.negMax {
				assert.Equal(t, tt.negMax, unknown, "the negative cache is used up to its bound")
			}
			if tt.known > 0 {
				assert.Positive(t, keys)
			}
		})
	}
}

func TestCacheUnknownFloodDoesNotEvictKnownKeys(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	kc := newKeyCache(t, mem, store.CacheConfig{Size: 32, NegativeSize: 16, Now: clock.Now})
	d := digestOf("real")
	addKey(t, mem, "key_real", d)
	_, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	for range 2000 {
		_, _ = kc.LookupAt(ctx, randomDigest(t), clock.Now())
	}
	_, ok := kc.PeekAt(d, clock.Now())
	assert.True(t, ok, "a flood of unknown digests evicted a real key")
}

func TestCachePositiveTTL(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	ps := &probeStore{KeyStore: mem}
	kc := newKeyCache(t, ps, store.CacheConfig{TTL: time.Minute, Now: clock.Now})
	d := digestOf("k")
	k := addKey(t, mem, "key_1", d)

	steps := []struct {
		advance   time.Duration
		wantCalls int64
	}{
		{advance: 0, wantCalls: 1},                             // load
		{advance: 59 * time.Second, wantCalls: 1},              // hit
		{advance: time.Second - time.Nanosecond, wantCalls: 1}, // last instant of the TTL
		{advance: time.Nanosecond, wantCalls: 2},               // expired: reload
		{advance: 30 * time.Second, wantCalls: 2},              // hit on the reloaded entry
		{advance: 30 * time.Second, wantCalls: 3},              // reload again
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		_, err := kc.LookupAt(ctx, d, clock.Now())
		require.NoError(t, err)
		assert.Equal(t, s.wantCalls, ps.calls.Load(), "step %d", i)
	}

	// A change made behind the cache's back shows after at most the TTL.
	_, err := mem.RevokeKey(ctx, k.ID, clock.Now())
	require.NoError(t, err)
	ck, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.False(t, ck.Key.Revoked(), "served from the cache within the TTL")
	clock.Advance(time.Minute)
	ck, err = kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.True(t, ck.Key.Revoked(), "reloaded after the TTL")

	_, ok := kc.PeekAt(d, clock.Now())
	assert.True(t, ok)
	_, ok = kc.PeekAt(d, clock.Now().Add(time.Minute))
	assert.False(t, ok, "PeekAt does not serve a stale entry")
}

func TestCacheNegativeTTL(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	ps := &probeStore{KeyStore: store.NewMemory()}
	kc := newKeyCache(t, ps, store.CacheConfig{NegativeTTL: 5 * time.Second, Now: clock.Now})
	d := digestOf("missing")

	steps := []struct {
		advance   time.Duration
		wantCalls int64
	}{
		{advance: 0, wantCalls: 1},
		{advance: 4 * time.Second, wantCalls: 1},
		{advance: time.Second, wantCalls: 2},
		{advance: time.Second, wantCalls: 2},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		_, err := kc.LookupAt(ctx, d, clock.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, s.wantCalls, ps.calls.Load(), "step %d", i)
	}
	_, unknown := kc.Len()
	assert.Equal(t, 1, unknown)

	// Creating the key through the cache forgets the negative entry at once.
	addKey(t, kc, "key_new", d)
	ck, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, "key_new", ck.Key.ID)
	_, unknown = kc.Len()
	assert.Zero(t, unknown)
}

func TestCacheStoreFaults(t *testing.T) {
	other := digestOf("other")
	errDown := errors.New("pq: connection refused to 10.1.2.3 user=gatehouse")
	tests := []struct {
		name    string
		cfg     store.CacheConfig
		lookup  func(ctx context.Context, _ int64, d store.Digest) (*store.Key, error)
		wantErr error
	}{
		{
			name:    "error",
			lookup:  func(context.Context, int64, store.Digest) (*store.Key, error) { return nil, errDown },
			wantErr: errDown,
		},
		{
			name:   "panic",
			lookup: func(context.Context, int64, store.Digest) (*store.Key, error) { panic("driver bug") },
		},
		{
			name:    "nil record",
			lookup:  func(context.Context, int64, store.Digest) (*store.Key, error) { return nil, nil },
			wantErr: store.ErrCorrupt,
		},
		{
			name: "record of another digest",
			lookup: func(context.Context, int64, store.Digest) (*store.Key, error) {
				return &store.Key{ID: "key_other", Digest: other}, nil
			},
			wantErr: store.ErrCorrupt,
		},
		{
			name: "slow store times out",
			cfg:  store.CacheConfig{LoadTimeout: time.Millisecond},
			lookup: func(ctx context.Context, _ int64, _ store.Digest) (*store.Key, error) {
				<-ctx.Done() // the load's own deadline, not the caller's
				return nil, ctx.Err()
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newCacheClock()
			ps := &probeStore{KeyStore: store.NewMemory(), lookup: tt.lookup}
			cfg := tt.cfg
			cfg.Now = clock.Now
			kc := newKeyCache(t, ps, cfg)
			d := digestOf("k")
			for i := range 2 {
				ck, err := kc.LookupAt(ctx, d, clock.Now())
				require.Error(t, err)
				assert.Nil(t, ck)
				assert.NotErrorIs(t, err, store.ErrNotFound, "a fault is not a missing key")
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				// Nothing is cached: the next lookup asks the store again.
				assert.EqualValues(t, i+1, ps.calls.Load())
				keys, unknown := kc.Len()
				assert.Zero(t, keys)
				assert.Zero(t, unknown)
			}
			_, err := kc.KeyByDigest(ctx, d)
			assert.Error(t, err)
		})
	}
}

func TestCacheCancelledCallerDoesNotCancelLoad(t *testing.T) {
	clock := newCacheClock()
	mem := store.NewMemory()
	d := digestOf("k")
	addKey(t, mem, "key_1", d)

	entered := make(chan struct{})
	gate, release := releaser(t)
	var loadCtxLive atomic.Bool
	ps := &probeStore{KeyStore: mem}
	ps.lookup = func(ctx context.Context, _ int64, d store.Digest) (*store.Key, error) {
		close(entered)
		<-gate
		loadCtxLive.Store(ctx.Err() == nil)
		return mem.KeyByDigest(ctx, d)
	}
	kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})

	var waiting atomic.Int64
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := testsync.WaitCountingCtx{Context: cctx, Waiting: &waiting}
	second := testsync.WaitCountingCtx{Context: context.Background(), Waiting: &waiting}

	firstErr := make(chan error, 1)
	go func() {
		_, err := kc.LookupAt(first, d, clock.Now())
		firstErr <- err
	}()
	<-entered
	type result struct {
		ck  *store.CachedKey
		err error
	}
	secondRes := make(chan result, 1)
	go func() {
		ck, err := kc.LookupAt(second, d, clock.Now())
		secondRes <- result{ck, err}
	}()
	testsync.Until(t, "both callers wait", func() bool { return waiting.Load() >= 2 })

	cancel()
	assert.ErrorIs(t, <-firstErr, context.Canceled, "the cancelled caller returns at once")
	assert.EqualValues(t, 1, ps.calls.Load())

	release()
	r := <-secondRes
	require.NoError(t, r.err, "the shared load went on for the other caller")
	assert.Equal(t, "key_1", r.ck.Key.ID)
	assert.True(t, loadCtxLive.Load(), "the store saw a live context")
	assert.EqualValues(t, 1, ps.calls.Load())

	// The result was cached for everyone.
	_, ok := kc.PeekAt(d, clock.Now())
	assert.True(t, ok)
}

func TestCacheInvalidateAll(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	ps := &probeStore{KeyStore: mem}
	kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
	var known []store.Digest
	for i := range 20 {
		d := randomDigest(t)
		addKey(t, mem, "key_"+strconv.Itoa(i), d)
		known = append(known, d)
		_, err := kc.LookupAt(ctx, d, clock.Now())
		require.NoError(t, err)
	}
	for range 10 {
		_, err := kc.LookupAt(ctx, randomDigest(t), clock.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	keys, unknown := kc.Len()
	require.Equal(t, 20, keys)
	require.Equal(t, 10, unknown)

	kc.InvalidateAll()
	keys, unknown = kc.Len()
	assert.Zero(t, keys)
	assert.Zero(t, unknown)
	calls := ps.calls.Load()
	_, ok := kc.PeekAt(known[0], clock.Now())
	assert.False(t, ok)
	_, err := kc.LookupAt(ctx, known[0], clock.Now())
	require.NoError(t, err)
	assert.Equal(t, calls+1, ps.calls.Load())
}

func TestKeyCacheAsKeyStore(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	ps := &probeStore{KeyStore: mem}
	kc := newKeyCache(t, ps, store.CacheConfig{Now: clock.Now})
	assert.Same(t, store.KeyStore(ps), kc.Unwrap())
	assert.Equal(t, clock.Now(), kc.Now())

	d := digestOf("k")
	addKey(t, kc, "key_1", d)
	_, ok := kc.PeekAt(d, clock.Now())
	assert.False(t, ok, "PeekAt never loads")
	assert.Zero(t, ps.calls.Load())

	k, err := kc.KeyByDigest(ctx, d)
	require.NoError(t, err)
	k.Scopes[0] = "admin"
	k.Name = "changed"
	again, err := kc.KeyByDigest(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, again.Scopes, "KeyByDigest returns a copy")
	assert.Equal(t, "key_1", again.Name)
	assert.EqualValues(t, 1, ps.calls.Load())

	_, err = kc.KeyByDigest(ctx, digestOf("nope"))
	assert.ErrorIs(t, err, store.ErrNotFound)

	byID, err := kc.KeyByID(ctx, "key_1")
	require.NoError(t, err)
	assert.Equal(t, d, byID.Digest)
	list, next, err := kc.ListKeys(ctx, store.KeyFilter{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
	assert.Empty(t, next)

	err = kc.CreateKey(ctx, &store.Key{ID: "key_1", Digest: digestOf("other")})
	assert.ErrorIs(t, err, store.ErrConflict)
}

func TestCachedKeyPrincipalBuiltOnce(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	kc := newKeyCache(t, mem, store.CacheConfig{Now: clock.Now})
	d := digestOf("k")
	addKey(t, mem, "key_1", d)

	var builds atomic.Int64
	build := func(k *store.Key) *gatehouse.Principal {
		builds.Add(1)
		return &gatehouse.Principal{ID: k.ID, TenantID: k.TenantID}
	}
	ck, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)

	var wg sync.WaitGroup
	got := make([]*gatehouse.Principal, 50)
	for i := range got {
		wg.Go(func() { got[i] = ck.Principal(build) })
	}
	wg.Wait()
	for _, p := range got {
		assert.Same(t, got[0], p)
	}
	assert.Equal(t, "key_1", got[0].ID)
	assert.Positive(t, builds.Load())

	n := builds.Load()
	assert.Same(t, got[0], ck.Principal(build), "a later call does not build again")
	assert.Equal(t, n, builds.Load())

	// After an invalidation, the reloaded record gets a new principal.
	kc.Invalidate(d)
	ck2, err := kc.LookupAt(ctx, d, clock.Now())
	require.NoError(t, err)
	assert.NotSame(t, ck, ck2)
	assert.NotSame(t, got[0], ck2.Principal(build))
}
