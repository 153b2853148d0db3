package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// fixedCounter answers every key with n, or fails.
type fixedCounter struct {
	n   int64
	err error
}

func (f fixedCounter) Remaining(context.Context, string, *gatehouse.Credits, time.Time) (int64, error) {
	return f.n, f.err
}

func TestLiveCredits(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	mem := store.NewMemory()
	metered := &store.Key{ID: "key_a", Digest: store.Digest{1}, CreatedAt: now,
		Credits: &gatehouse.Credits{Remaining: 100, Refill: 100, Interval: gatehouse.CreditsDaily, Since: now.Add(-time.Hour)}}
	plain := &store.Key{ID: "key_b", Digest: store.Digest{2}, CreatedAt: now}
	require.NoError(t, mem.CreateKey(ctx, metered))
	require.NoError(t, mem.CreateKey(ctx, plain))

	l := store.NewLiveCredits(mem, fixedCounter{n: 7}, func() time.Time { return now })
	k, err := l.KeyByID(ctx, "key_a")
	require.NoError(t, err)
	assert.Equal(t, gatehouse.Credits{Remaining: 7, Refill: 100, Interval: gatehouse.CreditsDaily, Since: now}, *k.Credits)
	keys, _, err := l.ListKeys(ctx, store.KeyFilter{})
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, int64(7), keys[0].Credits.Remaining)
	assert.Nil(t, keys[1].Credits)
	rec, err := mem.KeyByID(ctx, "key_a")
	require.NoError(t, err)
	assert.Equal(t, int64(100), rec.Credits.Remaining, "the record is not changed")
	d, err := l.KeyByDigest(ctx, store.Digest{1})
	require.NoError(t, err)
	assert.Equal(t, int64(100), d.Credits.Remaining, "lookups by digest are the store's")

	down := store.NewLiveCredits(mem, fixedCounter{err: errors.New("redis down")}, nil)
	_, err = down.KeyByID(ctx, "key_a")
	assert.Error(t, err)
	_, _, err = down.ListKeys(ctx, store.KeyFilter{})
	assert.Error(t, err)
	_, err = down.KeyByID(ctx, "key_b")
	assert.NoError(t, err, "a key without credits needs no counter")
}

// takingCounter records the credits it is asked to take, and answers n.
type takingCounter struct {
	fixedCounter
	asked *gatehouse.Credits
}

func (c *takingCounter) TakeCredits(_ context.Context, _ string, cr *gatehouse.Credits, _ time.Time) (int64, error) {
	c.asked = cr
	return c.n, c.err
}

// TestLiveCreditsTake: a take asks the counter with the record's
// allowance (whose count it is), not the live view; without a counter
// that takes, it fails.
func TestLiveCreditsTake(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	mem := store.NewMemory()
	grant := gatehouse.Credits{Remaining: 100, Refill: 100, Interval: gatehouse.CreditsDaily, Since: now.Add(-time.Hour)}
	require.NoError(t, mem.CreateKey(ctx, &store.Key{ID: "key_a", Digest: store.Digest{1}, CreatedAt: now, Credits: &grant}))
	require.NoError(t, mem.CreateKey(ctx, &store.Key{ID: "key_b", Digest: store.Digest{2}, CreatedAt: now}))

	counter := &takingCounter{fixedCounter: fixedCounter{n: 7}}
	l := store.NewLiveCredits(mem, counter, func() time.Time { return now })
	left, err := l.TakeCredits(ctx, "key_a", &gatehouse.Credits{Remaining: 7, Since: now}, now)
	require.NoError(t, err)
	assert.Equal(t, int64(7), left)
	require.NotNil(t, counter.asked)
	assert.Equal(t, grant, *counter.asked, "the record's allowance")
	left, err = l.TakeCredits(ctx, "key_b", nil, now)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), left)
	_, err = l.TakeCredits(ctx, "key_missing", nil, now)
	assert.ErrorIs(t, err, store.ErrNotFound)

	_, err = store.NewLiveCredits(mem, fixedCounter{n: 7}, nil).TakeCredits(ctx, "key_a", nil, now)
	assert.Error(t, err, "a counter that cannot take")
}
