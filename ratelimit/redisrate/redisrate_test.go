package redisrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

func TestNewConfig(t *testing.T) {
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer ok.Close()
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer noCtx.Close()
	tests := []struct {
		name   string
		client redis.Scripter
		cfg    Config
		want   string
	}{
		{"nil client", nil, Config{}, "nil"},
		{"typed nil client", (*redis.Client)(nil), Config{}, "nil"},
		{"client ignores context deadlines", noCtx, Config{}, "ContextTimeoutEnabled"},
		{"cluster client ignores context deadlines", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), Config{}, "ContextTimeoutEnabled"},
		{"unknown failure policy", ok, Config{OnFailure: 7}, "failure policy"},
		{"negative timeout", ok, Config{Timeout: -1}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.client, tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, l)
		})
	}
	l, err := New(ok, Config{})
	require.NoError(t, err)
	assert.Equal(t, FailClosed, l.onFailure, "fails closed by default")
	assert.Nil(t, l.fallback)
	assert.Equal(t, 100*time.Millisecond, l.timeout)
	l, err = New(ok, Config{OnFailure: FailOpen})
	require.NoError(t, err)
	assert.IsType(t, &ratelimit.Memory{}, l.fallback, "an in-memory fallback by default")
	assert.Equal(t, "fail_open", FailOpen.String())
	assert.Equal(t, "fail_closed", FailClosed.String())
}

func TestArgumentErrorsNeedNoRedis(t *testing.T) {
	rdb := newClient(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	l, err := New(rdb, Config{})
	require.NoError(t, err)
	ctx := context.Background()
	p := ratelimit.MustPolicy("p", 5, time.Minute, 0)
	_, err = l.Allow(ctx, ratelimit.NewKey("user", "u"), p, 6)
	assert.ErrorIs(t, err, ratelimit.ErrCostTooHigh)
	_, err = l.Allow(ctx, ratelimit.NewKey("user", ""), p, 1)
	assert.ErrorIs(t, err, ratelimit.ErrNoKey)
	_, err = l.Allow(ctx, ratelimit.NewKey("user", "u"), nil, 1)
	assert.ErrorIs(t, err, ratelimit.ErrInvalidPolicy)
	assert.ErrorIs(t, l.Reset(ctx, ratelimit.NewKey("user", "u"), nil), ratelimit.ErrInvalidPolicy)
}

// TestMatchesMemory runs the same decisions through Redis and the in-memory
// limiter: the script is the same algorithm.
func TestMatchesMemory(t *testing.T) {
	rdb, prefix := testRedis(t)
	l, err := New(rdb, Config{Prefix: prefix})
	require.NoError(t, err)
	now := time.Now()
	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return now }})
	require.NoError(t, err)
	ctx := context.Background()

	// Refill is slow (one unit every 6 minutes, or every 20 minutes), so
	// that the time the test takes cannot change a decision.
	policies := []*ratelimit.Policy{
		ratelimit.MustPolicy("even", 10, time.Hour, 0),
		ratelimit.MustPolicy("odd", 3, time.Hour, 7),
	}
	costs := []int{1, 2, 0, 3, -1, 4, 1, 0, 7, 2, 1, -3, 1, 1, 1, 0, 1}
	for _, p := range policies {
		t.Run(p.Name(), func(t *testing.T) {
			key := ratelimit.NewKey("user", "u1")
			for i, c := range costs {
				want, werr := mem.Allow(ctx, key, p, c)
				got, gerr := l.Allow(ctx, key, p, c)
				if werr != nil {
					require.ErrorIs(t, gerr, ratelimit.ErrCostTooHigh, "step %d", i)
					continue
				}
				require.NoError(t, gerr, "step %d", i)
				assert.Equal(t, want.Allowed, got.Allowed, "step %d: cost %d", i, c)
				assert.Equal(t, want.Remaining, got.Remaining, "step %d: cost %d", i, c)
				assert.Equal(t, want.Limit, got.Limit)
				assert.Same(t, p, got.Policy)
				assert.InDelta(t, want.Reset, got.Reset, float64(time.Second), "step %d", i)
				assert.InDelta(t, want.RetryAfter, got.RetryAfter, float64(time.Second), "step %d", i)
			}
		})
	}
}

