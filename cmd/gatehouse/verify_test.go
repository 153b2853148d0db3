package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyRoutes is the route table of the forward-auth tests.
const verifyRoutes = `{"routes": [
	{"prefix": "/public/", "public": true},
	{"prefix": "/v1/", "scopes": ["read"]},
	{"prefix": "/v1/", "methods": ["POST", "DELETE"], "scopes": ["write"]},
	{"prefix": "/v1/admin/", "scopes": ["admin"]}
]}`

// verifyServe starts serve with the forward-auth route table and extra
// flags, and returns its base URL, the bootstrap admin key and a key with
// the read scope only.
func verifyServe(t *testing.T, extra ...string) (base, admin, reader string) {
	t.Helper()
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.json")
	require.NoError(t, os.WriteFile(routes, []byte(verifyRoutes), 0o600))
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "g.db")}
	base, out := startServer(t, vars, append([]string{"--routes", routes}, extra...)...)
	admin = bootstrapKey(t, out)
	code, stdout, stderr := cli(t, vars, "keys", "create", "--name", "reader", "--scopes", "read", "--owner", "admin")
	require.Equal(t, 0, code, stderr)
	return base, admin, strings.TrimSpace(stdout)
}

// TestServeVerify: `serve --routes` without --upstream serves the demo
// API and answers /api/auth/verify for the trusted proxy (the test, on
// loopback) with the route table's decisions.
func TestServeVerify(t *testing.T) {
	base, admin, reader := verifyServe(t, "--trusted-proxies", "127.0.0.1,::1", "--rate-limit", "3/1m")
	verify := base + "/api/auth/verify"
	fwd := func(method, uri string, more ...string) []string {
		return append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}, more...)
	}
	// Every row comes from its own client, as the proxy names it in
	// X-Forwarded-For: the per-address limit (3 a minute) counts each
	// apart.
	n := 0
	nextClient := func() []string {
		n++
		return []string{"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", n)}
	}
	tests := []struct {
		name, method, url string
		headers           []string
		want              int
		wantCode          string
	}{
		{"no credential", "GET", verify, fwd("GET", "/v1/items"), 401, "unauthenticated"},
		{"good key", "GET", verify, fwd("GET", "/v1/items", "Authorization", "Bearer "+reader), 200, ""},
		{"wrong scope for the forwarded method", "GET", verify, fwd("POST", "/v1/items", "Authorization", "Bearer "+reader), 403, "insufficient_scope"},
		{"wrong scope for the forwarded path", "GET", verify, fwd("GET", "/v1/admin/users", "Authorization", "Bearer "+reader), 403, "insufficient_scope"},
		{"admin", "POST", verify, fwd("DELETE", "/v1/admin/users/7", "Authorization", "Bearer "+admin), 200, ""},
		{"public route", "GET", verify, fwd("GET", "/public/logo.png"), 200, ""},
		{"no forwarded request", "GET", verify, []string{"Authorization", "Bearer " + reader}, 400, "invalid_request"},
		{"dot-dot", "GET", verify, fwd("GET", "/public/../v1/admin/users"), 400, "invalid_request"},
		{"double slash", "GET", verify, fwd("GET", "//v1/admin/users", "Authorization", "Bearer "+reader), 400, "invalid_request"},
		{"encoded dot-dot", "GET", verify, fwd("GET", "/public/%2e%2e/v1/admin/users"), 400, "invalid_request"},
		{"Envoy form", "GET", verify + "/v1/items?x=1", []string{"Authorization", "Bearer " + reader}, 200, ""},
		{"Envoy form, wrong scope", "DELETE", verify + "/v1/items/1", []string{"Authorization", "Bearer " + reader}, 403, "insufficient_scope"},
		{"Envoy form, dot-dot: 400, not a redirect", "GET", verify + "/public/../v1/admin/users", nil, 400, "invalid_request"},
		{"Envoy form, double slash", "GET", verify + "//v1/admin/users", []string{"Authorization", "Bearer " + reader}, 400, "invalid_request"},
	}
	noRedirect := http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := send(t, &noRedirect, tt.method, tt.url, "", append(tt.headers, nextClient()...)...)
			require.Equal(t, tt.want, code, body)
			if tt.want == 200 {
				assert.Empty(t, body)
				return
			}
			assert.Equal(t, "application/problem+json", h.Get("Content-Type"))
			assert.Contains(t, body, `"code":"`+tt.wantCode+`"`)
			if tt.want == 401 {
				assert.Contains(t, h.Get("WWW-Authenticate"), `Bearer realm="gatehouse"`)
			}
		})
	}

	t.Run("principal headers", func(t *testing.T) {
		code, h, _ := send(t, &noRedirect, "GET", verify, "", append(fwd("GET", "/v1/items", "Authorization", "Bearer "+reader), nextClient()...)...)
		require.Equal(t, 200, code)
		assert.Equal(t, "admin", h.Get("X-Gatehouse-Principal"), "the key's owner")
		assert.Equal(t, "api_key", h.Get("X-Gatehouse-Kind"))
		assert.Equal(t, "read", h.Get("X-Gatehouse-Scopes"))
		assert.True(t, strings.HasPrefix(h.Get("X-Gatehouse-Key-Id"), "key_"))
	})

	t.Run("per-address limit by the forwarded client", func(t *testing.T) {
		var codes []int
		for range 4 {
			code, _, _ := send(t, &noRedirect, "GET", verify, "", fwd("GET", "/public/x", "X-Forwarded-For", "203.0.113.50")...)
			codes = append(codes, code)
		}
		assert.Equal(t, []int{200, 200, 200, 429}, codes)
		code, h, body := send(t, &noRedirect, "GET", verify, "", fwd("GET", "/public/x", "X-Forwarded-For", "203.0.113.50")...)
		assert.Equal(t, 429, code)
		assert.NotEmpty(t, h.Get("Retry-After"))
		assert.Contains(t, body, `"code":"rate_limited"`)
		code, _, _ = send(t, &noRedirect, "GET", verify, "", fwd("GET", "/public/x", "X-Forwarded-For", "203.0.113.51")...)
		assert.Equal(t, 200, code, "another client behind the same proxy is not limited")
	})

	t.Run("the demo API is still served", func(t *testing.T) {
		code, _, body := send(t, &noRedirect, "GET", base+"/api/projects", "", append([]string{"Authorization", "Bearer " + reader}, nextClient()...)...)
		assert.Equal(t, 200, code, body)
		assert.Contains(t, body, "apollo")
	})
}

// TestServeVerifyUntrustedPeer: a peer that is not a trusted proxy gets
// 400 whatever it forwards, a public route included: the forwarded
// headers are not read, and no decision is made for a request nobody
// trusted named.
func TestServeVerifyUntrustedPeer(t *testing.T) {
	for _, flags := range [][]string{{"--trusted-proxies", "10.0.0.0/8"}, nil} {
		t.Run(strings.Join(append([]string{"flags"}, flags...), " "), func(t *testing.T) {
			base, _, reader := verifyServe(t, flags...)
			for _, h := range [][]string{
				{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/public/logo.png"},
				{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/v1/items", "Authorization", "Bearer " + reader},
				{"Authorization", "Bearer " + reader},
			} {
				code, hdr, body := send(t, client, "GET", base+"/api/auth/verify", "", h...)
				assert.Equal(t, 400, code, body)
				assert.Contains(t, body, "trusted reverse proxy")
				assert.Empty(t, hdr.Get("X-Gatehouse-Principal"))
			}
			code, _, body := send(t, client, "GET", base+"/api/auth/verify/public/logo.png", "")
			assert.Equal(t, 400, code, body)
		})
	}
}
