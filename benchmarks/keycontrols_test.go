package benchmarks

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
	"github.com/gatehouse-go/gatehouse/store"
)

// keyControlsSetup issues, in one cached store, a key without controls
// ("plain", what BenchmarkAPIKey's gatehouse-scoped measures), one with
// allowed networks (the client in the third of three) and one with credits
// (never exhausted), and returns the authenticator and the memory store.
func keyControlsSetup(b *testing.B) (*apikey.Authenticator, *store.Memory, map[string]string) {
	b.Helper()
	ctx := context.Background()
	mem := store.NewMemory()
	cache, err := store.NewKeyCache(mem, store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	format := apikey.MustFormat("cpx_live.")
	auth, err := apikey.NewAuthenticator(format, cache, apikey.Config{})
	if err != nil {
		b.Fatal(err)
	}
	issue := func(p apikey.Params) string {
		p.Name, p.OwnerID, p.Scopes = "bench", "u1", []string{"read"}
		key, _, err := apikey.Issue(ctx, cache, format, nil, p)
		if err != nil {
			b.Fatal(err)
		}
		return key
	}
	keys := map[string]string{
		"plain": issue(apikey.Params{}),
		"cidrs": issue(apikey.Params{AllowedNetworks: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("203.0.113.0/24")}}),
		"credits": issue(apikey.Params{Credits: &gatehouse.Credits{Remaining: math.MaxInt64 / 2}}),
	}
	return auth, mem, keys
}

// redisCredits is a Redis credits spender at GATEHOUSE_TEST_REDIS; it
// skips without one.
func redisCredits(b *testing.B) store.CreditSpender {
	b.Helper()
	rdb, prefix := benchRedis(b)
	s, err := redisrate.NewCredits(rdb, redisrate.CreditsConfig{Prefix: prefix, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkKeyControls is a cached API key through the middleware and a
// scope guard, serially: without controls, with allowed networks, and with
// a credit spent per request in memory and in Redis (skipped without
// GATEHOUSE_TEST_REDIS).
func BenchmarkKeyControls(b *testing.B) {
	auth, mem, keys := keyControlsSetup(b)
	rows := []struct {
		name, key string
		spender   func(b *testing.B) store.CreditSpender
	}{
		{"plain", "plain", nil},
		{"cidrs", "cidrs", nil},
		{"credits-memory", "credits", func(*testing.B) store.CreditSpender { return mem }},
		{"credits-redis", "credits", redisCredits},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			var sp store.CreditSpender = mem
			if row.spender != nil {
				sp = row.spender(b)
			}
			m, err := middleware.New(middleware.Config{Credits: sp}, auth)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "203.0.113.7:51000"
			r.Header.Set("Authorization", "Bearer "+keys[row.key])
			serve(b, m.Handler(m.MustRequireScopes("read")(okHandler)), r, http.StatusNoContent)
		})
	}
}
