package redisrate

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

func newCredits(t *testing.T) (*Credits, *Credits) {
	t.Helper()
	rdb, prefix := testRedis(t)
	a, err := NewCredits(rdb, CreditsConfig{Prefix: prefix})
	require.NoError(t, err)
	// A second instance: its own client, the same Redis and prefix.
	b, err := NewCredits(newClient(t, rdb.Options().Addr), CreditsConfig{Prefix: prefix})
	require.NoError(t, err)
	return a, b
}

func TestCreditsSharedByInstances(t *testing.T) {
	a, b := newCredits(t)
	ctx := context.Background()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &gatehouse.Credits{Remaining: 5, Since: now.Add(-time.Hour)}
	var got []int64
	for i := range 7 {
		s := a
		if i%2 == 1 {
			s = b
		}
		v, err := s.SpendCredit(ctx, "key_1", c, now)
		if err != nil {
			var ce *gatehouse.CreditsError
			require.ErrorAs(t, err, &ce)
			assert.True(t, ce.RefillAt.IsZero())
			v = -2
		}
		got = append(got, v)
	}
	assert.Equal(t, []int64{4, 3, 2, 1, 0, -2, -2}, got)
	left, err := b.Remaining(ctx, "key_1", c, now)
	require.NoError(t, err)
	assert.Zero(t, left)

	// Setting the credits again (a new Since) starts a new count.
	c2 := &gatehouse.Credits{Remaining: 2, Since: now}
	v, err := a.SpendCredit(ctx, "key_1", c2, now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	// Another key has its own count.
	v, err = a.SpendCredit(ctx, "key_2", c, now)
	require.NoError(t, err)
	assert.Equal(t, int64(4), v)
}

func TestCreditsRefill(t *testing.T) {
	a, b := newCredits(t)
	ctx := context.Background()
	day0 := time.Date(2031, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, iv := range []gatehouse.CreditInterval{gatehouse.CreditsDaily, gatehouse.CreditsMonthly} {
		t.Run(string(iv), func(t *testing.T) {
			id := "key_" + string(iv)
			c := &gatehouse.Credits{Remaining: 1, Refill: 3, Interval: iv, Since: day0}
			v, err := a.SpendCredit(ctx, id, c, day0)
			require.NoError(t, err)
			assert.Zero(t, v)
			next := time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC)
			_, err = b.SpendCredit(ctx, id, c, next.Add(-time.Second))
			var ce *gatehouse.CreditsError
			require.ErrorAs(t, err, &ce)
			assert.True(t, next.Equal(ce.RefillAt))
			assert.Equal(t, time.Second, ce.RetryAfter)
			var got []int64
			for i := range 4 {
				s := a
				if i%2 == 1 {
					s = b
				}
				v, err := s.SpendCredit(ctx, id, c, next)
				if err != nil {
					v = -2
				}
				got = append(got, v)
			}
			assert.Equal(t, []int64{2, 1, 0, -2}, got)
		})
	}
}

func TestCreditsConcurrent(t *testing.T) {
	a, b := newCredits(t)
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &gatehouse.Credits{Remaining: 25, Since: now}
	var mu sync.Mutex
	spent := 0
	var wg sync.WaitGroup
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range 6 {
				if _, err := s.SpendCredit(context.Background(), "key_c", c, now); err == nil {
					mu.Lock()
					spent++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 25, spent)
}

func TestCreditsRedisDown(t *testing.T) {
	rdb := newClient(t, "127.0.0.1:1") // nothing listens there
	s, err := NewCredits(rdb, CreditsConfig{Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	_, err = s.SpendCredit(context.Background(), "key_1", &gatehouse.Credits{Remaining: 5}, time.Now())
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.NotErrorIs(t, err, gatehouse.ErrCreditsExhausted)
}

// TestCreditsTake: a take returns what is left and leaves none, for every
// instance; a spend racing it is counted in it or refused.
func TestCreditsTake(t *testing.T) {
	a, b := newCredits(t)
	ctx := context.Background()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name  string
		c     *gatehouse.Credits
		spend int
		want  int64
	}{
		{"what is left", &gatehouse.Credits{Remaining: 5, Since: now.Add(-time.Hour)}, 2, 3},
		{"never spent", &gatehouse.Credits{Remaining: 4, Since: now.Add(-time.Hour)}, 0, 4},
		{"a refill due", &gatehouse.Credits{Remaining: 1, Refill: 9, Interval: gatehouse.CreditsDaily, Since: now.AddDate(0, 0, -2)}, 1, 8},
		{"none left", &gatehouse.Credits{Remaining: 1, Since: now.Add(-time.Hour)}, 3, 0},
		{"no credits", nil, 0, -1},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "key_take_" + strconv.Itoa(n)
			for range tc.spend {
				_, _ = a.SpendCredit(ctx, id, tc.c, now)
			}
			got, err := b.TakeCredits(ctx, id, tc.c, now)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			if tc.c == nil {
				return
			}
			_, err = a.SpendCredit(ctx, id, tc.c, now)
			assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted, "none left for the other instance")
			again, err := a.TakeCredits(ctx, id, tc.c, now)
			require.NoError(t, err)
			assert.Zero(t, again)
		})
	}

	t.Run("concurrent spends", func(t *testing.T) {
		c := &gatehouse.Credits{Remaining: 1000, Since: now}
		var spent atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				<-start
				for range 10 {
					if _, err := a.SpendCredit(ctx, "key_race", c, now); err == nil {
						spent.Add(1)
					}
				}
			})
		}
		close(start)
		taken, err := b.TakeCredits(ctx, "key_race", c, now)
		require.NoError(t, err)
		wg.Wait()
		assert.Equal(t, int64(1000), taken+spent.Load())
	})
}
