package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	flowEmail    = "ada@example.com"
	flowPassword = "correct horse battery staple"
)

// cliStdin runs one command in process with stdin.
func cliStdin(t *testing.T, vars map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e, out, errOut := testEnv(vars)
	e.stdin = strings.NewReader(stdin)
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

// startServe runs `gatehouse serve` with extra flags on a free loopback
// port until the test ends, and returns its base URL and log.
func startServe(t *testing.T, vars map[string]string, extra ...string) (base string, log *syncBuffer) {
	t.Helper()
	i := startInstance(t, vars, extra...)
	return i.base, i.stderr
}

func send(t *testing.T, c *http.Client, method, url, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestLoginFlow is the documented flow, over a real server and a cookie
// jar: create the first user with a password on stdin, log in, create an
// API key with the session cookie, use the key as a Bearer token.
func TestLoginFlow(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	code, stdout, stderr := cliStdin(t, vars, flowPassword+"\n", "users", "create", "--email", flowEmail, "--password-stdin")
	require.Equal(t, 0, code, stderr)
	userID := strings.TrimSpace(stdout)
	assert.Contains(t, stderr, "can log in")
	assert.NotContains(t, stdout+stderr, flowPassword)

	base, log := startServe(t, vars)
	assert.Contains(t, log.String(), "development mode")

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	const jsonCT = "application/json"

	// Log in: the cookie lands in the jar.
	code, h, body := send(t, client, "POST", base+"/api/auth/login",
		`{"email":"`+flowEmail+`","password":"`+flowPassword+`"}`, "Content-Type", jsonCT)
	require.Equal(t, http.StatusOK, code, body)
	setCookie := h.Get("Set-Cookie")
	assert.Contains(t, setCookie, "gatehouse_session=")
	assert.Contains(t, setCookie, "HttpOnly")
	assert.Contains(t, setCookie, "SameSite=Lax")
	assert.Contains(t, setCookie, "Path=/")
	assert.NotContains(t, setCookie, "Domain=")
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	assert.Equal(t, userID, p["id"])
	assert.Equal(t, "session", p["kind"])
	u, _ := url.Parse(base)
	require.Len(t, jar.Cookies(u), 1)

	code, _, body = send(t, client, "GET", base+"/api/auth/session", "")
	require.Equal(t, http.StatusOK, code, body)

	// Create a key with the cookie: shown once.
	code, _, body = send(t, client, "POST", base+"/api/auth/api-keys",
		`{"name": "CI Pipeline", "scopes": ["read", "write", "predict"]}`, "Content-Type", jsonCT)
	require.Equal(t, http.StatusCreated, code, body)
	var created struct {
		Key    string `json:"key"`
		APIKey struct {
			Owner  string   `json:"owner_id"`
			Scopes []string `json:"scopes"`
			Last4  string   `json:"last4"`
		} `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	assert.Regexp(t, `^gh_live\.[0-9A-Za-z]{36}$`, created.Key)
	assert.Equal(t, userID, created.APIKey.Owner)
	assert.ElementsMatch(t, []string{"read", "write", "predict"}, created.APIKey.Scopes)

	// The key works as a Bearer token, without the jar.
	plain := &http.Client{Timeout: 10 * time.Second}
	code, _, body = send(t, plain, "GET", base+"/api/projects", "", "Authorization", "Bearer "+created.Key)
	assert.Equal(t, http.StatusOK, code, body)
	code, _, body = send(t, plain, "GET", base+"/api/me", "", "Authorization", "Bearer "+created.Key)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"kind":"api_key"`)
	code, _, body = send(t, plain, "POST", base+"/api/predict", `{"x":1}`, "Authorization", "Bearer "+created.Key, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusOK, code, "a Bearer request is not subject to the cross-origin check: %s", body)

	// The listing never shows the key.
	code, _, body = send(t, client, "GET", base+"/api/auth/api-keys", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, created.APIKey.Last4)
	assert.NotContains(t, body, created.Key)

	// A cross-site POST riding on the cookie is refused.
	code, h, body = send(t, client, "POST", base+"/api/auth/api-keys",
		`{"name": "evil", "scopes": ["read"]}`, "Content-Type", jsonCT, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, code, body)
	assert.Equal(t, "application/problem+json", h.Get("Content-Type"))

	// Logout: the cookie is dead on the server even if replayed.
	old := jar.Cookies(u)[0]
	code, _, _ = send(t, client, "POST", base+"/api/auth/logout", "")
	require.Equal(t, http.StatusNoContent, code)
	assert.Empty(t, jar.Cookies(u), "the jar dropped the expired cookie")
	code, _, body = send(t, plain, "GET", base+"/api/auth/api-keys", "", "Cookie", old.Name+"="+old.Value)
	assert.Equal(t, http.StatusUnauthorized, code, body)

	// Wrong password and unknown user: identical.
	c1, _, b1 := send(t, plain, "POST", base+"/api/auth/login", `{"email":"`+flowEmail+`","password":"wrong password"}`, "Content-Type", jsonCT)
	c2, _, b2 := send(t, plain, "POST", base+"/api/auth/login", `{"email":"nobody@example.com","password":"wrong password"}`, "Content-Type", jsonCT)
	assert.Equal(t, http.StatusUnauthorized, c1)
	assert.Equal(t, c1, c2)
	assert.Equal(t, b1, b2)
}

// TestLoginFlowCurl runs the README's curl lines verbatim (with the
// server's port).
func TestLoginFlowCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed; CI must run the README's curl lines (.ci/run installs it)")
		}
		t.Skip("curl is not installed; TestLoginFlow covers the same flow with net/http")
	}
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "gatehouse.db")}
	code, _, stderr := cliStdin(t, vars, flowPassword+"\n", "users", "create", "--email", flowEmail, "--password-stdin")
	require.Equal(t, 0, code, stderr)
	base, _ := startServe(t, vars)
	host := strings.TrimPrefix(base, "http://")

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(curl, append([]string{"-sS", "--fail-with-body"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "curl %v: %s", args, out)
		return string(out)
	}
	run("-c", "jar", "-H", "Content-Type: application/json", "-d", `{"email":"`+flowEmail+`","password":"`+flowPassword+`"}`, host+"/api/auth/login")
	out := run("-b", "jar", "-H", "Content-Type: application/json", "-d", `{"name": "CI Pipeline", "scopes": ["read", "write", "predict"]}`, host+"/api/auth/api-keys")
	var created struct {
		Key string `json:"key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &created), out)
	require.NotEmpty(t, created.Key)
	out = run("-H", "Authorization: Bearer "+created.Key, host+"/api/projects")
	assert.Contains(t, out, "apollo")
}

func TestServeBasic(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	code, _, stderr := cliStdin(t, vars, flowPassword+"\r\n", "users", "create", "--email", flowEmail, "--password-stdin")
	require.Equal(t, 0, code, stderr)

	off, _ := startServe(t, vars)
	plain := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", off+"/api/me", nil)
	req.SetBasicAuth(flowEmail, flowPassword)
	resp, err := plain.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "Basic is off by default")
	assert.NotContains(t, strings.Join(resp.Header.Values("WWW-Authenticate"), " "), "Basic")

	on, _ := startServe(t, vars, "--basic")
	tests := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"user and password", flowEmail, flowPassword, 200},
		{"wrong password", flowEmail, "nope nope", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", on+"/api/me", nil)
			req.SetBasicAuth(tt.user, tt.pass)
			resp, err := plain.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tt.want, resp.StatusCode, string(b))
			if tt.want == 401 {
				assert.Contains(t, resp.Header.Values("WWW-Authenticate"), `Basic realm="gatehouse", charset="UTF-8"`)
			} else {
				assert.Contains(t, string(b), `"kind":"basic"`)
			}
		})
	}
}

func TestUsersCreatePasswordStdin(t *testing.T) {
	dsn := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	tests := []struct {
		name     string
		stdin    string
		wantCode int
		wantErr  string
	}{
		{"one line", "long enough password\n", 0, "can log in"},
		{"no newline", "long enough password", 0, "can log in"},
		{"CRLF", "long enough password\r\n", 0, "can log in"},
		{"only the first line", "long enough password\nsecond line\n", 0, "can log in"},
		{"empty", "", 2, "at least 8 bytes"},
		{"too short", "short\n", 2, "at least 8 bytes"},
		{"too long", strings.Repeat("p", 1025) + "\n", 2, "longer than 1024"},
		{"way too long, no newline", strings.Repeat("p", 1<<20), 2, "longer than 1024"},
		{"not UTF-8", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\n", 2, "UTF-8"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := "u" + string(rune('a'+i)) + "@example.com"
			code, _, stderr := cliStdin(t, dsn, tt.stdin, "users", "create", "--email", email, "--password-stdin")
			assert.Equal(t, tt.wantCode, code, stderr)
			assert.Contains(t, stderr, tt.wantErr)
		})
	}
	code, _, stderr := cli(t, dsn, "users", "create", "--email", "nopw@example.com")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "no password")
}
