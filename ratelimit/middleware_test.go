package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

// statusHandler answers with the status in the X-Status request header
// (204 without one).
var statusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	code := http.StatusNoContent
	if s := r.Header.Get("X-Status"); s != "" {
		code, _ = strconv.Atoi(s)
	}
	w.WriteHeader(code)
})

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func fromIP(ip string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = ip + ":1234"
	return r
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func decodeProblem(t *testing.T, w *httptest.ResponseRecorder) problemBody {
	t.Helper()
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p problemBody
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	assert.Equal(t, w.Code, p.Status, "status member equals the HTTP status")
	return p
}

func TestMiddlewareLimitsAndRefuses(t *testing.T) {
	mem, clk := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("per-ip", 3, 30*time.Second, 0)
	m := MustNew(mem, p, ByRemoteAddr, Config{MaxJitter: -1})
	h := m.Handler(statusHandler)

	for i := range 3 {
		w := do(h, fromIP("203.0.113.7"))
		require.Equal(t, http.StatusNoContent, w.Code, "request %d", i)
		assert.Empty(t, w.Header().Get("RateLimit"), "no headers on allowed responses by default")
	}
	w := do(h, fromIP("203.0.113.7"))
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "10", w.Header().Get("Retry-After"))
	assert.Equal(t, `"per-ip";q=3;w=30`, w.Header().Get("RateLimit-Policy"))
	assert.Equal(t, `"per-ip";r=0;t=10`, w.Header().Get("RateLimit"))
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	pb := decodeProblem(t, w)
	assert.Equal(t, problemBody{Type: "about:blank", Title: "Too Many Requests", Status: 429,
		Detail: "Too many requests: retry after 10 seconds", Code: "rate_limited"}, pb)

	assert.Equal(t, http.StatusNoContent, do(h, fromIP("203.0.113.8")).Code, "another address has its own bucket")

	clk.Advance(10 * time.Second)
	assert.Equal(t, http.StatusNoContent, do(h, fromIP("203.0.113.7")).Code, "a unit refilled")
	assert.Equal(t, http.StatusTooManyRequests, do(h, fromIP("203.0.113.7")).Code)
}

func TestMiddlewareRetryAfterJitter(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 1, 10*time.Second, 0)
	m := MustNew(mem, p, ByRemoteAddr, Config{MaxJitter: 5 * time.Second})
	h := m.Handler(statusHandler)
	require.Equal(t, http.StatusNoContent, do(h, fromIP("203.0.113.7")).Code)
	seen := map[string]bool{}
	for range 200 {
		w := do(h, fromIP("203.0.113.7"))
		require.Equal(t, http.StatusTooManyRequests, w.Code)
		ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, ra, 10, "never earlier than the RateLimit t")
		assert.LessOrEqual(t, ra, 15)
		assert.Equal(t, `"p";r=0;t=10`, w.Header().Get("RateLimit"))
		seen[w.Header().Get("Retry-After")] = true
	}
	assert.Greater(t, len(seen), 2, "Retry-After varies")
}

func TestMiddlewareHeadersOnAllowedWithPartitionKey(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("per-key", 10, time.Minute, 0)
	m := MustNew(mem, p, ByKeyID, Config{HeadersOnAllowed: true, PartitionKeySecret: []byte("s3cret-s3cret-s3cret")})
	h := m.Handler(statusHandler)
	r := withPrincipal(httptest.NewRequest("GET", "/", nil), &gatehouse.Principal{ID: "u1", KeyID: "key_1"})

	w := do(h, r)
	require.Equal(t, http.StatusNoContent, w.Code)
	pol, rl := w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit")
	assert.Regexp(t, `^"per-key";q=10;w=60;pk=:[A-Za-z0-9+/]{22}==:$`, pol)
	assert.Regexp(t, `^"per-key";r=9;t=6;pk=:[A-Za-z0-9+/]{22}==:$`, rl)
	assert.Equal(t, pol[len(pol)-27:], rl[len(rl)-27:], "one pk in both")
	assert.NotContains(t, pol+rl, "key_1")
	assert.NotContains(t, pol+rl, "u1")

	r2 := withPrincipal(httptest.NewRequest("GET", "/", nil), &gatehouse.Principal{ID: "u1", KeyID: "key_2"})
	w2 := do(h, r2)
	assert.NotEqual(t, rl[len(rl)-27:], w2.Header().Get("RateLimit")[len(rl)-27:], "another key, another pk")
}

