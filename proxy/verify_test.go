package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/store"
)

// flakyKeys is a key store that can be taken down.
type flakyKeys struct {
	store.KeyStore
	down atomic.Bool
}

func (f *flakyKeys) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.KeyStore.KeyByDigest(ctx, d)
}

type verifyFixture struct {
	v                   *proxy.Verifier
	backend             *flakyKeys
	reader, admin, cold string
	afterRan            atomic.Int32
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	f := &verifyFixture{backend: &flakyKeys{KeyStore: store.NewMemory()}}
	keys, err := store.NewKeyCache(f.backend, store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("px_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)
	after := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.afterRan.Add(1)
			next.ServeHTTP(w, r)
		})
	}
	m, err := middleware.New(middleware.Config{Realm: "test", After: after}, auth, cookieAuth{})
	require.NoError(t, err)
	ctx := context.Background()
	f.reader, _, err = apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "r", OwnerID: "usr_r", TenantID: "org_1", Scopes: []string{"read"}})
	require.NoError(t, err)
	f.admin, _, err = apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "a", OwnerID: "usr_a", Scopes: []string{"read", "write", "admin"}})
	require.NoError(t, err)
	f.cold, _, err = apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "c", OwnerID: "usr_c", Scopes: []string{"read"}})
	require.NoError(t, err)
	f.v, err = proxy.NewVerifier(m, proxy.VerifyConfig{Routes: routes, TrustedProxies: []string{"127.0.0.1", "10.0.0.0/8"}})
	require.NoError(t, err)
	return f
}

// verifyReq is a request to the verifier: from peer, for path, with
// headers given as name, value pairs (a name may repeat).
type verifyReq struct {
	peer, method, path string
	headers            []string
}

func (f *verifyFixture) do(t *testing.T, q verifyReq) *httptest.ResponseRecorder {
	t.Helper()
	if q.method == "" {
		q.method = "GET"
	}
	if q.path == "" {
		q.path = proxy.DefaultVerifyPath
	}
	r := httptest.NewRequest(q.method, q.path, nil)
	r.RemoteAddr = q.peer
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:40000"
	}
	for i := 0; i+1 < len(q.headers); i += 2 {
		r.Header.Add(q.headers[i], q.headers[i+1])
	}
	w := httptest.NewRecorder()
	f.v.ServeHTTP(w, r)
	return w
}

func fwd(method, uri string, more ...string) []string {
	return append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}, more...)
}

