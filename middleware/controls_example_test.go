package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// A key that may be used only from 10.0.0.0/8, twice: each request served
// spends a credit, the remaining count is in a header, and the third
// request is refused with 429 credits_exhausted.
func ExampleConfig_credits() {
	mem := store.NewMemory()
	keys, err := store.NewKeyCache(mem, store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	format := apikey.MustFormat("cpx_live.")
	keyAuth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		panic(err)
	}
	// The memory store spends credits; the SQL store and
	// redisrate.Credits do it across instances.
	auth, err := middleware.New(middleware.Config{Credits: mem}, keyAuth)
	if err != nil {
		panic(err)
	}
	h := auth.Handler(auth.MustRequireScopes("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})))
	key, _, err := apikey.Issue(context.Background(), keys, format, nil, apikey.Params{
		Name: "partner", Scopes: []string{"read"},
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Credits:         &gatehouse.Credits{Remaining: 2},
	})
	if err != nil {
		panic(err)
	}
	for _, from := range []string{"10.1.2.3:4000", "192.0.2.1:4000", "10.1.2.3:4000", "10.1.2.3:4000"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = from
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get(middleware.HeaderCreditsRemaining), strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 1 ok
	// 403  {"type":"about:blank","title":"Forbidden","status":403,"detail":"This API key may not be used from this network","code":"forbidden"}
	// 200 0 ok
	// 429 0 {"type":"about:blank","title":"Too Many Requests","status":429,"detail":"This API key has no credits left","code":"credits_exhausted"}
}
