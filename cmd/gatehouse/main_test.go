package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(vars map[string]string) (env, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	return env{stdin: strings.NewReader(""), stdout: out, stderr: errOut, getenv: func(k string) string { return vars[k] },
		lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}, out, errOut
}

// cli runs one command in process, as a separate invocation would.
func cli(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e, out, errOut := testEnv(vars)
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

// startServer runs `gatehouse serve` on a free port, with extra flags,
// until the test ends, and returns its base URL and standard output.
func startServer(t *testing.T, vars map[string]string, extra ...string) (base string, out *syncBuffer) {
	t.Helper()
	i := startInstance(t, vars, extra...)
	return i.base, i.stdout
}

// instance is one running serve.
type instance struct {
	base           string
	stdout, stderr *syncBuffer
}

// startInstance runs `gatehouse serve` with vars and extra flags on a free
// loopback port until the test ends, and checks then that it exits 0.
func startInstance(t *testing.T, vars map[string]string, extra ...string) instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, out, errOut := testEnv(vars)
	ready := make(chan string, 1)
	e.ready = func(addr string) { ready <- addr }
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...), e) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, "serve exit status: %s", errOut.String())
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	select {
	case addr := <-ready:
		return instance{"http://" + addr, out, errOut}
	case code := <-done:
		t.Fatalf("serve exited with %d: %s", code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return instance{}
}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeAndKeys(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	base, out := startServer(t, vars)

	m := regexp.MustCompile(`KEY=(gh_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2, "bootstrap key printed: %s", out.String())
	admin := m[1]
	assert.Contains(t, out.String(), `curl -H "Authorization: Bearer $KEY" `+base+`/api/projects`)

	code, body := get(t, base+"/api/projects", admin)
	assert.Equal(t, 200, code, body)
	code, body = get(t, base+"/api/projects", "")
	assert.Equal(t, 401, code)
	assert.Contains(t, body, `"code":"unauthenticated"`)

	// A key created "in another terminal" works at once.
	code, stdout, stderr := cli(t, vars, "keys", "create", "--name", "predictor", "--scopes", "predict", "--owner", "u7", "--expires", "30d")
	require.Equal(t, 0, code, stderr)
	predictor := strings.TrimSpace(stdout)
	assert.Regexp(t, `^gh_live\.[0-9A-Za-z]{36}$`, predictor, "stdout holds the key alone")
	assert.Contains(t, stderr, "shown once")

	code, _ = get(t, base+"/api/projects", predictor)
	assert.Equal(t, 403, code, "a key without read")
	code, body = get(t, base+"/api/me", predictor)
	require.Equal(t, 200, code)
	var me map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &me))
	assert.Equal(t, "u7", me["id"])

	// The listing shows last 4, never the key.
	code, stdout, stderr = cli(t, vars, "keys", "list")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "predictor")
	assert.Contains(t, stdout, predictor[len(predictor)-4:])
	assert.NotContains(t, stdout, predictor)
	assert.NotContains(t, stdout, admin)
	id := regexp.MustCompile(`(key_\S+)\s+predictor`).FindStringSubmatch(stdout)
	require.Len(t, id, 2)

	// Revoked "in another terminal": the running server refuses it within
	// one second.
	code, _, stderr = cli(t, vars, "keys", "revoke", id[1])
	require.Equal(t, 0, code, stderr)
	revokedAt := time.Now()
	for {
		code, _ := get(t, base+"/api/me", predictor)
		if code == 401 {
			break
		}
		require.Less(t, time.Since(revokedAt), time.Second, "revoked key still accepted")
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("revocation seen by the running server after %v", time.Since(revokedAt).Round(time.Millisecond))

	// A restart keeps the keys and creates no second bootstrap key.
	code, stdout, _ = cli(t, vars, "keys", "list", "--all")
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(stdout, "bootstrap admin"))
	assert.Contains(t, stdout, "revoked")
}

func TestCLIErrors(t *testing.T) {
	dsn := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	policy30 := map[string]string{"GATEHOUSE_DSN": dsn["GATEHOUSE_DSN"], "GATEHOUSE_KEY_MAX_DAYS": "30"}
	tests := []struct {
		name     string
		vars     map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", dsn, nil, 2, "no command given"},
		{"unknown command", dsn, []string{"frobnicate"}, 2, "unknown command"},
		{"keys without subcommand", dsn, []string{"keys"}, 2, "needs a subcommand"},
		{"create without name", dsn, []string{"keys", "create", "--scopes", "read"}, 2, "needs --name"},
		{"bad scope", dsn, []string{"keys", "create", "--name", "x", "--scopes", `re"ad`}, 2, "--scopes"},
		{"scopes and role", dsn, []string{"keys", "create", "--name", "x", "--scopes", "read", "--role", "viewer"}, 2, "not both"},
		{"unknown role", dsn, []string{"keys", "create", "--name", "x", "--role", "wizard"}, 2, "unknown role"},
		{"bad expiry", dsn, []string{"keys", "create", "--name", "x", "--expires", "soon"}, 2, "--expires"},
		{"zero days", dsn, []string{"keys", "create", "--name", "x", "--expires", "0d"}, 2, "days must be a whole number"},
		{"zero days on update", dsn, []string{"keys", "update", "--expires", "0d", "key_a"}, 2, "days must be a whole number"},
		{"unknown flag", dsn, []string{"keys", "list", "--colour"}, 2, "flag provided but not defined"},
		{"revoke without ID", dsn, []string{"keys", "revoke"}, 2, "one key ID"},
		{"revoke unknown ID", dsn, []string{"keys", "revoke", "key_nope"}, 1, `no key with ID "key_nope"`},
		// The flag package stops at the first word that is not a flag: a
		// flag after a stray word would be ignored, so the word is refused.
		{"keys list with a stray word", dsn, []string{"keys", "list", "junk", "--tenant", "t1"}, 2, `takes no arguments (flags go before any other word): "junk"`},
		{"users list with a stray word", dsn, []string{"users", "list", "junk", "--tenant", "t1"}, 2, "takes no arguments"},
		{"prefix where no key is issued", dsn, []string{"users", "list", "--prefix", "x_"}, 2, "flag provided but not defined: -prefix"},
		{"revoke with two IDs", dsn, []string{"keys", "revoke", "key_a", "key_b"}, 2, "one key ID"},
		{"get with a flag after the ID", dsn, []string{"keys", "get", "key_a", "--db", "x.db"}, 2, "one key ID, after its flags"},
		{"short pepper", map[string]string{"GATEHOUSE_DSN": dsn["GATEHOUSE_DSN"], "GATEHOUSE_PEPPER": "short"}, []string{"keys", "list"}, 1, "GATEHOUSE_PEPPER"},
		{"bad max days", map[string]string{"GATEHOUSE_DSN": dsn["GATEHOUSE_DSN"], "GATEHOUSE_KEY_MAX_DAYS": "401"}, []string{"keys", "list"}, 1, "GATEHOUSE_KEY_MAX_DAYS"},
		{"bad time zone", map[string]string{"GATEHOUSE_DSN": dsn["GATEHOUSE_DSN"], "GATEHOUSE_KEY_TZ": "Mars/Olympus"}, []string{"keys", "list"}, 1, "GATEHOUSE_KEY_TZ"},
		{"default above max", map[string]string{"GATEHOUSE_DSN": dsn["GATEHOUSE_DSN"], "GATEHOUSE_KEY_MAX_DAYS": "30", "GATEHOUSE_KEY_DEFAULT_DAYS": "31"}, []string{"keys", "list"}, 1, "exceeds"},
		{"beyond max lifetime", policy30, []string{"keys", "create", "--name", "x", "--scopes", "read", "--expires", "31d"}, 1, "expires"},
		{"no expiry under a cap", policy30, []string{"keys", "create", "--name", "x", "--scopes", "read"}, 1, "expir"},
		{"db and dsn", dsn, []string{"keys", "list", "--db", "a.db", "--dsn", "b.db"}, 2, "not both"},
		{"help", dsn, []string{"keys", "create", "--help"}, 0, "Usage: gatehouse keys create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.vars, tt.args...)
			assert.Equal(t, tt.wantCode, code, stderr)
			require.NotEmpty(t, tt.wantErr, "every row names the message it expects")
			assert.Contains(t, stderr, tt.wantErr)
			if code != 0 {
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "gatehouse: "), "one error line: %q", stderr)
			}
		})
	}
}