func bearerFor(key string) []string { return []string{"Authorization", "Bearer " + key} }

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestVerify(t *testing.T) {
	f := newVerifyFixture(t)
	tests := []struct {
		name      string
		req       verifyReq
		want      int
		wantCode  string
		challenge string // a substring of WWW-Authenticate, "-" for none
	}{
		{"no credential", verifyReq{headers: fwd("GET", "/api/projects")}, 401, "unauthenticated", `Bearer realm="test"`},
		{"good key", verifyReq{headers: join(fwd("GET", "/api/projects?page=2"), bearerFor(f.reader))}, 200, "", "-"},
		{"bad key", verifyReq{headers: join(fwd("GET", "/api/projects"), bearerFor(f.reader+"x"))}, 401, "invalid_token", `error="invalid_token"`},
		{"wrong scope for the forwarded method", verifyReq{headers: join(fwd("POST", "/api/projects"), bearerFor(f.reader))}, 403, "insufficient_scope", `scope="write"`},
		{"wrong scope for the forwarded path", verifyReq{headers: join(fwd("GET", "/api/admin/users"), bearerFor(f.reader))}, 403, "insufficient_scope", `scope="admin"`},
		{"the verify request's own method does not count", verifyReq{method: "POST", headers: join(fwd("GET", "/api/projects"), bearerFor(f.reader))}, 200, "", "-"},
		{"a lower-case method meets the upper-case rule", verifyReq{headers: join(fwd("post", "/api/projects"), bearerFor(f.reader))}, 403, "insufficient_scope", `scope="write"`},
		{"admin writes", verifyReq{headers: join(fwd("DELETE", "/api/projects/1"), bearerFor(f.admin))}, 200, "", "-"},
		{"public route, no credential", verifyReq{headers: fwd("GET", "/health")}, 200, "", "-"},
		{"unmatched path needs a principal", verifyReq{headers: fwd("GET", "/other")}, 401, "unauthenticated", "Bearer"},
		{"unmatched path, any key", verifyReq{headers: join(fwd("GET", "/other"), bearerFor(f.reader))}, 200, "", "-"},
		{"IPv4-mapped trusted peer", verifyReq{peer: "[::ffff:10.1.2.3]:5000", headers: join(fwd("GET", "/api/projects"), bearerFor(f.reader))}, 200, "", "-"},

		{"untrusted peer naming a public route", verifyReq{peer: "192.0.2.7:5000", headers: fwd("GET", "/health")}, 400, "invalid_request", "-"},
		{"untrusted peer with a good key", verifyReq{peer: "192.0.2.7:5000", headers: join(fwd("GET", "/api/projects"), bearerFor(f.reader))}, 400, "invalid_request", "-"},
		{"untrusted peer without forwarded headers", verifyReq{peer: "192.0.2.7:5000", headers: bearerFor(f.reader)}, 400, "invalid_request", "-"},
		{"untrusted peer, Envoy form", verifyReq{peer: "192.0.2.7:5000", path: "/api/auth/verify/health"}, 400, "invalid_request", "-"},
		{"peer not an IP address", verifyReq{peer: "@", headers: fwd("GET", "/health")}, 400, "invalid_request", "-"},

		{"no X-Forwarded-Uri", verifyReq{headers: join([]string{"X-Forwarded-Method", "GET"}, bearerFor(f.reader))}, 400, "invalid_request", "-"},
		{"no X-Forwarded-Method", verifyReq{headers: join([]string{"X-Forwarded-Uri", "/api/projects"}, bearerFor(f.reader))}, 400, "invalid_request", "-"},
		{"two X-Forwarded-Uri", verifyReq{headers: fwd("GET", "/health", "X-Forwarded-Uri", "/api/admin/users")}, 400, "invalid_request", "-"},
		{"two X-Forwarded-Host", verifyReq{headers: fwd("GET", "/health", "X-Forwarded-Host", "a", "X-Forwarded-Host", "b")}, 400, "invalid_request", "-"},
		{"absolute URI", verifyReq{headers: fwd("GET", "http://example.com/health")}, 400, "invalid_request", "-"},
		{"method not a token", verifyReq{headers: fwd("G T", "/health")}, 400, "invalid_request", "-"},
		{"bad escape", verifyReq{headers: fwd("GET", "/health/%zz")}, 400, "invalid_request", "-"},

		{"dot-dot from a public prefix", verifyReq{headers: fwd("GET", "/health/../api/admin/users")}, 400, "invalid_request", "-"},
		{"encoded dot-dot", verifyReq{headers: fwd("GET", "/health/%2e%2e/api/admin/users")}, 400, "invalid_request", "-"},
		{"encoded slashes and dots", verifyReq{headers: fwd("GET", "/health%2F..%2Fapi/admin/users")}, 400, "invalid_request", "-"},
		{"double slash", verifyReq{headers: join(fwd("GET", "//api/admin/users"), bearerFor(f.reader))}, 400, "invalid_request", "-"},
		{"dot segment", verifyReq{headers: join(fwd("GET", "/api/./admin/users"), bearerFor(f.reader))}, 400, "invalid_request", "-"},
		{"dots in the query are not the path", verifyReq{headers: fwd("GET", "/health?next=/../admin")}, 200, "", "-"},

		{"Envoy form, good key", verifyReq{path: "/api/auth/verify/api/projects?x=1", headers: bearerFor(f.reader)}, 200, "", "-"},
		{"Envoy form, wrong scope for the method", verifyReq{method: "POST", path: "/api/auth/verify/api/projects", headers: bearerFor(f.reader)}, 403, "insufficient_scope", `scope="write"`},
		{"Envoy form ignores forwarded headers", verifyReq{path: "/api/auth/verify/api/admin/x", headers: join(fwd("GET", "/health"), bearerFor(f.reader))}, 403, "insufficient_scope", `scope="admin"`},
		{"Envoy form, public route", verifyReq{path: "/api/auth/verify/health"}, 200, "", "-"},
		{"Envoy form, double slash", verifyReq{path: "/api/auth/verify//api/admin/users", headers: bearerFor(f.reader)}, 400, "invalid_request", "-"},
		{"Envoy form, encoded dot-dot", verifyReq{path: "/api/auth/verify/health/%2e%2e/api/admin/users"}, 400, "invalid_request", "-"},
		{"not the verify path", verifyReq{path: "/api/auth/verifyx", headers: fwd("GET", "/health")}, 400, "invalid_request", "-"},

		{"cookie, cross-origin unsafe method", verifyReq{headers: fwd("POST", "/other", "Cookie", "sid=good-session",
			"Origin", "https://evil.example", "X-Forwarded-Host", "app.example")}, 403, "", "-"},
		{"cookie, same-origin unsafe method", verifyReq{headers: fwd("POST", "/other", "Cookie", "sid=good-session",
			"Origin", "https://app.example", "X-Forwarded-Host", "app.example")}, 200, "", "-"},
		{"cookie, cross-site fetch metadata", verifyReq{headers: fwd("DELETE", "/other", "Cookie", "sid=good-session", "Sec-Fetch-Site", "cross-site")}, 403, "", "-"},
		{"cookie, cross-origin safe method", verifyReq{headers: fwd("GET", "/other", "Cookie", "sid=good-session",
			"Origin", "https://evil.example", "X-Forwarded-Host", "app.example")}, 200, "", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(t, tt.req)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			ch := w.Header().Get("WWW-Authenticate")
			if tt.challenge == "-" {
				assert.Empty(t, ch)
			} else {
				assert.Contains(t, ch, tt.challenge)
			}
			if tt.want == 200 {
				assert.Empty(t, w.Body.String())
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				return
			}
			for name := range w.Header() {
				assert.False(t, strings.HasPrefix(name, proxy.HeaderPrefix), "a refusal carries %s", name)
			}
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			var p struct {
				Status      int
				Code, Title string
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
			assert.Equal(t, tt.want, p.Status)
			assert.NotEmpty(t, p.Title)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, p.Code)
			}
		})
	}
}

