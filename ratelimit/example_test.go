package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// Spend from an in-memory limiter with a clock the example controls.
func ExampleMemory() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	p := ratelimit.MustPolicy("default", 3, time.Minute, 0) // one unit every 20s
	key := ratelimit.NewKey("user", "u_123")
	ctx := context.Background()

	for range 4 {
		d, _ := mem.Allow(ctx, key, p, 1)
		fmt.Printf("allowed=%v remaining=%d retry after %s\n", d.Allowed, d.Remaining, d.RetryAfter)
	}
	now = now.Add(20 * time.Second)
	d, _ := mem.Allow(ctx, key, p, 1)
	fmt.Printf("20s later: allowed=%v remaining=%d\n", d.Allowed, d.Remaining)
	// Output:
	// allowed=true remaining=2 retry after 0s
	// allowed=true remaining=1 retry after 0s
	// allowed=true remaining=0 retry after 0s
	// allowed=false remaining=0 retry after 20s
	// 20s later: allowed=true remaining=0
}

func ExampleParsePolicy() {
	for _, s := range []string{"100/1m", "5/15m;burst=3", "10000/d", "100 per minute"} {
		p, err := ratelimit.ParsePolicy("api", s)
		if err != nil {
			fmt.Println(errors.Is(err, ratelimit.ErrInvalidPolicy), err)
			continue
		}
		fmt.Printf("%s: %d per %s, burst %d, one unit every %s\n", p, p.Limit(), p.Window(), p.Burst(), p.Interval())
	}
	// Output:
	// 100/1m: 100 per 1m0s, burst 100, one unit every 600ms
	// 5/15m;burst=3: 5 per 15m0s, burst 3, one unit every 3m0s
	// 10000/1d: 10000 per 24h0m0s, burst 10000, one unit every 8.64s
	// true ratelimit: invalid policy: want LIMIT/WINDOW, as in 100/1m
}

// Throttle login failures per account, without HTTP: the sessions package
// and any other handler that knows the outcome itself work this way.
func ExampleThrottle() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mem, _ := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return now }})
	th, _ := ratelimit.NewThrottle(mem, ratelimit.MustPolicy("login", 3, 15*time.Minute, 0),
		ratelimit.ThrottleConfig{MaxJitter: -1})
	ctx := context.Background()
	account := ratelimit.NewKey("account", "alice@example.com")

	login := func(passwordOK bool) string {
		// Count the attempt before checking the password, so that
		// concurrent guesses cannot slip past.
		if _, err := th.Reserve(ctx, account); err != nil {
			var rl *gatehouse.RateLimitError
			if errors.As(err, &rl) {
				return fmt.Sprintf("429, retry after %s", rl.RetryAfter)
			}
			return "503"
		}
		if !passwordOK {
			return "401" // the reserved unit stays spent
		}
		_ = th.Succeed(ctx, account) // failures forgotten
		return "200"
	}
	fmt.Println(login(false), login(false), login(true), login(false))
	fmt.Println(login(false), login(false), login(false), login(true))
	// Output:
	// 401 401 200 401
	// 401 401 429, retry after 5m0s 429, retry after 5m0s
}

// Limit requests per client address behind a reverse proxy, with the
// RateLimit headers on every response.
func ExampleMiddleware() {
	mem, _ := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	ip := ratelimit.MustClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	perIP := ratelimit.MustNew(mem, ratelimit.MustPolicy("per-ip", 2, time.Minute, 0), ip.Key,
		ratelimit.Config{HeadersOnAllowed: true, MaxJitter: -1})
	h := perIP.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))

	for _, forwarded := range []string{"203.0.113.7", "1.2.3.4, 203.0.113.7", "203.0.113.7"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:51000" // the proxy
		r.Header.Set("X-Forwarded-For", forwarded)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("RateLimit"))
		if ra := w.Header().Get("Retry-After"); ra != "" {
			fmt.Println("Retry-After:", ra)
		}
	}
	// Output:
	// 200 "per-ip";r=1;t=30
	// 200 "per-ip";r=0;t=60
	// 429 "per-ip";r=0;t=30
	// Retry-After: 30
}

// Limit each API key by the limit its record carries, or by the default.
func ExampleMetadataPolicy() {
	mem, _ := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	perKey := ratelimit.MustNew(mem, ratelimit.MustPolicy("per-key", 100, time.Minute, 0), ratelimit.ByKeyID,
		ratelimit.Config{Policy: ratelimit.MetadataPolicy(ratelimit.MetadataConfig{}), HeadersOnAllowed: true})
	h := perKey.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for _, p := range []*gatehouse.Principal{
		{ID: "u1", KeyID: "key_1"},
		{ID: "u2", KeyID: "key_2", Metadata: map[string]string{ratelimit.MetadataKey: "5000/1h;burst=100"}},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(gatehouse.NewContext(r.Context(), p)) // as the authentication middleware does
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(p.KeyID, w.Header().Get("RateLimit-Policy"))
	}
	// Output:
	// key_1 "per-key";q=100;w=60
	// key_2 "per-key";q=5000;w=3600;gatehouse-burst=100
}