func TestMiddlewareCost(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 5, time.Minute, 0)
	cost := func(r *http.Request) int {
		n, _ := strconv.Atoi(r.Header.Get("X-Cost"))
		return n
	}
	h := MustNew(mem, p, ByRemoteAddr, Config{Cost: cost, MaxJitter: -1}).Handler(statusHandler)
	withCost := func(n string) *http.Request {
		r := fromIP("203.0.113.7")
		r.Header.Set("X-Cost", n)
		return r
	}
	assert.Equal(t, http.StatusNoContent, do(h, withCost("3")).Code)
	assert.Equal(t, http.StatusTooManyRequests, do(h, withCost("3")).Code, "3 of the 2 left")
	assert.Equal(t, http.StatusNoContent, do(h, withCost("0")).Code, "a cost below 1 counts as 1")
	assert.Equal(t, http.StatusNoContent, do(h, withCost("-7")).Code, "a negative cost is no refund")
	assert.Equal(t, http.StatusTooManyRequests, do(h, withCost("1")).Code)

	w := do(h, fromIP("203.0.113.9"))
	require.Equal(t, http.StatusNoContent, w.Code)
	w = do(h, withCostFrom("203.0.113.10", "6"))
	require.Equal(t, http.StatusTooManyRequests, w.Code, "a cost above the burst is never allowed")
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
	assert.Equal(t, detailTooCostly, decodeProblem(t, w).Detail)
}

func withCostFrom(ip, n string) *http.Request {
	r := fromIP(ip)
	r.Header.Set("X-Cost", n)
	return r
}

// failingLimiter is a Limiter whose backend is down.
type failingLimiter struct{ err error }

func (f failingLimiter) Allow(context.Context, Key, *Policy, int) (Decision, error) {
	return Decision{}, f.err
}
func (f failingLimiter) Reset(context.Context, Key, *Policy) error { return f.err }

func TestMiddlewareFailsClosed(t *testing.T) {
	p := MustPolicy("p", 5, time.Minute, 0)
	secret := errors.New("dial tcp 10.1.2.3:6379: connection refused")
	tests := []struct {
		name string
		l    Limiter
		key  KeyFunc
		req  *http.Request
		want int
	}{
		{"limiter error", failingLimiter{secret}, ByRemoteAddr, fromIP("203.0.113.7"), 503},
		{"limiter unavailable", failingLimiter{gatehouse.Unavailable(secret)}, ByRemoteAddr, fromIP("203.0.113.7"), 503},
		{"peer not an address", failingLimiter{nil}, ByRemoteAddr, fromIP("@"), 503},
		{"route without a pattern", failingLimiter{nil}, ByRoute, fromIP("203.0.113.7"), 503},
		{"no principal", failingLimiter{nil}, ByPrincipal, fromIP("203.0.113.7"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := false
			h := MustNew(tt.l, p, tt.key, Config{}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true }))
			w := do(h, tt.req)
			assert.False(t, served, "never a pass")
			require.Equal(t, tt.want, w.Code)
			body := w.Body.String()
			pb := decodeProblem(t, w)
			assert.NotContains(t, body, "10.1.2.3")
			assert.NotContains(t, body, "ratelimit:")
			if tt.want == 401 {
				assert.Equal(t, "unauthenticated", pb.Code)
				assert.Equal(t, `Bearer realm="api"`, w.Header().Get("WWW-Authenticate"))
			} else {
				assert.Equal(t, "unavailable", pb.Code)
			}
		})
	}
	_, err := MustNew(failingLimiter{secret}, p, ByRemoteAddr, Config{}).Check(fromIP("203.0.113.7"))
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.ErrorIs(t, err, secret, "the cause is kept for logs")
}

