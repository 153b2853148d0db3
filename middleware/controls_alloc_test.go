package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// TestAllowedNetworksAllocations: checking a cached key's allowed networks
// costs no allocation, with the default client address and behind a
// trusted proxy, whether the request is let through or refused before the
// error handler; a key without networks costs what it did.
func TestAllowedNetworksAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	proxies := ratelimit.MustClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"127.0.0.1/32"}})
	tests := []struct {
		name string
		cfg  middleware.Config
		nets []string
		from func(*http.Request)
	}{
		{"no networks", middleware.Config{}, nil, from("192.0.2.1:1")},
		{"peer allowed", middleware.Config{}, []string{"192.0.2.0/24", "10.0.0.0/8"}, from("10.1.2.3:1")},
		{"IPv6 peer allowed", middleware.Config{}, []string{"2001:db8::/32"}, from("[2001:db8::7]:1")},
		{"forwarded client allowed", middleware.Config{ClientAddr: proxies.Addr}, []string{"10.0.0.0/8"}, from("127.0.0.1:1", "10.1.2.3")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, withConfig(tc.cfg))
			key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}, AllowedNetworks: prefixes(tc.nets...)})
			h := f.mw.Handler(f.mw.MustRequireScopes("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			both(bearer(key), tc.from)(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, http.StatusOK, w.Code)
			allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
			assert.LessOrEqual(t, allocs, 2.0, "allocations per cached request")
			allocs = testing.AllocsPerRun(200, func() {
				if _, err := f.mw.Check(r); err != nil {
					panic(err)
				}
			})
			assert.Zero(t, allocs, "allocations per Check of a cached key")
		})
	}
}

// TestCreditsAllocations bounds what spending a credit in memory adds to a
// cached key: the deadline's context and timer (4), the remaining count's
// header value and slice (2), beside the request's 2.
func TestCreditsAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	f := newFixture(t)
	mw, err := middleware.New(middleware.Config{Credits: f.mem, Now: f.clock.Now}, f.keys)
	require.NoError(t, err)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}, Credits: &gatehouse.Credits{Remaining: 1 << 40}})
	h := mw.Handler(mw.MustRequireScopes("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	bearer(key)(r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	assert.LessOrEqual(t, allocs, 8.0, "allocations per cached request with credits")
	t.Logf("%v allocations per cached request with credits", allocs)
}
