package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

func TestThrottleLoginLockout(t *testing.T) {
	ctx := context.Background()
	mem, clk := newTestMemory(t, MemoryConfig{})
	th, err := NewThrottle(mem, MustPolicy("login", 5, 15*time.Minute, 0), ThrottleConfig{MaxJitter: -1})
	require.NoError(t, err)
	alice := NewKey("account", "alice")

	for i := range 5 {
		_, err := th.Check(ctx, alice)
		require.NoError(t, err, "attempt %d is not blocked", i)
		d, err := th.Fail(ctx, alice)
		require.NoError(t, err)
		assert.True(t, d.Allowed)
		assert.Equal(t, 4-i, d.Remaining)
	}
	d, err := th.Check(ctx, alice)
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl, "blocked after 5 failures")
	assert.Equal(t, 3*time.Minute, rl.RetryAfter)
	assert.False(t, d.Allowed)

	d, err = th.Fail(ctx, alice)
	require.NoError(t, err, "a failure while blocked is not an error")
	assert.False(t, d.Allowed, "and is not counted")

	_, err = th.Check(ctx, NewKey("account", "bob"))
	assert.NoError(t, err, "other accounts are not blocked")

	clk.Advance(3 * time.Minute)
	_, err = th.Check(ctx, alice)
	require.NoError(t, err, "one attempt every 3 minutes")
	_, _ = th.Fail(ctx, alice)
	_, err = th.Check(ctx, alice)
	require.ErrorIs(t, err, gatehouse.ErrRateLimited)

	clk.Advance(3 * time.Minute)
	require.NoError(t, th.Succeed(ctx, alice))
	d, err = th.Check(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, 5, d.Remaining, "a success forgets the failures")
	assert.Same(t, th.Policy(), d.Policy)
}

func TestThrottleReserve(t *testing.T) {
	ctx := context.Background()
	mem, _ := newTestMemory(t, MemoryConfig{})
	th, err := NewThrottle(mem, MustPolicy("login", 3, time.Hour, 0), ThrottleConfig{})
	require.NoError(t, err)
	k := NewKey("account", "alice")

	_, err = th.Reserve(ctx, k)
	require.NoError(t, err)
	require.NoError(t, th.Release(ctx, k), "a malformed attempt gives its unit back")
	d, _ := th.Check(ctx, k)
	assert.Equal(t, 3, d.Remaining)

	// Concurrent guesses: no more than the burst get through.
	var passed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := th.Reserve(ctx, k); err == nil {
				passed.Add(1)
			} else if !errors.Is(err, gatehouse.ErrRateLimited) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(3), passed.Load())
	_, err = th.Reserve(ctx, k)
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.GreaterOrEqual(t, rl.RetryAfter, 20*time.Minute)
	assert.Less(t, rl.RetryAfter, 20*time.Minute+time.Second, "default jitter below 1s")
}

func TestThrottleBackendDown(t *testing.T) {
	ctx := context.Background()
	cause := errors.New("connection refused")
	th, err := NewThrottle(failingLimiter{cause}, MustPolicy("login", 3, time.Hour, 0), ThrottleConfig{})
	require.NoError(t, err)
	k := NewKey("account", "alice")
	_, err = th.Check(ctx, k)
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	_, err = th.Reserve(ctx, k)
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	_, err = th.Fail(ctx, k)
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.ErrorIs(t, th.Succeed(ctx, k), gatehouse.ErrUnavailable)
	assert.ErrorIs(t, th.Release(ctx, k), gatehouse.ErrUnavailable)

	already := gatehouse.Unavailable(cause)
	th2, _ := NewThrottle(failingLimiter{already}, MustPolicy("login", 3, time.Hour, 0), ThrottleConfig{})
	_, err = th2.Check(ctx, k)
	assert.Same(t, already, err, "an unavailable error is not wrapped twice")

	_, err = NewThrottle(nil, MustPolicy("login", 3, time.Hour, 0), ThrottleConfig{})
	assert.Error(t, err)
	_, err = NewThrottle(failingLimiter{}, nil, ThrottleConfig{})
	assert.Error(t, err)
	_, err = NewThrottle(failingLimiter{}, &Policy{}, ThrottleConfig{})
	assert.Error(t, err)

	mem, _ := newTestMemory(t, MemoryConfig{})
	th3, _ := NewThrottle(mem, MustPolicy("login", 3, time.Hour, 0), ThrottleConfig{})
	_, err = th3.Fail(ctx, NewKey("account", ""))
	assert.ErrorIs(t, err, ErrNoKey)
	assert.NotErrorIs(t, err, gatehouse.ErrUnavailable, "an invalid key is not a backend failure")
}
