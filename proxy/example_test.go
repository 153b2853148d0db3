package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/store"
)

// Put an existing service behind API keys: the upstream learns who called
// from the X-Gatehouse- headers and never sees the key.
func Example() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s (scopes %q, key header %q)", r.Header.Get(proxy.HeaderPrincipal),
			r.Header.Get(proxy.HeaderScopes), r.Header.Get("Authorization"))
	}))
	defer upstream.Close()

	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	format := apikey.MustFormat("cpx_live.")
	auth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
	m, _ := middleware.New(middleware.Config{}, auth)
	key, _, _ := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "CI", OwnerID: "user_1", Scopes: []string{"read"}})

	u, _ := url.Parse(upstream.URL)
	h, _ := proxy.New(m, u, proxy.Config{Routes: []proxy.Route{
		{Prefix: "/reports/", Scopes: []string{"read"}},
		{Prefix: "/admin/", Scopes: []string{"admin"}},
	}})
	front := httptest.NewServer(h)
	defer front.Close()

	for _, path := range []string{"/reports/q3", "/admin/users"} {
		req, _ := http.NewRequest("GET", front.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, _ := http.DefaultClient.Do(req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 hello user_1 (scopes "read", key header "")
	// 403 {"type":"about:blank","title":"Forbidden","status":403,"detail":"The credential lacks a required scope: admin","code":"insufficient_scope"}
}
