package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests put a real reverse proxy (nginx with auth_request, Caddy
// with forward_auth) in front of an httptest upstream, asking a running
// serve about every request. The proxies' configurations are the README's.

// lookBinary returns the path of a proxy's binary. Without it the test is
// skipped, except under CI=true, where it fails: .ci/run installs it.
func lookBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must run the forward-auth test against it (.ci/run installs %s)", name, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s to run this test", name, pkg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startChild runs cmd until the test ends (killing its process group
// then) and waits until addr accepts connections.
func startChild(t *testing.T, cmd *exec.Cmd, addr string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGTERM first, so that nginx's master reaps its workers; then
		// SIGKILL to whatever is left of the process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit", cmd.Path)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited: %v\n%s", cmd.Path, err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %s", cmd.Path, addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forwardAuthFixture is a serve for the proxies to ask, an upstream behind
// them, and keys.
type forwardAuthFixture struct {
	gatehouse     string // host:port of serve
	upstream      *httptest.Server
	got           chan http.Header
	admin, reader string
	noRedirect    *http.Client
}

func newForwardAuthFixture(t *testing.T, extra ...string) *forwardAuthFixture {
	t.Helper()
	f := &forwardAuthFixture{got: make(chan http.Header, 16)}
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.got <- r.Header.Clone()
		io.WriteString(w, "upstream "+r.URL.Path)
	}))
	t.Cleanup(f.upstream.Close)
	base, admin, reader := verifyServe(t, append([]string{"--trusted-proxies", "127.0.0.1"}, extra...)...)
	f.gatehouse = strings.TrimPrefix(base, "http://")
	f.admin, f.reader = admin, reader
	f.noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// do sends a request through the proxy at front.
func (f *forwardAuthFixture) do(t *testing.T, method, front, path string, header ...string) (int, http.Header, string) {
	t.Helper()
	return send(t, f.noRedirect, method, "http://"+front+path, "", header...)
}

// upstreamGot returns the headers of the request the upstream received,
// or fails when none arrives.
func (f *forwardAuthFixture) upstreamGot(t *testing.T) http.Header {
	t.Helper()
	select {
	case h := <-f.got:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the upstream")
		return nil
	}
}

func (f *forwardAuthFixture) upstreamGotNothing(t *testing.T) {
	t.Helper()
	select {
	case h := <-f.got:
		t.Fatalf("a refused request reached the upstream: %v", h)
	default:
	}
}

// nginxConf is the README's nginx configuration, between the lines that
// place nginx's files in the test's directory.
const nginxConf = `%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
	access_log %[2]s/access.log;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;

	upstream gatehouse { server %[4]s; }
	upstream app { server %[5]s; }

	server {
		listen %[3]s;

		location / {
			auth_request /_gatehouse;
			# The principal, for the application.
			auth_request_set $gh_principal $upstream_http_x_gatehouse_principal;
			auth_request_set $gh_kind $upstream_http_x_gatehouse_kind;
			auth_request_set $gh_tenant $upstream_http_x_gatehouse_tenant;
			auth_request_set $gh_scopes $upstream_http_x_gatehouse_scopes;
			auth_request_set $gh_key_id $upstream_http_x_gatehouse_key_id;
			# Set even when empty, which removes any the client sent.
			proxy_set_header X-Gatehouse-Principal $gh_principal;
			proxy_set_header X-Gatehouse-Kind $gh_kind;
			proxy_set_header X-Gatehouse-Tenant $gh_tenant;
			proxy_set_header X-Gatehouse-Scopes $gh_scopes;
			proxy_set_header X-Gatehouse-Key-Id $gh_key_id;
			# The credential stays at the edge, as serve --upstream does.
			proxy_set_header Authorization "";
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_pass http://app;

			# nginx passes 401 (with its WWW-Authenticate) and 403 on, and
			# turns any other refusal into 500: give 429, 503 and 400 back.
			auth_request_set $gh_status $upstream_status;
			auth_request_set $gh_retry_after $upstream_http_retry_after;
			error_page 500 = @gatehouse_refused;
		}

		location = /_gatehouse {
			internal;
			proxy_pass http://gatehouse/api/auth/verify;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			# Always set by nginx, never the client's.
			proxy_set_header X-Forwarded-Method $request_method;
			proxy_set_header X-Forwarded-Uri $request_uri;
			proxy_set_header X-Forwarded-Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}

		location @gatehouse_refused {
			default_type application/problem+json;
			add_header Retry-After $gh_retry_after always;
			if ($gh_status = 429) {
				return 429 '{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Too many requests; retry later","code":"rate_limited"}\n';
			}
			if ($gh_status = 503) {
				return 503 '{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Authentication is temporarily unavailable; retry later","code":"unavailable"}\n';
			}
			if ($gh_status = 400) {
				return 400 '{"type":"about:blank","title":"Bad Request","status":400,"detail":"The request path is not in canonical form","code":"invalid_request"}\n';
			}
			return 500;
		}
	}
}
`

// startNginx runs nginx in front of f's upstream, asking f's serve, and
// returns its address.
func startNginx(t *testing.T, f *forwardAuthFixture) string {
	t.Helper()
	bin := lookBinary(t, "nginx", "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers would otherwise switch to nobody, who cannot use dir
	}
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, addr, f.gatehouse, strings.TrimPrefix(f.upstream.URL, "http://")), 0o600))
	startChild(t, exec.Command(bin, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"), addr)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})
	return addr
}

// TestForwardAuthNginx: nginx's auth_request asks serve about each
// request; the application receives the principal, refusals reach the
// client with their status and challenge.
func TestForwardAuthNginx(t *testing.T) {
	f := newForwardAuthFixture(t, "--rate-limit", "4/1m")
	front := startNginx(t, f)
	testForwardAuth(t, f, front, "nginx")

	t.Run("rate limited by the client nginx names: 429 with Retry-After", func(t *testing.T) {
		var codes []int
		var last http.Header
		var body string
		for range 5 {
			var code int
			code, last, body = f.do(t, "GET", front, "/public/x", "X-Forwarded-For", "203.0.113.9")
			codes = append(codes, code)
			if code == 200 {
				f.upstreamGot(t)
			}
		}
		assert.Equal(t, []int{200, 200, 200, 200, 429}, codes)
		assert.NotEmpty(t, last.Get("Retry-After"))
		assert.Equal(t, "application/problem+json", last.Get("Content-Type"))
		assert.Contains(t, body, `"code":"rate_limited"`)
		code, _, _ := f.do(t, "GET", front, "/public/x", "X-Forwarded-For", "203.0.113.10")
		assert.Equal(t, 200, code, "another client is not limited")
		f.upstreamGot(t)
	})
	t.Run("non-canonical path: 400", func(t *testing.T) {
		code, _, body := f.do(t, "GET", front, "/public/%2e%2e/v1/admin/users", "X-Forwarded-For", "203.0.113.11")
		assert.Equal(t, 400, code, body)
		f.upstreamGotNothing(t)
	})
}

// testForwardAuth runs the checks every proxy passes. Each request comes
// from its own client (X-Forwarded-For, believed from the proxy) so that
// serve's per-address limit does not interfere.
func testForwardAuth(t *testing.T, f *forwardAuthFixture, front, proxyName string) {
	n := 0
	client := func(h ...string) []string {
		n++
		return append(h, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", n))
	}
	spoof := []string{"X-Gatehouse-Principal", "usr_victim", "X-Gatehouse-Tenant", "org_victim", "X-Gatehouse-Scopes", "admin"}

	t.Run("good key: the upstream gets the principal, not the key", func(t *testing.T) {
		code, _, body := f.do(t, "GET", front, "/v1/items?page=2", client(append([]string{"Authorization", "Bearer " + f.reader}, spoof...)...)...)
		require.Equal(t, 200, code, body)
		assert.Equal(t, "upstream /v1/items", body)
		h := f.upstreamGot(t)
		assert.Equal(t, "admin", h.Get("X-Gatehouse-Principal"))
		assert.Equal(t, "api_key", h.Get("X-Gatehouse-Kind"))
		assert.Equal(t, "read", h.Get("X-Gatehouse-Scopes"))
		assert.True(t, strings.HasPrefix(h.Get("X-Gatehouse-Key-Id"), "key_"), h.Get("X-Gatehouse-Key-Id"))
		assert.Empty(t, h.Values("X-Gatehouse-Tenant"), "the key has no tenant; the client's header is gone")
		if proxyName == "nginx" {
			assert.Empty(t, h.Get("Authorization"), "nginx keeps the credential")
		}
	})
	t.Run("bad key: 401 with the challenge", func(t *testing.T) {
		code, h, _ := f.do(t, "GET", front, "/v1/items", client("Authorization", "Bearer "+f.reader+"x")...)
		assert.Equal(t, 401, code)
		require.Len(t, h.Values("WWW-Authenticate"), 1, "one challenge, the one serve wrote")
		assert.True(t, strings.HasPrefix(h.Get("WWW-Authenticate"), `Bearer realm="gatehouse", error="invalid_token"`), h.Get("WWW-Authenticate"))
		f.upstreamGotNothing(t)
	})
	t.Run("no credential: 401 with the challenge", func(t *testing.T) {
		code, h, _ := f.do(t, "GET", front, "/v1/items", client()...)
		assert.Equal(t, 401, code)
		assert.Equal(t, []string{`Bearer realm="gatehouse"`}, h.Values("WWW-Authenticate"))
		f.upstreamGotNothing(t)
	})
	t.Run("missing scope: 403", func(t *testing.T) {
		code, _, _ := f.do(t, "POST", front, "/v1/items", client("Authorization", "Bearer "+f.reader)...)
		assert.Equal(t, 403, code)
		code, _, _ = f.do(t, "GET", front, "/v1/admin/users", client("Authorization", "Bearer "+f.reader)...)
		assert.Equal(t, 403, code)
		f.upstreamGotNothing(t)
	})
	t.Run("admin key: the write passes", func(t *testing.T) {
		code, _, body := f.do(t, "POST", front, "/v1/items", client("Authorization", "Bearer "+f.admin)...)
		assert.Equal(t, 200, code, body)
		assert.Equal(t, "admin predict read write", f.upstreamGot(t).Get("X-Gatehouse-Scopes"))
	})
	t.Run("public route: no credential needed, spoofed principal removed", func(t *testing.T) {
		code, _, body := f.do(t, "GET", front, "/public/logo.png", client(spoof...)...)
		require.Equal(t, 200, code, body)
		h := f.upstreamGot(t)
		for name := range h {
			assert.False(t, strings.HasPrefix(name, "X-Gatehouse-"), "%s reached the upstream", name)
		}
	})
	t.Run("a client's X-Forwarded-Uri does not choose the route", func(t *testing.T) {
		code, _, _ := f.do(t, "GET", front, "/v1/admin/users", client("Authorization", "Bearer "+f.reader,
			"X-Forwarded-Uri", "/public/x", "X-Forwarded-Method", "GET")...)
		assert.Equal(t, 403, code)
		f.upstreamGotNothing(t)
	})
}

// caddyfile is the README's Caddy configuration, after global options
// that keep Caddy's files in the test's directory.
const caddyfile = `{
	admin off
	auto_https off
	storage file_system %[1]s/data
}

http://%[2]s {
	bind 127.0.0.1
	route {
		# copy_headers sets only the headers the answer has: remove any
		# the client sent first.
		request_header -X-Gatehouse-*
		forward_auth %[3]s {
			uri /api/auth/verify
			copy_headers X-Gatehouse-Principal X-Gatehouse-Kind X-Gatehouse-Tenant X-Gatehouse-Scopes X-Gatehouse-Key-Id
		}
		# Caddy before 2.9 sets a header the answer lacks to its
		# placeholder's text (caddy#6610): remove those.
		@gh_principal_unset header_regexp X-Gatehouse-Principal ^\{http\.reverse_proxy\.header\.
		@gh_kind_unset header_regexp X-Gatehouse-Kind ^\{http\.reverse_proxy\.header\.
		@gh_tenant_unset header_regexp X-Gatehouse-Tenant ^\{http\.reverse_proxy\.header\.
		@gh_scopes_unset header_regexp X-Gatehouse-Scopes ^\{http\.reverse_proxy\.header\.
		@gh_key_id_unset header_regexp X-Gatehouse-Key-Id ^\{http\.reverse_proxy\.header\.
		request_header @gh_principal_unset -X-Gatehouse-Principal
		request_header @gh_kind_unset -X-Gatehouse-Kind
		request_header @gh_tenant_unset -X-Gatehouse-Tenant
		request_header @gh_scopes_unset -X-Gatehouse-Scopes
		request_header @gh_key_id_unset -X-Gatehouse-Key-Id
		# The credential stays at the edge, as serve --upstream does.
		request_header -Authorization
		reverse_proxy %[4]s
	}
}
`

// TestForwardAuthCaddy: Caddy's forward_auth asks serve; refusals pass
// through as serve wrote them.
func TestForwardAuthCaddy(t *testing.T) {
	bin := lookBinary(t, "caddy", "caddy")
	f := newForwardAuthFixture(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := filepath.Join(dir, "Caddyfile")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, caddyfile, dir, addr, f.gatehouse, strings.TrimPrefix(f.upstream.URL, "http://")), 0o600))
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	startChild(t, cmd, addr)
	testForwardAuth(t, f, addr, "caddy")

	t.Run("the refusal's body and headers pass through", func(t *testing.T) {
		code, h, body := f.do(t, "GET", addr, "/v1/admin/users", "Authorization", "Bearer "+f.reader)
		assert.Equal(t, 403, code)
		assert.Equal(t, "application/problem+json", h.Get("Content-Type"))
		assert.Contains(t, body, `"code":"insufficient_scope"`)
		assert.Contains(t, h.Get("WWW-Authenticate"), `scope="admin"`)
	})
	t.Run("every X-Gatehouse- header of the client's is removed", func(t *testing.T) {
		code, _, _ := f.do(t, "GET", addr, "/public/x", "X-Gatehouse-Role", "admin")
		require.Equal(t, 200, code)
		assert.Empty(t, f.upstreamGot(t).Values("X-Gatehouse-Role"))
	})
	t.Run("good key: the credential stays at Caddy", func(t *testing.T) {
		code, _, _ := f.do(t, "GET", addr, "/v1/items", "Authorization", "Bearer "+f.reader)
		require.Equal(t, 200, code)
		assert.Empty(t, f.upstreamGot(t).Get("Authorization"))
	})
}
