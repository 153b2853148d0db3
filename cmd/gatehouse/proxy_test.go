package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeProxy runs `gatehouse serve --upstream` in front of an
// httptest upstream with a route table: the chain authenticates, checks
// scopes per prefix, strips spoofed identity headers and the credential,
// and sets the principal's headers; the management API stays local.
func TestServeProxy(t *testing.T) {
	got := make(chan http.Header, 8)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		io.WriteString(w, "upstream "+r.URL.Path)
	}))
	defer upstream.Close()

	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.json")
	require.NoError(t, os.WriteFile(routes, []byte(`{"routes": [
		{"prefix": "/public/", "public": true},
		{"prefix": "/v1/", "scopes": ["read"]},
		{"prefix": "/v1/", "methods": ["POST"], "scopes": ["write"]}
	]}`), 0o600))
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "g.db")}
	base, out := startServer(t, vars, "--upstream", upstream.URL, "--routes", routes)
	m := regexp.MustCompile(`KEY=(gh_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2)
	admin := m[1]
	code, reader, stderr := cli(t, vars, "keys", "create", "--name", "reader", "--scopes", "read", "--owner", "admin")
	require.Equal(t, 0, code, stderr)
	reader = strings.TrimSpace(reader)

	do := func(method, path string, h map[string]string) (int, string) {
		req, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bearer := func(k string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + k, "X-Gatehouse-Principal": "someone-else", "X-Gatehouse-Scopes": "admin"}
	}

	status, body := do("GET", "/v1/items", bearer(reader))
	require.Equal(t, 200, status, body)
	assert.Equal(t, "upstream /v1/items", body)
	h := <-got
	assert.Equal(t, "admin", h.Get("X-Gatehouse-Principal"), "the key's owner, not the spoofed header")
	assert.Equal(t, "read", h.Get("X-Gatehouse-Scopes"))
	assert.Empty(t, h.Get("Authorization"), "the credential stays at the proxy")

	status, body = do("POST", "/v1/items", bearer(reader))
	assert.Equal(t, 403, status, body)
	assert.Contains(t, body, "insufficient_scope")
	status, _ = do("POST", "/v1/items", bearer(admin))
	assert.Equal(t, 200, status)
	<-got

	status, body = do("GET", "/v1/items", nil)
	assert.Equal(t, 401, status)
	assert.Contains(t, body, "unauthenticated")

	status, _ = do("GET", "/public/logo.png", map[string]string{"X-Gatehouse-Principal": "admin"})
	assert.Equal(t, 200, status)
	h = <-got
	assert.Empty(t, h.Get("X-Gatehouse-Principal"), "spoofed headers are stripped on public routes too")

	status, body = do("GET", "/api/auth/api-keys", map[string]string{"Authorization": "Bearer " + admin})
	assert.Equal(t, 200, status, "the management API is served by the proxy itself")
	var list struct {
		APIKeys []json.RawMessage `json:"api_keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	assert.Len(t, list.APIKeys, 2)
	select {
	case <-got:
		t.Fatal("the management API reached the upstream")
	default:
	}
}

// TestServeRateLimit checks the per-address limit in front of the chain:
// requests beyond it are refused with 429 before authentication.
func TestServeRateLimit(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	base, _ := startServer(t, vars, "--rate-limit", "3/1m")
	codes := []int{}
	var last *http.Response
	for range 5 {
		resp, err := http.Get(base + "/api/projects")
		require.NoError(t, err)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		last = resp
	}
	assert.Equal(t, []int{401, 401, 401, 429, 429}, codes)
	assert.NotEmpty(t, last.Header.Get("Retry-After"))
	assert.Equal(t, "application/problem+json", last.Header.Get("Content-Type"))
}

func TestServeFlagErrors(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"pass-credential without upstream", []string{"serve", "--pass-credential"}, "needs --upstream"},
		{"missing routes file without upstream", []string{"serve", "--routes", "/nonexistent.json"}, "routes"},
		{"bad upstream", []string{"serve", "--upstream", "ftp://x"}, "--upstream"},
		{"bad rate", []string{"serve", "--rate-limit", "lots"}, "--rate-limit"},
		{"bad proxy CIDR", []string{"serve", "--trusted-proxies", "10.0.0.0/99"}, "--trusted-proxies"},
		{"missing routes file", []string{"serve", "--upstream", "http://127.0.0.1:9", "--routes", "/nonexistent.json"}, "routes"},
		{"unreachable redis", []string{"serve", "--redis", "127.0.0.1:1"}, "--redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, vars, tt.args...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, stderr, tt.wantErr)
			assert.Equal(t, 1, strings.Count(stderr, "gatehouse: "), stderr)
		})
	}
}

// TestServeRateLimitSharedInRedis runs two servers as two instances
// sharing one Redis: together they allow the limit, not twice it.
func TestServeRateLimitSharedInRedis(t *testing.T) {
	addr := testdb.RedisAddr(t)
	prefix := "gatehouse-test:" + strings.ReplaceAll(time.Now().Format(time.RFC3339Nano), ":", "") + ":"
	dir := t.TempDir()
	flags := []string{"--rate-limit", "4/1m", "--redis", addr, "--redis-prefix", prefix}
	a, _ := startServer(t, map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "a.db")}, flags...)
	b, _ := startServer(t, map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "b.db")}, flags...)
	var codes []int
	for _, base := range []string{a, b, a, b, a, b} {
		resp, err := http.Get(base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	assert.Equal(t, []int{200, 200, 200, 200, 429, 429}, codes, "four in all across both instances")
}