// TestKeyPolicyFromEnv checks that the expiry policy read from the
// environment is the one the key commands enforce.
func TestKeyPolicyFromEnv(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db"), "GATEHOUSE_KEY_MAX_DAYS": "30"}
	code, stdout, stderr := cli(t, vars, "keys", "create", "--name", "ok", "--scopes", "read", "--expires", "30d")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "gh_live."), stdout)
	id := ""
	code, list, _ := cli(t, vars, "keys", "list")
	require.Equal(t, 0, code)
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " ok ") {
			id = strings.Fields(line)[0]
		}
	}
	require.NotEmpty(t, id)
	code, _, stderr = cli(t, vars, "keys", "update", "--expires", "never", id)
	assert.Equal(t, 1, code, "removing the expiry under a cap is refused")
	assert.Contains(t, stderr, "an expiry is required")
	code, _, stderr = cli(t, vars, "keys", "update", "--expires", "45d", id)
	assert.Equal(t, 1, code, "an update may not pass the cap")
	assert.Contains(t, stderr, "maximum lifetime")
	code, _, stderr = cli(t, vars, "keys", "update", "--expires", "10d", id)
	assert.Equal(t, 0, code, stderr)
	vars["GATEHOUSE_KEY_DEFAULT_DAYS"] = "7"
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "defaulted", "--scopes", "read")
	require.Equal(t, 0, code, "a default lifetime fills in a missing expiry: %s", stderr)
	code, stdout, _ = cli(t, vars, "keys", "list")
	require.Equal(t, 0, code)
	found := false
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "defaulted") {
			found = true
			assert.Regexp(t, `\d{4}-\d{2}-\d{2} 00:00Z`, line, "the defaulted key expires at the end of a day")
		}
	}
	assert.True(t, found, "keys list shows the defaulted key: %s", stdout)
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"90d", now.Add(90 * 24 * time.Hour), false},
		{"36h", now.Add(36 * time.Hour), false},
		{"2027-01-31", time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-31T12:00:00Z", time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC), false},
		{"0d", time.Time{}, true},
		{"-5h", time.Time{}, true},
		{"99999d", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseExpiry(tt.in, now)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %v", got)
		})
	}
}