func TestVerifyHeaders(t *testing.T) {
	f := newVerifyFixture(t)
	t.Run("principal", func(t *testing.T) {
		before := f.afterRan.Load()
		w := f.do(t, verifyReq{headers: join(fwd("GET", "/api/projects"), bearerFor(f.reader))})
		require.Equal(t, 200, w.Code)
		h := w.Header()
		assert.Equal(t, "usr_r", h.Get(proxy.HeaderPrincipal))
		assert.Equal(t, "api_key", h.Get(proxy.HeaderKind))
		assert.Equal(t, "org_1", h.Get(proxy.HeaderTenant))
		assert.Equal(t, "read", h.Get(proxy.HeaderScopes))
		assert.True(t, strings.HasPrefix(h.Get(proxy.HeaderKeyID), "key_"), h.Get(proxy.HeaderKeyID))
		assert.Equal(t, before+1, f.afterRan.Load(), "the middleware's After (per-key limits) runs on verify requests")
	})
	t.Run("no tenant, no tenant header", func(t *testing.T) {
		w := f.do(t, verifyReq{headers: join(fwd("GET", "/api/projects"), bearerFor(f.admin))})
		require.Equal(t, 200, w.Code)
		assert.Equal(t, "usr_a", w.Header().Get(proxy.HeaderPrincipal))
		assert.Empty(t, w.Header().Values(proxy.HeaderTenant))
		assert.Equal(t, "admin read write", w.Header().Get(proxy.HeaderScopes))
	})
	t.Run("public route: no principal headers, even with a key", func(t *testing.T) {
		w := f.do(t, verifyReq{headers: join(fwd("GET", "/health"), bearerFor(f.reader))})
		require.Equal(t, 200, w.Code)
		for name := range w.Header() {
			assert.False(t, strings.HasPrefix(name, proxy.HeaderPrefix), "%s set on a public route", name)
		}
	})
	t.Run("store down: 503, never a pass", func(t *testing.T) {
		f.backend.down.Store(true)
		defer f.backend.down.Store(false)
		w := f.do(t, verifyReq{headers: join(fwd("GET", "/api/projects"), bearerFor(f.cold))})
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Body.String(), `"code":"unavailable"`)
		assert.NotContains(t, w.Body.String(), "connection refused")
		assert.NotContains(t, w.Body.String(), f.cold)
	})
}

