package benchmarks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	sethlimiter "github.com/sethvargo/go-limiter/httplimit"
	"github.com/sethvargo/go-limiter/memorystore"
	ululelimiter "github.com/ulule/limiter/v3"
	ululestdlib "github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	ululememory "github.com/ulule/limiter/v3/drivers/store/memory"
	"golang.org/x/time/rate"

	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
)

// The rate-limit benchmarks put each contender's middleware, keyed by the
// client address, in front of okHandler, with a limit so high that every
// request is allowed: they measure a decision on a warm key, never a
// refusal. Peers set their X-RateLimit-* headers on every response;
// gatehouse sets none on allowed responses unless asked, so
// gatehouse-headers shows the cost of HeadersOnAllowed.

// benchPolicy allows a million requests a second with a burst of a
// billion: no benchmark run spends it.
var benchPolicy = ratelimit.MustPolicy("bench", 1_000_000, time.Second, ratelimit.MaxLimit)

// rateLimitContenders returns a handler per contender.
func rateLimitContenders(b *testing.B) []contender {
	b.Helper()
	const limit = 1 << 40 // per second, for the peers

	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	gh := ratelimit.MustNew(mem, benchPolicy, ratelimit.ByRemoteAddr, ratelimit.Config{})
	ghHeaders := ratelimit.MustNew(mem, benchPolicy, ratelimit.ByRemoteAddr, ratelimit.Config{HeadersOnAllowed: true})

	ulule := ululestdlib.NewMiddleware(ululelimiter.New(ululememory.NewStore(),
		ululelimiter.Rate{Period: time.Second, Limit: limit}))

	// go-limiter starts a bucket full and, at each new Interval, refills it
	// by (intervals passed × Tokens/Interval in ns), which for a large
	// Tokens per second is a handful: a run that crossed a second boundary
	// got 429s. An hour-long interval keeps every run inside the first,
	// full one.
	sethStore, err := memorystore.New(&memorystore.Config{Tokens: limit, Interval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sethStore.Close(context.Background()) })
	seth, err := sethlimiter.NewMiddleware(sethStore, sethlimiter.IPKeyFunc())
	if err != nil {
		b.Fatal(err)
	}

	e := echo.New()
	e.Use(echomw.RateLimiter(echomw.NewRateLimiterMemoryStoreWithConfig(
		echomw.RateLimiterMemoryStoreConfig{Rate: rate.Limit(limit), Burst: 1 << 30})))
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	eBase := echo.New()
	eBase.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	return []contender{
		{"baseline", okHandler},
		{"gatehouse", gh.Handler(okHandler)},
		{"gatehouse-headers", ghHeaders.Handler(okHandler)},
		{"ulule", ulule.Handler(okHandler)},
		{"sethvargo", seth.Handle(okHandler)},
		{"httprate", httprate.LimitBy(limit, time.Second, keyByPeer)(okHandler)},
		{"echo-baseline", eBase},
		{"echo", e},
	}
}

// redisContender is the gatehouse middleware on the Redis limiter at
// GATEHOUSE_TEST_REDIS; it skips without one.
func redisContender(b *testing.B) http.Handler {
	b.Helper()
	rdb, prefix := benchRedis(b)
	l, err := redisrate.New(rdb, redisrate.Config{Prefix: prefix, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return ratelimit.MustNew(l, benchPolicy, ratelimit.ByRemoteAddr, ratelimit.Config{}).Handler(okHandler)
}

func rateLimitRequest() *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.7:51000"
	return r
}

// BenchmarkRateLimit is one allowed request on a warm key through each
// contender, serially.
func BenchmarkRateLimit(b *testing.B) {
	for _, c := range rateLimitContenders(b) {
		b.Run(c.name, func(b *testing.B) {
			serve(b, c.h, rateLimitRequest(), http.StatusNoContent)
		})
	}
	b.Run("redis/gatehouse", func(b *testing.B) {
		serve(b, redisContender(b), rateLimitRequest(), http.StatusNoContent)
	})
}

// BenchmarkRateLimitParallel is the same on every core, each goroutine
// a client of its own (its own warm key), as concurrent clients are.
func BenchmarkRateLimitParallel(b *testing.B) {
	for _, c := range rateLimitContenders(b) {
		b.Run(c.name, func(b *testing.B) { serveParallelClients(b, c.h) })
	}
	b.Run("redis/gatehouse", func(b *testing.B) { serveParallelClients(b, redisContender(b)) })
}

// serveParallelClients runs h from every core, each goroutine with its
// own client address, warmed before the timer starts.
func serveParallelClients(b *testing.B, h http.Handler) {
	b.Helper()
	var next atomic.Int32
	w := newNopWriter()
	h.ServeHTTP(w, rateLimitRequest())
	if w.code != http.StatusNoContent {
		b.Fatalf("status %d, want %d", w.code, http.StatusNoContent)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rateLimitRequest()
		r.RemoteAddr = "198.51.100." + strconv.Itoa(int(next.Add(1))%250+1) + ":51000"
		w := newNopWriter()
		h.ServeHTTP(w, r)
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
		if w.code != http.StatusNoContent {
			b.Errorf("status %d, want %d", w.code, http.StatusNoContent)
		}
	})
}

// keyByPeer keys httprate by the connection's address, as the other
// contenders do (httprate's own KeyByIP is deprecated).
func keyByPeer(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr, nil
	}
	return host, nil
}
