package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/store"
)

// cookieAuth is a minimal cookie authenticator, so that the proxy's
// cookie stripping is exercised with a real cookie name.
type cookieAuth struct{}

func (cookieAuth) CookieName() string { return "sid" }
func (cookieAuth) Accepts(c gatehouse.Credential) bool {
	return c.Source == gatehouse.SourceCookie
}
func (cookieAuth) Authenticate(_ context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	if c.Value != "good-session" {
		return nil, gatehouse.ErrInvalidToken
	}
	return &gatehouse.Principal{ID: "usr_cookie", Kind: gatehouse.KindSession, Scopes: []string{"read"}}, nil
}

// seen is what the upstream received.
type seen struct {
	Path   string
	Header http.Header
}

type fixture struct {
	front         *httptest.Server
	upstream      *httptest.Server
	got           chan seen
	reader, admin string
}

func newFixture(t *testing.T, cfg proxy.Config) *fixture {
	t.Helper()
	f := &fixture{got: make(chan seen, 16)}
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.got <- seen{Path: r.URL.Path, Header: r.Header.Clone()}
		w.Header().Set("X-Upstream", "yes")
		w.Write([]byte("upstream:" + r.URL.Path))
	}))
	t.Cleanup(f.upstream.Close)

	ctx := context.Background()
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("px_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth, cookieAuth{})
	require.NoError(t, err)
	f.reader, _, err = apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "r", OwnerID: "usr_r", TenantID: "org_1", Scopes: []string{"read"}})
	require.NoError(t, err)
	f.admin, _, err = apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "a", OwnerID: "usr_a", Scopes: []string{"read", "write", "admin"}})
	require.NoError(t, err)

	u, err := url.Parse(f.upstream.URL)
	require.NoError(t, err)
	h, err := proxy.New(m, u, cfg)
	require.NoError(t, err)
	f.front = httptest.NewServer(h)
	t.Cleanup(f.front.Close)
	return f
}

var routes = []proxy.Route{
	{Prefix: "/health", Public: true},
	{Prefix: "/api/", Scopes: []string{"read"}},
	{Prefix: "/api/", Methods: []string{"POST", "DELETE"}, Scopes: []string{"write"}},
	{Prefix: "/api/admin/", Scopes: []string{"admin"}},
	{Prefix: "/api/reports", Scopes: []string{"reports", "admin"}, AnyScope: true},
}

func (f *fixture) do(t *testing.T, method, path string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.front.URL+path, nil)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestProxyRoutes(t *testing.T) {
	f := newFixture(t, proxy.Config{Routes: routes})
	bearer := func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }
	tests := []struct {
		name, method, path string
		headers            map[string]string
		want               int
		wantCode           string
	}{
		{"public route, anonymous", "GET", "/health", nil, 200, ""},
		{"public route prefix is not a word prefix", "GET", "/healthz", nil, 401, "unauthenticated"},
		{"no credentials", "GET", "/api/projects", nil, 401, "unauthenticated"},
		{"reader reads", "GET", "/api/projects", bearer(f.reader), 200, ""},
		{"reader cannot write (method rule)", "POST", "/api/projects", bearer(f.reader), 403, "insufficient_scope"},
		{"admin writes", "POST", "/api/projects", bearer(f.admin), 200, ""},
		{"longest prefix wins", "GET", "/api/admin/users", bearer(f.reader), 403, "insufficient_scope"},
		{"admin route", "GET", "/api/admin/users", bearer(f.admin), 200, ""},
		{"any-of route", "GET", "/api/reports/q3", bearer(f.admin), 200, ""},
		{"any-of route, neither", "GET", "/api/reports/q3", bearer(f.reader), 403, "insufficient_scope"},
		{"unmatched path needs a principal only", "GET", "/other", bearer(f.reader), 200, ""},
		{"unmatched path, anonymous", "GET", "/other", nil, 401, "unauthenticated"},
		{"bad key", "GET", "/api/projects", bearer(f.reader + "x"), 401, "invalid_token"},
		{"session cookie", "GET", "/api/projects", map[string]string{"Cookie": "sid=good-session"}, 200, ""},
		{"dot-dot from a public prefix", "GET", "/health/../api/admin/users", nil, 400, "invalid_request"},
		{"encoded dot-dot", "GET", "/health/%2e%2e/api/admin/users", nil, 400, "invalid_request"},
		{"double slash past a scope", "GET", "//api/admin/users", bearer(f.reader), 400, "invalid_request"},
		{"dot segment", "GET", "/api/./admin/users", bearer(f.reader), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.method, tt.path, tt.headers)
			require.Equal(t, tt.want, resp.StatusCode, body)
			if tt.want == 200 {
				assert.Equal(t, "yes", resp.Header.Get("X-Upstream"))
				<-f.got
				return
			}
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			var p struct{ Code string }
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			assert.Equal(t, tt.wantCode, p.Code)
			select {
			case s := <-f.got:
				t.Fatalf("a refused request reached the upstream: %s", s.Path)
			default:
			}
		})
	}
}