func TestResetAndExpiry(t *testing.T) {
	rdb, prefix := testRedis(t)
	l, err := New(rdb, Config{Prefix: prefix})
	require.NoError(t, err)
	ctx := context.Background()
	p := ratelimit.MustPolicy("login", 3, time.Hour, 0)
	k := ratelimit.NewKey("account", "alice")
	for range 3 {
		d, err := l.Allow(ctx, k, p, 1)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	d, err := l.Allow(ctx, k, p, 1)
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.InDelta(t, 20*time.Minute, d.RetryAfter, float64(time.Second))

	redisKey := prefix + "login:account:alice"
	ttl, err := rdb.PTTL(ctx, redisKey).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Hour, ttl, float64(2*time.Second), "the key expires when the bucket is full again")

	require.NoError(t, l.Reset(ctx, k, p))
	n, err := rdb.Exists(ctx, redisKey).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
	d, err = l.Allow(ctx, k, p, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, d.Remaining)

	// A refund to a full bucket deletes the key.
	_, _ = l.Allow(ctx, k, p, 1)
	_, _ = l.Allow(ctx, k, p, -1)
	n, _ = rdb.Exists(ctx, redisKey).Result()
	assert.Zero(t, n, "a full bucket takes no space")

	// An address key.
	ipKey := ratelimit.AddrKey(netipMust("2001:db8::"))
	_, err = l.Allow(ctx, ipKey, p, 1)
	require.NoError(t, err)
	n, _ = rdb.Exists(ctx, prefix+"login:ip:2001:db8::").Result()
	assert.Equal(t, int64(1), n)

	// A corrupt value counts as a full bucket, and is overwritten.
	require.NoError(t, rdb.Set(ctx, prefix+"login:account:bob", "garbage", time.Minute).Err())
	d, err = l.Allow(ctx, ratelimit.NewKey("account", "bob"), p, 1)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 2, d.Remaining)
}

