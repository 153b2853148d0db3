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

// failingTouch is a session store whose TouchSession fails while down.
type failingTouch struct {
	*store.Memory
	down bool
}

func (f *failingTouch) TouchSession(ctx context.Context, d store.Digest, at time.Time) error {
	if f.down {
		return errors.New("database is down")
	}
	return f.Memory.TouchSession(ctx, d, at)
}

// TestSessionCacheKeepsUnflushedUse checks the last-seen mechanism: a use
// recorded in the cache survives a reload of the entry before any Flush,
// and a Flush that fails keeps the time for the next one.
func TestSessionCacheKeepsUnflushedUse(t *testing.T) {
	ctx := context.Background()
	clock := newCacheClock()
	inner := &failingTouch{Memory: store.NewMemory()}
	sc, err := store.NewSessionCache(inner, store.CacheConfig{Now: clock.Now})
	require.NoError(t, err)
	t0 := clock.Now()
	s := &store.Session{Digest: digestOf("sess"), UserID: "u", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	require.NoError(t, inner.CreateSession(ctx, s))

	cs, err := sc.LookupAt(ctx, s.Digest, t0)
	require.NoError(t, err)
	used := t0.Add(10 * time.Minute)
	sc.Touch(cs, used)

	sc.Invalidate(s.Digest) // the entry is reloaded, as when its TTL ends
	cs, err = sc.LookupAt(ctx, s.Digest, used)
	require.NoError(t, err)
	assert.True(t, cs.LastSeen().Equal(used), "the unflushed use survives the reload: %v", cs.LastSeen())

	inner.down = true
	assert.Error(t, sc.Flush(ctx))
	inner.down = false
	sc.Invalidate(s.Digest)
	cs, err = sc.LookupAt(ctx, s.Digest, used)
	require.NoError(t, err)
	assert.True(t, cs.LastSeen().Equal(used), "a failed flush keeps the time")

	require.NoError(t, sc.Flush(ctx))
	stored, err := inner.SessionByDigest(ctx, s.Digest)
	require.NoError(t, err)
	assert.True(t, stored.LastSeenAt.Equal(used), "the retried flush wrote it")
}