func TestProxyHeaders(t *testing.T) {
	spoof := map[string]string{
		"X-Gatehouse-Principal": "usr_admin",
		"x-gatehouse-scopes":    "admin",
		"X-GATEHOUSE-TENANT":    "org_victim",
		"X-Gatehouse-Anything":  "x",
	}
	t.Run("principal set, spoofed headers and credential stripped", func(t *testing.T) {
		f := newFixture(t, proxy.Config{Routes: routes})
		h := map[string]string{"Authorization": "Bearer " + f.reader, "Cookie": `theme=dark; sid=good-session; pref="a b"; lang=en`}
		for k, v := range spoof {
			h[k] = v
		}
		resp, _ := f.do(t, "GET", "/api/projects", h)
		require.Equal(t, 200, resp.StatusCode)
		s := <-f.got
		assert.Equal(t, "usr_r", s.Header.Get(proxy.HeaderPrincipal))
		assert.Equal(t, "api_key", s.Header.Get(proxy.HeaderKind))
		assert.Equal(t, "org_1", s.Header.Get(proxy.HeaderTenant))
		assert.Equal(t, "read", s.Header.Get(proxy.HeaderScopes))
		assert.True(t, strings.HasPrefix(s.Header.Get(proxy.HeaderKeyID), "key_"))
		assert.Empty(t, s.Header.Get("X-Gatehouse-Anything"))
		assert.Empty(t, s.Header.Get("Authorization"), "the credential is not passed on by default")
		assert.Equal(t, `theme=dark; pref="a b"; lang=en`, s.Header.Get("Cookie"), "only the session cookie is removed; the others pass as written")
		assert.Equal(t, "127.0.0.1", s.Header.Get("X-Forwarded-For"))
	})
	t.Run("public route: spoofed headers stripped, none set", func(t *testing.T) {
		f := newFixture(t, proxy.Config{Routes: routes})
		resp, _ := f.do(t, "GET", "/health", spoof)
		require.Equal(t, 200, resp.StatusCode)
		s := <-f.got
		for name := range s.Header {
			assert.False(t, strings.HasPrefix(strings.ToLower(name), "x-gatehouse-"), "header %s reached the upstream", name)
		}
	})
	t.Run("PassCredential keeps the credential", func(t *testing.T) {
		f := newFixture(t, proxy.Config{Routes: routes, PassCredential: true})
		resp, _ := f.do(t, "GET", "/api/projects", map[string]string{"Authorization": "Bearer " + f.reader})
		require.Equal(t, 200, resp.StatusCode)
		s := <-f.got
		assert.Equal(t, "Bearer "+f.reader, s.Header.Get("Authorization"))
	})
}

func TestProxyUpstreamDown(t *testing.T) {
	f := newFixture(t, proxy.Config{})
	f.upstream.Close()
	resp, body := f.do(t, "GET", "/api/projects", map[string]string{"Authorization": "Bearer " + f.reader})
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, `"code":"bad_gateway"`)
	assert.NotContains(t, body, "127.0.0.1", "the upstream's address is not disclosed")
}

func TestNewAndLoadRoutesErrors(t *testing.T) {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	auth, err := apikey.NewAuthenticator(apikey.MustFormat("px_test."), keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(t, err)
	up, _ := url.Parse("http://127.0.0.1:9")
	bad := []struct {
		name string
		up   *url.URL
		r    proxy.Route
	}{
		{"relative prefix", up, proxy.Route{Prefix: "api"}},
		{"public with scopes", up, proxy.Route{Prefix: "/x", Public: true, Scopes: []string{"read"}}},
		{"bad scope", up, proxy.Route{Prefix: "/x", Scopes: []string{`re"ad`}}},
		{"lower-case method", up, proxy.Route{Prefix: "/x", Methods: []string{"get"}}},
		{"no upstream host", &url.URL{Scheme: "http"}, proxy.Route{Prefix: "/x"}},
		{"upstream scheme", &url.URL{Scheme: "ftp", Host: "x"}, proxy.Route{Prefix: "/x"}},
	}
	for _, tt := range bad {
		_, err := proxy.New(m, tt.up, proxy.Config{Routes: []proxy.Route{tt.r}})
		assert.Error(t, err, tt.name)
	}
	_, err = proxy.New(nil, up, proxy.Config{})
	assert.Error(t, err)

	dir := t.TempDir()
	good := filepath.Join(dir, "routes.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"routes":[{"prefix":"/api/","scopes":["read"]},{"prefix":"/health","public":true}]}`), 0o600))
	rs, err := proxy.LoadRoutes(good)
	require.NoError(t, err)
	assert.Equal(t, []proxy.Route{{Prefix: "/api/", Scopes: []string{"read"}}, {Prefix: "/health", Public: true}}, rs)
	unknown := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"routes":[{"prefix":"/","scope":["read"]}]}`), 0o600))
	_, err = proxy.LoadRoutes(unknown)
	assert.ErrorContains(t, err, "scope")
	_, err = proxy.LoadRoutes(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)
}