// TestTwoInstancesShareTheLimit runs two limiters, each with its own
// client (its own connection pool), as two instances of a service would,
// from many goroutines on one key: together they allow the burst, and no
// more than what refills while the test runs.
func TestTwoInstancesShareTheLimit(t *testing.T) {
	rdb1, prefix := testRedis(t)
	rdb2 := newClient(t, rdb1.Options().Addr)
	const burst = 200
	p := ratelimit.MustPolicy("shared", burst, 10*time.Minute, 0) // one unit every 3s
	var instances []http.Handler
	for _, rdb := range []*redis.Client{rdb1, rdb2} {
		l, err := New(rdb, Config{Prefix: prefix, Timeout: 2 * time.Second})
		require.NoError(t, err)
		m := ratelimit.MustNew(l, p, ratelimit.ByKeyID, ratelimit.Config{})
		instances = append(instances, m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	}
	principal := &gatehouse.Principal{ID: "u1", KeyID: "key_1"}

	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := instances[g%2]
			for range 40 {
				r := httptest.NewRequest("GET", "/", nil)
				r = r.WithContext(gatehouse.NewContext(r.Context(), principal))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				switch w.Code {
				case http.StatusOK:
					allowed.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	tolerance := int64(elapsed / p.Interval()) // units refilled meanwhile
	t.Logf("allowed %d, refused %d in %s (tolerance %d)", allowed.Load(), refused.Load(), elapsed, tolerance)
	assert.GreaterOrEqual(t, allowed.Load(), int64(burst), "the whole burst is used")
	assert.LessOrEqual(t, allowed.Load(), int64(burst)+tolerance, "never more than the limit")
	assert.Equal(t, int64(16*40), allowed.Load()+refused.Load())
}

// TestOutage stops Redis in the middle of a test and checks both failure
// policies, the log events, the retry interval and the recovery. It starts
// its own redis-server when one is on PATH; otherwise it points the
// limiters at a port nothing listens on, and skips the recovery.
func TestOutage(t *testing.T) {
	server := startRedisServer(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if server != nil {
		addr = server.addr()
	} else {
		t.Log("no redis-server on PATH: testing against a closed port, without recovery (CI fails instead)")
	}
	ctx := context.Background()
	p := ratelimit.MustPolicy("outage", 3, time.Hour, 0)
	key := ratelimit.NewKey("user", "u1")
	clk := testclock.New(time.Now())

	var closedLog, openLog logBuffer
	fallback, err := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	require.NoError(t, err)
	closed, err := New(newClient(t, addr), Config{Prefix: uniquePrefix(t), Logger: closedLog.logger(),
		Timeout: 300 * time.Millisecond, Now: clk.Now})
	require.NoError(t, err)
	open, err := New(newClient(t, addr), Config{Prefix: uniquePrefix(t), OnFailure: FailOpen, Fallback: fallback,
		Logger: openLog.logger(), Timeout: 300 * time.Millisecond, Now: clk.Now})
	require.NoError(t, err)

	if server != nil {
		for _, l := range []*Limiter{closed, open} {
			d, err := l.Allow(ctx, key, p, 2)
			require.NoError(t, err)
			require.Equal(t, 1, d.Remaining, "Redis counts")
		}
		server.stop()
	}

	// Fail closed: an error that says unavailable, and a 503.
	_, err = closed.Allow(ctx, key, p, 1)
	require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.False(t, errors.Is(err, gatehouse.ErrRateLimited))
	h := ratelimit.MustNew(closed, p, ratelimit.ByRemoteAddr, ratelimit.Config{}).
		Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("served while failing closed") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), addr, "nothing leaked")
	assert.Error(t, closed.Reset(ctx, key, p))
	assert.Equal(t, 1, strings.Count(closedLog.String(), "Redis is unavailable"), "one warning per outage")
	assert.Contains(t, closedLog.String(), "failure_policy=fail_closed")

	// Fail open: the fallback answers, with its own full bucket, and
	// limits on its own.
	for i := range 3 {
		d, err := open.Allow(ctx, key, p, 1)
		require.NoError(t, err, "decision %d", i)
		assert.True(t, d.Allowed)
	}
	d, err := open.Allow(ctx, key, p, 1)
	require.NoError(t, err)
	assert.False(t, d.Allowed, "the fallback limits too")
	assert.NoError(t, open.Reset(ctx, key, p), "fail open: a reset is not an error")
	d, _ = fallback.Allow(ctx, key, p, 0)
	assert.Equal(t, 3, d.Remaining, "the fallback was reset")
	assert.Equal(t, 1, strings.Count(openLog.String(), "Redis is unavailable"))
	assert.Contains(t, openLog.String(), "failure_policy=fail_open")
	assert.Contains(t, openLog.String(), "level=WARN")

	// Within the retry interval Redis is not asked: decisions are at once.
	assert.True(t, closed.skipRedis())
	clk.Advance(2 * time.Second)
	assert.False(t, closed.skipRedis(), "asked again after the retry interval")

	if server == nil {
		return
	}
	// The throwaway server keeps nothing on disk: it comes back empty. The
	// fallback's bucket is made different, to tell who answers.
	_, _ = fallback.Allow(ctx, key, p, 2)
	server.start()
	for _, l := range []*Limiter{closed, open} {
		d, err := l.Allow(ctx, key, p, 0)
		require.NoError(t, err)
		assert.Equal(t, 3, d.Remaining, "Redis answers again, not the fallback")
	}
	assert.Contains(t, closedLog.String(), "Redis answers again")
	assert.Contains(t, openLog.String(), "Redis answers again")
}

// TestTimeout points the limiter at a server that accepts connections and
// never answers: the decision fails after Config.Timeout.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); <-done; c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done); conns.Wait() })

	var logs logBuffer
	l, err := New(newClient(t, ln.Addr().String()), Config{Timeout: 50 * time.Millisecond, RetryInterval: -1, Logger: logs.logger()})
	require.NoError(t, err)
	start := time.Now()
	_, err = l.Allow(context.Background(), ratelimit.NewKey("user", "u"), ratelimit.MustPolicy("p", 1, time.Minute, 0), 1)
	require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.Less(t, time.Since(start), 2*time.Second, "bounded by the timeout, not the client's read timeout")
	assert.Contains(t, logs.String(), "Redis is unavailable")
	assert.False(t, l.skipRedis(), "a negative retry interval asks Redis every time")

	// A caller that gives up is not a Redis failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l2, err := New(newClient(t, ln.Addr().String()), Config{Timeout: time.Second, Logger: (&logBuffer{}).logger()})
	require.NoError(t, err)
	_, err = l2.Allow(ctx, ratelimit.NewKey("user", "u"), ratelimit.MustPolicy("p", 1, time.Minute, 0), 1)
	require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, l2.down.Load())
}