func TestVerifyTarget(t *testing.T) {
	f := newVerifyFixture(t)
	r := httptest.NewRequest("PUT", "/api/auth/verify", nil)
	r.RemoteAddr = "10.9.8.7:1234"
	r.Header.Set("X-Forwarded-Method", "PATCH")
	r.Header.Set("X-Forwarded-Uri", "/v1/items/caf%C3%A9?x=1")
	r.Header.Set("X-Forwarded-Host", "app.example")
	tg, err := f.v.Target(r)
	require.NoError(t, err)
	assert.Equal(t, proxy.Target{Method: "PATCH", Path: "/v1/items/café", Host: "app.example"}, tg)

	r.RemoteAddr = "192.0.2.1:1234"
	_, err = f.v.Target(r)
	assert.ErrorIs(t, err, proxy.ErrUntrustedPeer)
	r.RemoteAddr = "10.9.8.7:1234"
	r.Header.Set("X-Forwarded-Uri", "/a/../b")
	_, err = f.v.Target(r)
	assert.ErrorIs(t, err, proxy.ErrNonCanonicalPath)
	r.Header.Del("X-Forwarded-Uri")
	_, err = f.v.Target(r)
	assert.ErrorIs(t, err, proxy.ErrNoTarget)
}

func TestNewVerifierErrors(t *testing.T) {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	auth, err := apikey.NewAuthenticator(apikey.MustFormat("px_test."), keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(t, err)
	bad := []struct {
		name string
		cfg  proxy.VerifyConfig
	}{
		{"bad route", proxy.VerifyConfig{Routes: []proxy.Route{{Prefix: "api"}}}},
		{"bad proxy", proxy.VerifyConfig{TrustedProxies: []string{"10.0.0.0/99"}}},
		{"not an address", proxy.VerifyConfig{TrustedProxies: []string{"proxy.internal"}}},
		{"short mapped prefix", proxy.VerifyConfig{TrustedProxies: []string{"::ffff:0:0/80"}}},
		{"relative path", proxy.VerifyConfig{Path: "verify"}},
		{"trailing slash", proxy.VerifyConfig{Path: "/verify/"}},
		{"dot segment", proxy.VerifyConfig{Path: "/a/../verify"}},
	}
	for _, tt := range bad {
		_, err := proxy.NewVerifier(m, tt.cfg)
		assert.Error(t, err, tt.name)
	}
	_, err = proxy.NewVerifier(nil, proxy.VerifyConfig{})
	assert.Error(t, err)
	v, err := proxy.NewVerifier(m, proxy.VerifyConfig{Path: "/auth", TrustedProxies: []string{"::1", "::ffff:10.0.0.0/104"}})
	require.NoError(t, err)
	assert.Equal(t, "/auth", v.Path())
	r := httptest.NewRequest("GET", "/auth/health", nil)
	r.RemoteAddr = "10.1.1.1:9"
	tg, err := v.Target(r)
	require.NoError(t, err)
	assert.Equal(t, "/health", tg.Path)
}

// FuzzVerifyTarget: whatever a proxy forwards, Target never panics, and a
// target it accepts has a method token and a canonical path, which the
// route table matches as the upstream will resolve it.
func FuzzVerifyTarget(f *testing.F) {
	for _, s := range []struct{ method, uri string }{
		{"GET", "/api/projects?x=1"}, {"post", "/health/../api"}, {"GET", "//api"}, {"GET", "/health/%2e%2e/api"},
		{"G T", "/"}, {"GET", "http://x/y"}, {"GET", "/a%2F..%2Fb"}, {"GET", "/%zz"}, {"", ""}, {"GET", "/a/./b"},
	} {
		f.Add(s.method, s.uri)
	}
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(f, err)
	auth, err := apikey.NewAuthenticator(apikey.MustFormat("px_test."), keys, apikey.Config{})
	require.NoError(f, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(f, err)
	v, err := proxy.NewVerifier(m, proxy.VerifyConfig{Routes: routes, TrustedProxies: []string{"127.0.0.1"}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, method, uri string) {
		r := httptest.NewRequest("GET", "/api/auth/verify", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header["X-Forwarded-Method"] = []string{method}
		r.Header["X-Forwarded-Uri"] = []string{uri}
		tg, err := v.Target(r)
		if err != nil {
			if !errors.Is(err, proxy.ErrNoTarget) && !errors.Is(err, proxy.ErrNonCanonicalPath) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if tg.Method != method || !strings.HasPrefix(tg.Path, "/") {
			t.Fatalf("target %+v from %q %q", tg, method, uri)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(tg.Path[1:], "/"), "/") {
			if tg.Path != "/" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("non-canonical path %q accepted from %q", tg.Path, uri)
			}
		}
		w := httptest.NewRecorder()
		v.ServeHTTP(w, r)
		if w.Code == 200 && !strings.HasPrefix(tg.Path, "/health") {
			t.Fatalf("%q %q passed without a credential", method, uri)
		}
	})
}
