package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/store"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func from(addr string, xff ...string) func(r *http.Request) {
	return func(r *http.Request) {
		r.RemoteAddr = addr
		if len(xff) > 0 {
			r.Header["X-Forwarded-For"] = xff
		}
	}
}

func TestAllowedNetworks(t *testing.T) {
	proxies := ratelimit.MustClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"127.0.0.1/32"}})
	tests := []struct {
		name     string
		nets     []string
		addr     func(*http.Request) (netip.Addr, bool) // nil: the default (the peer)
		from     func(r *http.Request)
		want     int
		handlers int // how many times the handler ran
	}{
		{"inside an IPv4 network", []string{"10.0.0.0/8"}, nil, from("10.1.2.3:4000"), 200, 1},
		{"outside", []string{"10.0.0.0/8"}, nil, from("192.0.2.1:4000"), 403, 0},
		{"one of several", []string{"192.0.2.0/24", "10.0.0.0/8"}, nil, from("10.9.9.9:1"), 200, 1},
		{"a single address", []string{"192.0.2.7/32"}, nil, from("192.0.2.7:1"), 200, 1},
		{"next to a single address", []string{"192.0.2.7/32"}, nil, from("192.0.2.8:1"), 403, 0},
		{"IPv6 inside", []string{"2001:db8::/32"}, nil, from("[2001:db8::1]:443"), 200, 1},
		{"IPv6 outside", []string{"2001:db8::/32"}, nil, from("[2001:db9::1]:443"), 403, 0},
		{"IPv6 with a zone", []string{"fe80::/10"}, nil, from("[fe80::1%eth0]:443"), 200, 1},
		{"IPv4-mapped peer", []string{"10.0.0.0/8"}, nil, from("[::ffff:10.1.2.3]:443"), 200, 1},
		{"peer not an address", []string{"10.0.0.0/8"}, nil, from("@unix"), 403, 0},
		{"forwarded header ignored by default", []string{"10.0.0.0/8"}, nil, from("192.0.2.1:1", "10.1.1.1"), 403, 0},
		{"no networks: any address", nil, nil, from("192.0.2.1:1"), 200, 1},
		{"trusted proxy forwards an allowed client", []string{"10.0.0.0/8"}, proxies.Addr, from("127.0.0.1:1", "10.1.1.1"), 200, 1},
		{"trusted proxy forwards a refused client", []string{"10.0.0.0/8"}, proxies.Addr, from("127.0.0.1:1", "192.0.2.1"), 403, 0},
		{"untrusted peer's header not believed", []string{"10.0.0.0/8"}, proxies.Addr, from("192.0.2.1:1", "10.1.1.1"), 403, 0},
		{"the leftmost entry not believed", []string{"10.0.0.0/8"}, proxies.Addr, from("127.0.0.1:1", "10.1.1.1, 192.0.2.1"), 403, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, withConfig(middleware.Config{ClientAddr: tc.addr}))
			key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}, AllowedNetworks: prefixes(tc.nets...)})
			served := 0
			h := f.mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
			for range 2 { // a miss, then a cached hit
				w := get(h, both(bearer(key), tc.from))
				if tc.want == 200 {
					require.Equal(t, 200, w.Code, w.Body.String())
					continue
				}
				p := requireProblem(t, w, 403, "forbidden")
				assert.Equal(t, middleware.DetailNetwork, p.Detail)
				assert.Empty(t, w.Header().Get("WWW-Authenticate"))
			}
			assert.Equal(t, 2*tc.handlers, served)
			assert.Equal(t, int64(1), f.probe.calls.Load(), "the second request is a cached hit")

			// Check, the pure half, refuses too, with the reason for the
			// audit log.
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			both(bearer(key), tc.from)(r)
			_, err := f.mw.Check(r)
			if tc.want == 200 {
				assert.NoError(t, err)
				return
			}
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrForbidden)
			assert.Equal(t, gatehouse.ReasonNetwork, ge.Reason)
			assert.NotEmpty(t, ge.KeyID)
		})
	}
}

// TestAllowedNetworksCustomPrincipal: a custom principal builder cannot
// drop a key's networks.
func TestAllowedNetworksCustomPrincipal(t *testing.T) {
	mem := store.NewMemory()
	a, err := apikey.NewAuthenticator(testFormat, mem, apikey.Config{
		Principal: func(k *store.Key) *gatehouse.Principal {
			return &gatehouse.Principal{ID: k.ID, Kind: gatehouse.KindAPIKey}
		},
	})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, a)
	require.NoError(t, err)
	key, _, err := apikey.Issue(context.Background(), mem, testFormat, nil, apikey.Params{Name: "k", AllowedNetworks: prefixes("10.0.0.0/8")})
	require.NoError(t, err)
	w := get(m.Handler(echo), both(bearer(key), from("192.0.2.1:1")))
	requireProblem(t, w, 403, "forbidden")
}

// failingSpender fails every spend.
type failingSpender struct{}

func (failingSpender) SpendCredit(context.Context, string, *gatehouse.Credits, time.Time) (int64, error) {
	return 0, errors.New("redis: connection refused")
}

