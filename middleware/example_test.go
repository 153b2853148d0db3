package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// show sends a GET with the given Authorization value (none when empty)
// and prints the status, the challenge and the body.
func show(h http.Handler, authorization string) {
	r := httptest.NewRequest(http.MethodGet, "/projects", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	if c := w.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println("WWW-Authenticate:", c)
	}
	fmt.Println(strings.TrimSpace(w.Body.String()))
}

// Protect a handler with API keys: a store behind a cache, an
// authenticator for the application's key prefix, and the middleware.
func ExampleMiddleware_Handler() {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	format := apikey.MustFormat("cpx_live.")
	keyAuth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Realm: "api"}, keyAuth)
	if err != nil {
		panic(err)
	}
	projects := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		fmt.Fprintf(w, "projects of %s in %s\n", p.ID, p.TenantID)
	})
	h := auth.Handler(projects)

	// Issue a key; the plaintext is shown once, only its digest is stored.
	key, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "CI", OwnerID: "usr_alice", TenantID: "org_7", Scopes: []string{"projects:read"}})
	if err != nil {
		panic(err)
	}

	show(h, "Bearer "+key)
	show(h, "")
	show(h, "Bearer cpx_live.0000000000000000000000000000000000AAAA")
	// Output:
	// 200 text/plain; charset=utf-8
	// projects of usr_alice in org_7
	// 401 application/problem+json
	// WWW-Authenticate: Bearer realm="api"
	// {"type":"about:blank","title":"Unauthorized","status":401,"detail":"Authentication required: send a credential in the Authorization header","code":"unauthenticated"}
	// 401 application/problem+json
	// WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="Invalid or expired API key"
	// {"type":"about:blank","title":"Unauthorized","status":401,"detail":"Invalid or expired API key","code":"invalid_token"}
}

// Require scopes per route: all of them with RequireScopes, any one with
// RequireAnyScope. A key without them gets 403 insufficient_scope, with the
// scopes the route needs in the challenge.
func ExampleMiddleware_RequireScopes() {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	format := apikey.MustFormat("cpx_live.")
	keyAuth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{}, keyAuth)
	if err != nil {
		panic(err)
	}
	write, err := auth.RequireScopes("projects:read", "projects:write")
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "updated") })
	h := auth.Handler(write(ok))

	reader, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "dashboard", Scopes: []string{"projects:read"}})
	if err != nil {
		panic(err)
	}
	admin, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "deployer", Scopes: []string{"projects:*"}})
	if err != nil {
		panic(err)
	}

	show(h, "Bearer "+reader)
	show(h, "Bearer "+admin)
	// Output:
	// 403 application/problem+json
	// WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="projects:read projects:write"
	// {"type":"about:blank","title":"Forbidden","status":403,"detail":"The credential lacks a required scope: projects:read projects:write","code":"insufficient_scope"}
	// 200 text/plain; charset=utf-8
	// updated
}

// Optional authentication: anonymous requests pass without a principal,
// and a bad credential is still refused.
func ExampleMiddleware_Optional() {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	keyAuth, err := apikey.NewAuthenticator(apikey.MustFormat("cpx_live."), keys, apikey.Config{})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{}, keyAuth)
	if err != nil {
		panic(err)
	}
	h := auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := gatehouse.FromContext(r.Context()); ok {
			fmt.Fprintln(w, "signed in as", p.ID)
			return
		}
		fmt.Fprintln(w, "public view")
	}))

	show(h, "")
	show(h, "Bearer not-a-key")
	// Output:
	// 200 text/plain; charset=utf-8
	// public view
	// 401 application/problem+json
	// WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="The credential is not of a kind this service accepts"
	// {"type":"about:blank","title":"Unauthorized","status":401,"detail":"The credential is not of a kind this service accepts","code":"invalid_token"}
}