func TestMiddlewareCustomErrorHandler(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 1, time.Minute, 0)
	var got error
	h := MustNew(mem, p, ByRemoteAddr, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(418)
	}}).Handler(statusHandler)
	do(h, fromIP("203.0.113.7"))
	w := do(h, fromIP("203.0.113.7"))
	assert.Equal(t, 418, w.Code)
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, got, &rl)
	assert.GreaterOrEqual(t, rl.RetryAfter, time.Minute)
	assert.Less(t, rl.RetryAfter, time.Minute+time.Second, "default jitter is at most 1s")
	assert.NotEmpty(t, w.Header().Get("RateLimit"), "the headers are set before the handler runs")
}

func TestMiddlewarePerPrincipalPolicy(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	def := MustPolicy("per-key", 3, time.Minute, 0)
	h := MustNew(mem, def, ByKeyID, Config{
		Policy:           MetadataPolicy(MetadataConfig{Logger: logger}),
		HeadersOnAllowed: true,
		MaxJitter:        -1,
	}).Handler(statusHandler)

	tests := []struct {
		name     string
		p        *gatehouse.Principal
		want     int
		wantPol  string
		wantLogs int
	}{
		{"no metadata: the default", &gatehouse.Principal{ID: "u", KeyID: "k1"}, 3, `"per-key";q=3;w=60`, 0},
		{"its own limit", &gatehouse.Principal{ID: "u", KeyID: "k2", Metadata: map[string]string{"rate_limit": "5/1m"}}, 5, `"per-key";q=5;w=60`, 0},
		{"its own burst", &gatehouse.Principal{ID: "u", KeyID: "k3", Metadata: map[string]string{"rate_limit": "100/1h;burst=2"}}, 2, `"per-key";q=100;w=3600;gatehouse-burst=2`, 0},
		{"a typo: the default, logged once", &gatehouse.Principal{ID: "u", KeyID: "k4", Metadata: map[string]string{"rate_limit": "lots"}}, 3, `"per-key";q=3;w=60`, 1},
		{"the same typo is not logged again", &gatehouse.Principal{ID: "u", KeyID: "k5", Metadata: map[string]string{"rate_limit": "lots"}}, 3, `"per-key";q=3;w=60`, 1},
		{"other metadata", &gatehouse.Principal{ID: "u", KeyID: "k6", Metadata: map[string]string{"team": "x"}}, 3, `"per-key";q=3;w=60`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withPrincipal(httptest.NewRequest("GET", "/", nil), tt.p)
			for i := range tt.want {
				w := do(h, r)
				require.Equal(t, http.StatusNoContent, w.Code, "request %d", i)
				assert.Equal(t, tt.wantPol, w.Header().Get("RateLimit-Policy"))
			}
			assert.Equal(t, http.StatusTooManyRequests, do(h, r).Code)
			assert.Equal(t, tt.wantLogs, bytes.Count(logs.Bytes(), []byte("does not parse")))
		})
	}
	assert.NotContains(t, logs.String(), "lots", "the entry's text is not logged")

	// Without a principal, MetadataPolicy gives the default.
	hIP := MustNew(mem, def, ByRemoteAddr, Config{Policy: MetadataPolicy(MetadataConfig{})}).Handler(statusHandler)
	for range 3 {
		require.Equal(t, http.StatusNoContent, do(hIP, fromIP("203.0.113.7")).Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, do(hIP, fromIP("203.0.113.7")).Code)
}