func TestCredits(t *testing.T) {
	f := newFixture(t)
	mw, err := middleware.New(middleware.Config{Credits: f.mem, Now: f.clock.Now}, f.keys)
	require.NoError(t, err)
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"},
		Credits: &gatehouse.Credits{Remaining: 3, Refill: 3, Interval: gatehouse.CreditsDaily}})
	served := 0
	h := mw.Handler(mw.MustRequireScopes("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })))
	for want := 2; want >= 0; want-- {
		w := get(h, bearer(key))
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Equal(t, strconv.Itoa(want), w.Header().Get(middleware.HeaderCreditsRemaining))
	}
	w := get(h, bearer(key))
	p := requireProblem(t, w, 429, "credits_exhausted")
	next := time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC) // the clock starts 2030-01-02 03:04:05
	assert.Equal(t, "This API key has no credits left; they refill at 2030-01-03T00:00:00Z", p.Detail)
	assert.Equal(t, strconv.Itoa(int(next.Sub(f.clock.Now())/time.Second)), w.Header().Get("Retry-After"))
	assert.Equal(t, "0", w.Header().Get(middleware.HeaderCreditsRemaining))
	assert.Equal(t, 3, served)

	f.clock.Set(next)
	w = get(h, bearer(key))
	require.Equal(t, 200, w.Code, "refilled at midnight UTC")
	assert.Equal(t, "2", w.Header().Get(middleware.HeaderCreditsRemaining))

	// A key without credits gets no header.
	plain, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	w = get(h, bearer(plain))
	require.Equal(t, 200, w.Code)
	assert.Empty(t, w.Header().Values(middleware.HeaderCreditsRemaining))

	// Without a refill the refusal says so and sends no Retry-After.
	once, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}, Credits: &gatehouse.Credits{Remaining: 0}})
	w = get(h, bearer(once))
	p = requireProblem(t, w, 429, "credits_exhausted")
	assert.Equal(t, "This API key has no credits left", p.Detail)
	assert.Empty(t, w.Header().Get("Retry-After"))

	_ = rec
}

// TestCreditsSpentLast: a request refused by a scope guard or by After (a
// per-key rate limit) spends nothing; one the handler serves spends one,
// once, whatever the layout.
func TestCreditsSpentLast(t *testing.T) {
	refuseAll := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.WriteProblem(w, middleware.Problem{Status: 429, Code: "rate_limited"})
		})
	}
	passAll := func(next http.Handler) http.Handler { return next }
	tests := []struct {
		name   string
		after  func(http.Handler) http.Handler
		scope  string // "" no guard
		want   int
		spends int64
	}{
		{"no guard", nil, "", 200, 1},
		{"guard passes", nil, "read", 200, 1},
		{"guard refuses", nil, "write", 403, 0},
		{"After passes, no guard", passAll, "", 200, 1},
		{"After passes, guard passes", passAll, "read", 200, 1},
		{"After passes, guard refuses", passAll, "write", 403, 0},
		{"After refuses", refuseAll, "read", 429, 0},
		{"After refuses, no guard", refuseAll, "", 429, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			mw, err := middleware.New(middleware.Config{Credits: f.mem, Now: f.clock.Now, After: tc.after}, f.keys)
			require.NoError(t, err)
			key, rec := f.issue(t, apikey.Params{Scopes: []string{"read"}, Credits: &gatehouse.Credits{Remaining: 10}})
			var h http.Handler = echo
			if tc.scope != "" {
				h = mw.MustRequireScopes(tc.scope)(h)
			}
			w := get(mw.Handler(h), bearer(key))
			require.Equal(t, tc.want, w.Code, w.Body.String())
			got, err := f.mem.KeyByID(context.Background(), rec.ID)
			require.NoError(t, err)
			assert.Equal(t, 10-tc.spends, got.Credits.Remaining)
		})
	}
}

func TestCreditsFailClosed(t *testing.T) {
	tests := []struct {
		name    string
		spender store.CreditSpender
		delete  bool
		status  int
		code    string
	}{
		{"no spender configured", nil, false, 503, "unavailable"},
		{"backend down", failingSpender{}, false, 503, "unavailable"},
		{"key deleted since it was cached", nil, true, 401, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			sp := tc.spender
			if tc.delete {
				sp = f.mem
			}
			mw, err := middleware.New(middleware.Config{Credits: sp, Now: f.clock.Now}, f.keys)
			require.NoError(t, err)
			key, rec := f.issue(t, apikey.Params{Credits: &gatehouse.Credits{Remaining: 10}})
			// Cache the key, then delete it behind the cache's back.
			_, err = f.keys.Verify(context.Background(), key)
			require.NoError(t, err)
			if tc.delete {
				require.NoError(t, f.mem.DeleteKey(context.Background(), rec.ID))
			}
			served := false
			w := get(mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true })), bearer(key))
			p := requireProblem(t, w, tc.status, tc.code)
			assert.False(t, served)
			assert.NotContains(t, p.Detail, "redis")
			assert.Empty(t, w.Header().Values(middleware.HeaderCreditsRemaining))
		})
	}
}

// TestAuthenticateSpends: the adapters' Authenticate spends too, so that
// an adapter cannot forget to, and sets the remaining count.
func TestAuthenticateSpends(t *testing.T) {
	f := newFixture(t)
	mw, err := middleware.New(middleware.Config{Credits: f.mem, Now: f.clock.Now}, f.keys)
	require.NoError(t, err)
	key, _ := f.issue(t, apikey.Params{Credits: &gatehouse.Credits{Remaining: 1}})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	bearer(key)(r)
	w := httptest.NewRecorder()
	_, err = mw.Authenticate(w, r, false)
	require.NoError(t, err)
	assert.Equal(t, "0", w.Header().Get(middleware.HeaderCreditsRemaining), "as Handler tells the client")
	_, err = mw.Authenticate(httptest.NewRecorder(), r, false)
	assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted)
}
