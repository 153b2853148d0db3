package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
)

func newLimiterThrottle(t *testing.T, l ratelimit.Limiter, refund bool, capLimit int) *LimiterThrottle {
	t.Helper()
	th, err := ratelimit.NewThrottle(l, ratelimit.MustPolicy("login", 5, 15*time.Minute, 0), ratelimit.ThrottleConfig{MaxJitter: -1})
	require.NoError(t, err)
	cfg := LimiterThrottleConfig{Scope: "login-account", RefundOnSuccess: refund}
	if capLimit > 0 {
		cfg.HardCap, err = ratelimit.NewThrottle(l, ratelimit.MustPolicy("login-cap", capLimit, 30*24*time.Hour, 0), ratelimit.ThrottleConfig{MaxJitter: -1})
		require.NoError(t, err)
	}
	lt, err := NewLimiterThrottle(th, cfg)
	require.NoError(t, err)
	return lt
}

// TestLimiterThrottle drives the adapter over an in-memory limiter with a
// fake clock: the free attempts, the refill, a success, the hard cap and
// the per-address refund.
func TestLimiterThrottle(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clk.Now})
	require.NoError(t, err)

	type step struct {
		op      string // "attempt", "success", "wait"
		wait    time.Duration
		blocked bool
	}
	attempts := func(n int, blocked bool) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = step{op: "attempt", blocked: blocked}
		}
		return out
	}
	seq := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	wait := func(d time.Duration) []step { return []step{{op: "wait", wait: d}} }
	success := []step{{op: "success"}}
	tests := []struct {
		name   string
		refund bool
		cap    int
		steps  []step
	}{
		{"five free, then blocked", false, 0, seq(attempts(5, false), attempts(2, true))},
		{"one more after a refill", false, 0, seq(attempts(5, false), attempts(1, true), wait(3*time.Minute), attempts(1, false), attempts(1, true))},
		{"a success forgets the failures", false, 0, seq(attempts(4, false), success, attempts(5, false), attempts(1, true))},
		{"the hard cap holds across refills", false, 7, seq(attempts(5, false), wait(15*time.Minute), attempts(2, false), attempts(1, true), wait(15*time.Minute), attempts(1, true))},
		{"a success lifts the hard cap", false, 7, seq(attempts(5, false), wait(15*time.Minute), attempts(2, false), success, attempts(5, false))},
		{"refund gives back one attempt", true, 0, seq(attempts(5, false), success, attempts(1, false), attempts(1, true))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt := newLimiterThrottle(t, mem, tt.refund, tt.cap)
			key := fmt.Sprintf("user%d@example.com", i)
			for j, s := range tt.steps {
				switch s.op {
				case "wait":
					clk.Advance(s.wait)
				case "success":
					require.NoError(t, lt.Succeeded(ctx, key))
				case "attempt":
					err := lt.Attempt(ctx, key)
					if !s.blocked {
						require.NoError(t, err, "step %d", j)
						continue
					}
					require.ErrorIs(t, err, gatehouse.ErrRateLimited, "step %d", j)
					var rl *gatehouse.RateLimitError
					require.True(t, errors.As(err, &rl))
					assert.Positive(t, rl.RetryAfter)
				}
			}
		})
	}
	_, err = NewLimiterThrottle(nil, LimiterThrottleConfig{Scope: "x"})
	assert.Error(t, err)
	th, err := ratelimit.NewThrottle(mem, ratelimit.MustPolicy("p", 5, time.Minute, 0), ratelimit.ThrottleConfig{})
	require.NoError(t, err)
	for _, scope := range []string{"", "a:b"} {
		_, err = NewLimiterThrottle(th, LimiterThrottleConfig{Scope: scope})
		assert.Error(t, err, "scope %q", scope)
	}
}

// TestLoginThrottleSharedThroughRedis runs two login handlers as two
// instances of a service, each with its own Redis client, counting
// failures in one Redis: an attack spread over both trips the account's
// limit, and no e-mail address is written to Redis.
func TestLoginThrottleSharedThroughRedis(t *testing.T) {
	addr := testdb.RedisAddr(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("gatehouse-test:%s:%d:", t.Name(), time.Now().UnixNano())
	instance := func() *env {
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = rdb.Close() })
		lim, err := redisrate.New(rdb, redisrate.Config{Prefix: prefix, Timeout: 2 * time.Second})
		require.NoError(t, err)
		return newEnv(t, Config{}, HandlerConfig{AccountThrottle: newLimiterThrottle(t, lim, false, 100)})
	}
	// Each instance's store holds the same user (newEnv adds testEmail).
	a, b := instance(), instance()
	attack := testEmail

	for i, e := range []*env{a, b, a, b, a} {
		w := e.login(attack, "wrong password", fromIP(fmt.Sprintf("198.51.100.%d", i+1)))
		require.Equal(t, http.StatusUnauthorized, w.Code, "failure %d", i+1)
	}
	for _, e := range []*env{a, b} {
		w := e.login(attack, testPassword, fromIP("203.0.113.9"))
		assert.Equal(t, http.StatusTooManyRequests, w.Code, "the sixth attempt is refused on either instance")
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
	}

	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the counts are in Redis")
	for _, k := range keys {
		assert.False(t, strings.Contains(k, "ada") || strings.Contains(k, "example"), "no address in a Redis key: %s", k)
	}
	require.NoError(t, rdb.Del(ctx, keys...).Err())
}