func TestMetadataPolicyCacheBound(t *testing.T) {
	def := MustPolicy("d", 1, time.Minute, 0)
	f := MetadataPolicy(MetadataConfig{Key: "rl", MaxCached: 2, Logger: slog.New(slog.DiscardHandler)})
	req := func(v string) *http.Request {
		return withPrincipal(httptest.NewRequest("GET", "/", nil), &gatehouse.Principal{ID: "u", Metadata: map[string]string{"rl": v}})
	}
	a := f(req("10/1m"), def)
	require.NotNil(t, a)
	assert.Same(t, a, f(req("10/1m"), def), "cached")
	assert.Equal(t, "d", a.Name(), "the middleware's policy name")
	b := f(req("20/1m"), def)
	c := f(req("30/1m"), def)
	require.NotNil(t, b)
	require.NotNil(t, c)
	assert.NotSame(t, c, f(req("30/1m"), def), "past the bound, parsed every time")
	assert.Equal(t, 30, c.Limit())
	assert.Nil(t, f(req("nope"), def))
	assert.Nil(t, f(req("10/1m"), nil))
	assert.Nil(t, f(httptest.NewRequest("GET", "/", nil), def))

	r := req("10/1m")
	allocs := testing.AllocsPerRun(100, func() { f(r, def) })
	assert.Zero(t, allocs, "a cached entry does not allocate")
}

func TestMiddlewareCountFailures(t *testing.T) {
	for _, mode := range []Counting{CountFailures, CountFailuresStrict} {
		t.Run(map[Counting]string{CountFailures: "lenient", CountFailuresStrict: "strict"}[mode], func(t *testing.T) {
			mem, clk := newTestMemory(t, MemoryConfig{})
			p := MustPolicy("auth-failures", 3, 30*time.Second, 0)
			h := MustNew(mem, p, ByRemoteAddr, Config{Count: mode, MaxJitter: -1}).Handler(statusHandler)
			req := func(status string) *http.Request {
				r := fromIP("203.0.113.7")
				r.Header.Set("X-Status", status)
				return r
			}
			for range 20 {
				require.Equal(t, http.StatusOK, do(h, req("200")).Code, "successes never count")
				require.Equal(t, http.StatusNotFound, do(h, req("404")).Code, "neither does a 404")
			}
			for i := range 3 {
				require.Equal(t, http.StatusUnauthorized, do(h, req("401")).Code, "failure %d", i)
			}
			w := do(h, req("200"))
			assert.Equal(t, http.StatusTooManyRequests, w.Code, "blocked after 3 failures, even with good credentials")
			assert.Equal(t, "10", w.Header().Get("Retry-After"))

			clk.Advance(10 * time.Second)
			assert.Equal(t, http.StatusForbidden, do(h, req("403")).Code, "one attempt after one interval")
			assert.Equal(t, http.StatusTooManyRequests, do(h, req("200")).Code, "and it was counted")

			assert.Equal(t, http.StatusUnauthorized, do(h, func() *http.Request { r := req("401"); r.RemoteAddr = "203.0.113.8:1"; return r }()).Code,
				"other addresses are not affected")
		})
	}
}

func TestMiddlewareCountFailuresCustom(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 1, time.Minute, 0)
	h := MustNew(mem, p, ByRemoteAddr, Config{Count: CountFailures, IsFailure: func(s int) bool { return s >= 500 }}).
		Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("implicit 200")) // no WriteHeader: a 200
		}))
	for range 5 {
		assert.Equal(t, http.StatusOK, do(h, fromIP("203.0.113.7")).Code)
	}
}

// TestMiddlewareStrictNeverOvershoots sends more concurrent failing requests
// than the burst: the strict mode lets only the burst reach the handler.
func TestMiddlewareStrictNeverOvershoots(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("login", 3, time.Hour, 0)
	release := make(chan struct{})
	var mu sync.Mutex
	entered := 0
	h := MustNew(mem, p, ByRemoteAddr, Config{Count: CountFailuresStrict}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		entered++
		mu.Unlock()
		<-release
		w.WriteHeader(http.StatusUnauthorized)
	}))
	const n = 10
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- do(h, fromIP("203.0.113.7")).Code
		}()
	}
	// The refused requests finish without the handler; count them.
	refused := 0
	for refused < n-3 {
		c := <-codes
		require.Equal(t, http.StatusTooManyRequests, c)
		refused++
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		assert.Equal(t, http.StatusUnauthorized, c)
	}
	assert.Equal(t, 3, entered)
}

