package session

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

func TestThrottleConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ThrottleConfig
		ok   bool
	}{
		{"zero", ThrottleConfig{}, true},
		{"per address", ThrottleConfig{FreeFailures: 20, MaxFailures: -1, RefundOnSuccess: true}, true},
		{"cap above 100", ThrottleConfig{MaxFailures: 101}, false},
		{"cap at free failures", ThrottleConfig{FreeFailures: 10, MaxFailures: 10}, false},
		{"negative delay", ThrottleConfig{BaseDelay: -1}, false},
		{"max below base", ThrottleConfig{BaseDelay: time.Minute, MaxDelay: time.Second}, false},
		{"negative size", ThrottleConfig{Size: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMemoryThrottle(tt.cfg)
			assert.Equal(t, tt.ok, err == nil, "%v", err)
		})
	}
}

// retryAfter returns the RetryAfter of a refusal, or -1 when allowed.
func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	if err == nil {
		return -1
	}
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl)
	return rl.RetryAfter
}

func TestThrottleGrowingDelays(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	th, err := NewMemoryThrottle(ThrottleConfig{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Now: clk.Now})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, th.Attempt(ctx, "acct"), "free failure %d", i+1)
	}
	// After 3 failures: waits of 1, 2, 4, 8, 10, 10 seconds.
	for _, wait := range []time.Duration{1, 2, 4, 8, 10, 10} {
		wait *= time.Second
		assert.Equal(t, wait, retryAfter(t, th.Attempt(ctx, "acct")))
		clk.Advance(wait - time.Millisecond)
		assert.Equal(t, time.Millisecond, retryAfter(t, th.Attempt(ctx, "acct")), "refusals count nothing")
		clk.Advance(time.Millisecond)
		require.NoError(t, th.Attempt(ctx, "acct"))
	}
	assert.Equal(t, 9, th.Failures("acct"))
	assert.Equal(t, time.Duration(-1), retryAfter(t, th.Attempt(ctx, "other")), "keys are apart")

	require.NoError(t, th.Succeeded(ctx, "acct"))
	assert.Zero(t, th.Failures("acct"), "a success forgets the failures")
	require.NoError(t, th.Attempt(ctx, "acct"))
}

func TestThrottleHardCap(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	th, err := NewMemoryThrottle(ThrottleConfig{Now: clk.Now})
	require.NoError(t, err)
	allowed := 0
	for range 1000 {
		if th.Attempt(ctx, "victim@example.com") == nil {
			allowed++
		}
		clk.Advance(time.Hour) // longer than any delay
	}
	assert.Equal(t, MaxConsecutiveFailures, allowed, "never more than 100 consecutive failures")
	clk.Advance(365 * 24 * time.Hour)
	err = th.Attempt(ctx, "victim@example.com")
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, detailLocked, rl.Detail)

	th.Reset("victim@example.com")
	assert.NoError(t, th.Attempt(ctx, "victim@example.com"), "an operator unlocks it")
}

func TestThrottleForget(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	th, err := NewMemoryThrottle(ThrottleConfig{FreeFailures: 2, ForgetAfter: time.Hour, Now: clk.Now})
	require.NoError(t, err)
	require.NoError(t, th.Attempt(ctx, "k"))
	require.NoError(t, th.Attempt(ctx, "k"))
	assert.Error(t, th.Attempt(ctx, "k"))
	clk.Advance(time.Hour)
	require.NoError(t, th.Attempt(ctx, "k"))
	assert.Equal(t, 1, th.Failures("k"), "counting starts again after a quiet hour")
}

func TestThrottleRefund(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	th, err := NewMemoryThrottle(ThrottleConfig{FreeFailures: 3, MaxFailures: -1, RefundOnSuccess: true, Now: clk.Now})
	require.NoError(t, err)
	require.NoError(t, th.Attempt(ctx, "10.0.0.1"))
	require.NoError(t, th.Attempt(ctx, "10.0.0.1"))
	require.NoError(t, th.Attempt(ctx, "10.0.0.1"))
	require.NoError(t, th.Succeeded(ctx, "10.0.0.1"))
	assert.Equal(t, 2, th.Failures("10.0.0.1"), "a success gives back its own attempt only")
	require.NoError(t, th.Succeeded(ctx, "10.0.0.1"))
	require.NoError(t, th.Succeeded(ctx, "10.0.0.1"))
	assert.Zero(t, th.Failures("10.0.0.1"))
	assert.Zero(t, th.Len())

	for range 200 {
		_ = th.Attempt(ctx, "10.0.0.2")
		clk.Advance(time.Hour)
	}
	assert.Equal(t, 200, th.Failures("10.0.0.2"), "no hard cap for addresses")
}

func TestThrottleConcurrentAttempts(t *testing.T) {
	// Attempts are counted before the outcome: 200 guesses in flight at
	// once get exactly the free ones, not 200.
	th, err := NewMemoryThrottle(ThrottleConfig{Now: newClock().Now})
	require.NoError(t, err)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if th.Attempt(context.Background(), "acct") == nil {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 5, allowed.Load())
}

func TestThrottleBounded(t *testing.T) {
	th, err := NewMemoryThrottle(ThrottleConfig{Size: 100})
	require.NoError(t, err)
	for i := range 10_000 {
		_ = th.Attempt(context.Background(), "random-"+strconv.Itoa(i)+"@example.com")
	}
	assert.Equal(t, 100, th.Len())
}

func TestThrottleCancelled(t *testing.T) {
	th, err := NewMemoryThrottle(ThrottleConfig{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, th.Attempt(ctx, "k"), gatehouse.ErrUnavailable)
}
