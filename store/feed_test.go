package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// TestCacheRevalidatesWhileFeedIsDown checks the rule that keeps a
// revocation made by another process within RevalidateAfter (1 s) of every
// cache that a feed keeps: an entry older than that span is served only
// while the feed proved itself within the span; otherwise it is read again,
// and a failed read is a 503 (the store's error) unless StaleIfUnavailable.
func TestCacheRevalidatesWhileFeedIsDown(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name       string
		feed       bool          // FeedAlive was ever called
		feedAge    time.Duration // now minus the last heartbeat
		entryAge   time.Duration // now minus the load
		storeDown  bool
		stale      bool // StaleIfUnavailable
		wantLoads  int64
		wantRevokd bool // the answer carries the other process's revocation
		wantErr    bool
	}{
		{name: "no feed: served until the TTL", entryAge: 50 * time.Second, wantLoads: 1},
		{name: "feed alive: served", feed: true, feedAge: 200 * time.Millisecond, entryAge: 50 * time.Second, wantLoads: 1},
		{name: "feed silent, young entry: served", feed: true, feedAge: 5 * time.Second, entryAge: 900 * time.Millisecond, wantLoads: 1},
		{name: "feed silent, entry of exactly 1 s: read again", feed: true, feedAge: 5 * time.Second, entryAge: time.Second, wantLoads: 2, wantRevokd: true},
		{name: "feed silent for exactly 1 s: read again", feed: true, feedAge: time.Second, entryAge: 2 * time.Second, wantLoads: 2, wantRevokd: true},
		{name: "feed silent, store down: refused", feed: true, feedAge: 5 * time.Second, entryAge: 2 * time.Second, storeDown: true, wantLoads: 2, wantErr: true},
		{name: "feed silent, store down, stale allowed: served", feed: true, feedAge: 5 * time.Second, entryAge: 2 * time.Second, storeDown: true, stale: true, wantLoads: 2},
		{name: "stale allowed, but past the TTL: refused", feed: true, feedAge: 5 * time.Second, entryAge: 61 * time.Second, storeDown: true, stale: true, wantLoads: 2, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newCacheClock()
			mem := store.NewMemory()
			d := randomDigest(t)
			k := addKey(t, mem, "key_a", d)
			probe := &probeStore{KeyStore: mem}
			kc := newKeyCache(t, probe, store.CacheConfig{Now: clock.Now, TTL: time.Minute, StaleIfUnavailable: tc.stale})

			start := clock.Now()
			if tc.feed {
				kc.FeedAlive(start)
			}
			_, err := kc.LookupAt(ctx, d, start)
			require.NoError(t, err)

			// Another process revokes the key; its feed event never
			// arrives here.
			_, err = mem.RevokeKey(ctx, k.ID, start)
			require.NoError(t, err)
			if tc.storeDown {
				probe.lookup = func(context.Context, int64, store.Digest) (*store.Key, error) { return nil, errDown }
			}
			now := start.Add(tc.entryAge)
			if tc.feed {
				kc.FeedAlive(now.Add(-tc.feedAge))
			}
			ck, err := kc.LookupAt(ctx, d, now)
			assert.Equal(t, tc.wantLoads, probe.calls.Load(), "store reads")
			if tc.wantErr {
				assert.ErrorIs(t, err, errDown)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantRevokd, !ck.Key.RevokedAt.IsZero(), "revocation seen")
			if tc.wantLoads == 1 {
				_, ok := kc.PeekAt(d, now)
				assert.True(t, ok, "PeekAt serves what LookupAt serves from the cache")
			}
		})
	}
}

// TestCacheFeedAliveOnlyMovesForward: a late heartbeat with an older time
// does not take back a newer proof.
func TestCacheFeedAliveOnlyMovesForward(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	d := randomDigest(t)
	addKey(t, mem, "key_a", d)
	probe := &probeStore{KeyStore: mem}
	kc := newKeyCache(t, probe, store.CacheConfig{Now: clock.Now})
	t0 := clock.Now()
	_, err := kc.LookupAt(ctx, d, t0)
	require.NoError(t, err)
	kc.FeedAlive(t0.Add(10 * time.Second))
	kc.FeedAlive(t0)
	_, ok := kc.PeekAt(d, t0.Add(10500*time.Millisecond))
	assert.True(t, ok)
	assert.Equal(t, int64(1), probe.calls.Load())
}

// TestSessionCacheRevalidatesWhileFeedIsDown: the session cache shares the
// rule, so a logout elsewhere is seen within a second too.
func TestSessionCacheRevalidatesWhileFeedIsDown(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	mem := store.NewMemory()
	now := clock.Now()
	ss := &store.Session{Digest: randomDigest(t), UserID: "usr_1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, mem.CreateSession(ctx, ss))
	sc, err := store.NewSessionCache(mem, store.CacheConfig{Now: clock.Now})
	require.NoError(t, err)
	sc.FeedAlive(now)
	_, err = sc.LookupAt(ctx, ss.Digest, now)
	require.NoError(t, err)
	require.NoError(t, mem.DeleteSession(ctx, ss.Digest))

	_, err = sc.LookupAt(ctx, ss.Digest, now.Add(999*time.Millisecond))
	assert.NoError(t, err, "within the span the cached session is served")
	_, err = sc.LookupAt(ctx, ss.Digest, now.Add(time.Second))
	assert.ErrorIs(t, err, store.ErrNotFound, "after it, the logout is seen")
}