func TestMiddlewareCheck(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 2, time.Minute, 0)
	m := MustNew(mem, p, ByRemoteAddr, Config{MaxJitter: -1})
	d, err := m.Check(fromIP("203.0.113.7"))
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 1, d.Remaining)
	_, _ = m.Check(fromIP("203.0.113.7"))
	d, err = m.Check(fromIP("203.0.113.7"))
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.ErrorIs(t, err, gatehouse.ErrRateLimited)
	assert.Equal(t, 30*time.Second, rl.RetryAfter)
	assert.False(t, d.Allowed)
}

func TestNewMiddlewareErrors(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 2, time.Minute, 0)
	tests := []struct {
		name string
		l    Limiter
		p    *Policy
		key  KeyFunc
		cfg  Config
	}{
		{"nil limiter", nil, p, ByRemoteAddr, Config{}},
		{"nil policy", mem, nil, ByRemoteAddr, Config{}},
		{"zero policy", mem, &Policy{}, ByRemoteAddr, Config{}},
		{"nil key", mem, p, nil, Config{}},
		{"unknown counting", mem, p, ByRemoteAddr, Config{Count: 9}},
		{"short partition key secret", mem, p, ByRemoteAddr, Config{PartitionKeySecret: []byte("15 bytes secret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.l, tt.p, tt.key, tt.cfg)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Panics(t, func() { MustNew(tt.l, tt.p, tt.key, tt.cfg) })
		})
	}
}

func TestStatusWriterPassesFlush(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 2, time.Minute, 0)
	h := MustNew(mem, p, ByRemoteAddr, Config{Count: CountFailures}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, http.NewResponseController(w).Flush())
		w.(http.Flusher).Flush()
	}))
	w := do(h, fromIP("203.0.113.7"))
	assert.True(t, w.Flushed)
	assert.Equal(t, http.StatusOK, w.Code)
}

// nopWriter discards the response without allocating.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

func TestMiddlewareWarmKeyDoesNotAllocate(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 1_000_000, time.Second, 0)
	ip := MustClientIP(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	principal := &gatehouse.Principal{ID: "u", KeyID: "k", Metadata: map[string]string{"rate_limit": "100000/1s"}}
	tests := []struct {
		name string
		key  KeyFunc
		cfg  Config
		r    *http.Request
	}{
		{"by address", ByRemoteAddr, Config{}, fromIP("203.0.113.7")},
		{"through a proxy", ip.Key, Config{}, func() *http.Request {
			r := fromIP("10.0.0.1")
			r.Header.Set("X-Forwarded-For", "203.0.113.7")
			return r
		}()},
		{"by key with its own policy", ByKeyID, Config{Policy: MetadataPolicy(MetadataConfig{})},
			withPrincipal(httptest.NewRequest("GET", "/", nil), principal)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustNew(mem, p, tt.key, tt.cfg).Handler(statusHandler)
			w := &nopWriter{h: http.Header{}}
			h.ServeHTTP(w, tt.r)
			require.Equal(t, http.StatusNoContent, w.code)
			allocs := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, tt.r) })
			assert.Zero(t, allocs)
			assert.Equal(t, http.StatusNoContent, w.code)
		})
	}
}

// TestMiddlewareCountFailuresWithCost checks that failures count when the
// cost is above what is left: the rest is spent, and the key is blocked.
func TestMiddlewareCountFailuresWithCost(t *testing.T) {
	mem, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("auth-failures", 5, time.Hour, 0)
	h := MustNew(mem, p, ByRemoteAddr, Config{Count: CountFailures, MaxJitter: -1,
		Cost: func(*http.Request) int { return 3 }}).Handler(statusHandler)
	codes := make([]int, 0, 4)
	for range 4 {
		r := fromIP("203.0.113.7")
		r.Header.Set("X-Status", "401")
		codes = append(codes, do(h, r).Code)
	}
	assert.Equal(t, []int{401, 401, 429, 429}, codes, "3 units, then the 2 left, then blocked")
}
