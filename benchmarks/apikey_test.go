package benchmarks

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// apiKeyContenders returns, for one issued key, a handler per contender that
// verifies it and serves okHandler with the caller attached to the request.
func apiKeyContenders(b *testing.B) (key string, hs []contender) {
	b.Helper()
	ctx := context.Background()
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	format := apikey.MustFormat("cpx_live.")
	key, rec, err := apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "bench", OwnerID: "u1", Scopes: []string{"read"}})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := middleware.New(middleware.Config{}, auth)
	if err != nil {
		b.Fatal(err)
	}
	principal := &gatehouse.Principal{ID: "u1", Kind: gatehouse.KindAPIKey, Scopes: []string{"read"}, KeyID: rec.ID}

	// floor: the least work the job takes: digest, LRU hit, context.WithValue
	// and r.WithContext.
	cache, _ := lru.New[[32]byte, *gatehouse.Principal](1024)
	cache.Add(sha256.Sum256([]byte(key)), principal)
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Authorization")
		var buf [128]byte
		n := copy(buf[:], v[len("Bearer "):])
		p, ok := cache.Get(sha256.Sum256(buf[:n]))
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})

	// echo: KeyAuth with the same SHA-256 and map lookup.
	byDigest := map[[32]byte]*gatehouse.Principal{sha256.Sum256([]byte(key)): principal}
	e := echo.New()
	e.Use(echomw.KeyAuth(func(k string, c echo.Context) (bool, error) {
		p, ok := byDigest[sha256.Sum256([]byte(k))]
		if ok {
			c.Set("principal", p)
		}
		return ok, nil
	}))
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	eBase := echo.New()
	eBase.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	return key, []contender{
		{"baseline", okHandler},
		{"floor", floor},
		{"gatehouse", m.Handler(okHandler)},
		{"gatehouse-scoped", m.Handler(m.MustRequireScopes("read")(okHandler))},
		{"echo-baseline", eBase},
		{"echo", e},
	}
}

type contender struct {
	name string
	h    http.Handler
}

// BenchmarkAPIKey is a cached API key through each contender, serially.
func BenchmarkAPIKey(b *testing.B) {
	key, hs := apiKeyContenders(b)
	for _, c := range hs {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			serve(b, c.h, r, http.StatusNoContent)
		})
	}
}

// BenchmarkAPIKeyParallel is the same on every core.
func BenchmarkAPIKeyParallel(b *testing.B) {
	key, hs := apiKeyContenders(b)
	for _, c := range hs {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			serveParallel(b, c.h, r, http.StatusNoContent)
		})
	}
}
