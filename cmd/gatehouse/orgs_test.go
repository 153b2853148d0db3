package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOrgsAndPolicyCLI creates organizations, sets a policy on one and
// checks that keys of that organization follow it, others the
// environment's default, until it is cleared.
func TestOrgsAndPolicyCLI(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db"), "GATEHOUSE_KEY_DEFAULT_DAYS": "400"}

	code, stdout, stderr := cli(t, vars, "orgs", "create", "--id", "acme", "--name", "Acme Inc")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "acme\n", stdout)
	assert.Contains(t, stderr, "gatehouse.org.created")
	code, stdout, stderr = cli(t, vars, "orgs", "create", "--name", "Generated")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^org_[0-9a-z]{26}\n$`, stdout)
	generated := strings.TrimSpace(stdout)
	code, _, stderr = cli(t, vars, "orgs", "create", "--id", "acme", "--name", "Again")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `an organization with ID "acme" exists`)

	code, stdout, stderr = cli(t, vars, "policy", "set", "--org", "acme", "--require-expiry", "--max-lifetime-days", "30")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "gatehouse.policy.updated")
	var view struct {
		OrgID  string `json:"org_id"`
		Source string `json:"source"`
		Policy *struct {
			RequireExpiry   bool   `json:"require_expiry"`
			MaxLifetimeDays int    `json:"max_lifetime_days"`
			UpdatedBy       string `json:"updated_by"`
		} `json:"policy"`
		Effective struct {
			DefaultLifetimeDays int `json:"default_lifetime_days"`
		} `json:"effective"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &view), stdout)
	assert.Equal(t, "organization", view.Source)
	require.NotNil(t, view.Policy)
	assert.True(t, view.Policy.RequireExpiry)
	assert.Equal(t, 30, view.Policy.MaxLifetimeDays)
	assert.Equal(t, "cli", view.Policy.UpdatedBy)

	// A second set keeps what it does not name.
	code, stdout, stderr = cli(t, vars, "policy", "set", "--org", "acme", "--default-lifetime-days", "7")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &view))
	assert.Equal(t, 30, view.Policy.MaxLifetimeDays)
	assert.Equal(t, 7, view.Effective.DefaultLifetimeDays)

	code, stdout, _ = cli(t, vars, "orgs", "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, `acme\s+Acme Inc\s+expiry required, max 30d, default 7d`, stdout)
	assert.Regexp(t, `org_\S+\s+Generated\s+default`, stdout)

	// Keys of acme follow acme's policy; keys of other tenants the default.
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "long", "--scopes", "read", "--tenant", "acme", "--expires", "31d")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "maximum lifetime of 30 days")
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "acme-default", "--scopes", "read", "--tenant", "acme")
	require.Equal(t, 0, code, stderr)
	id := regexp.MustCompile(`created key (key_\S+)`).FindStringSubmatch(stderr)
	require.Len(t, id, 2, stderr)
	code, _, stderr = cli(t, vars, "keys", "update", "--expires", "60d", id[1])
	assert.Equal(t, 1, code, "an update follows the org's policy")
	assert.Contains(t, stderr, "maximum lifetime of 30 days")
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "other", "--scopes", "read", "--tenant", generated, "--expires", "300d")
	require.Equal(t, 0, code, "another tenant follows the default: %s", stderr)

	code, stdout, stderr = cli(t, vars, "policy", "clear", "--org", "acme")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &view))
	assert.Equal(t, "default", view.Source)
	assert.Nil(t, view.Policy)
	assert.Equal(t, 400, view.Effective.DefaultLifetimeDays, "the environment's default")
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "long", "--scopes", "read", "--tenant", "acme", "--expires", "300d")
	assert.Equal(t, 0, code, "cleared: %s", stderr)

	code, stdout, stderr = cli(t, vars, "policy", "get", "--org", "acme")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"source": "default"`)

	// Users: --org is --tenant, and names an organization on record.
	code, _, stderr = cli(t, vars, "users", "create", "--email", "ada@example.com", "--org", "acme")
	require.Equal(t, 0, code, stderr)
	code, stdout, _ = cli(t, vars, "users", "list", "--tenant", "acme")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "ada@example.com")
	code, _, stderr = cli(t, vars, "users", "create", "--email", "bob@example.com", "--org", "nowhere")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `no organization with ID "nowhere"`)
	code, _, stderr = cli(t, vars, "users", "create", "--email", "bob@example.com", "--tenant", "nowhere")
	assert.Equal(t, 1, code, "--tenant is checked the same way")
	assert.Contains(t, stderr, `no organization with ID "nowhere"`)
}

// TestUsersCreateWithoutOrgs: before any organization exists, tenants are
// free-form, as they were.
func TestUsersCreateWithoutOrgs(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	code, _, stderr := cli(t, vars, "users", "create", "--email", "ada@example.com", "--org", "t1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "of tenant t1")
}

func TestOrgsCLIErrors(t *testing.T) {
	dsn := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "g.db")}
	code, _, stderr := cli(t, dsn, "orgs", "create", "--id", "t1", "--name", "One")
	require.Equal(t, 0, code, stderr)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"orgs without subcommand", []string{"orgs"}, 2, "needs a subcommand"},
		{"create without name", []string{"orgs", "create", "--id", "x"}, 2, "--name is required"},
		{"create with a bad ID", []string{"orgs", "create", "--id", "a/b", "--name", "x"}, 2, "--id must be 1 to 64"},
		{"policy without org", []string{"policy", "get"}, 2, "needs --org"},
		{"policy of a missing org", []string{"policy", "get", "--org", "t9"}, 1, `no organization with ID "t9"`},
		{"policy set without a change", []string{"policy", "set", "--org", "t1"}, 2, "needs --require-expiry"},
		{"policy above 400 days", []string{"policy", "set", "--org", "t1", "--max-lifetime-days", "401"}, 2, "--max-lifetime-days must be 0 (no cap) to 400"},
		{"default above max", []string{"policy", "set", "--org", "t1", "--max-lifetime-days", "10", "--default-lifetime-days", "11"}, 2, "--default-lifetime-days must not exceed"},
		{"org and tenant differ", []string{"users", "create", "--email", "a@b.c", "--org", "t1", "--tenant", "t2"}, 2, "give one"},
		{"policy with a stray word", []string{"policy", "clear", "t1"}, 2, "takes no arguments"},
		{"email with a zero-width space", []string{"users", "create", "--email", "ada\u200b@b.c"}, 2, "--email"},
		{"email with a no-break space", []string{"users", "create", "--email", "ada\u00a0x@b.c"}, 2, "--email"},
		{"email with a BOM", []string{"users", "create", "--email", "\ufeffada@b.c"}, 2, "--email"},
		{"email not UTF-8", []string{"users", "create", "--email", "ada\xff@b.c"}, 2, "--email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, dsn, tt.args...)
			assert.Equal(t, tt.wantCode, code, stderr)
			assert.Contains(t, stderr, tt.wantErr)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "gatehouse: "), "one error line: %q", stderr)
		})
	}
}

// TestServeUsersAndOrgsAPI drives the users and organizations APIs of a
// running serve with the bootstrap super admin key.
func TestServeUsersAndOrgsAPI(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	base, out := startServer(t, vars)
	m := regexp.MustCompile(`KEY=(gh_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2, "bootstrap key printed: %s", out.String())
	key := m[1]

	send := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, base+path, rd)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var obj map[string]any
		b, _ := io.ReadAll(res.Body)
		if len(b) > 0 {
			require.NoError(t, json.Unmarshal(b, &obj), "%s", b)
		}
		return res.StatusCode, obj
	}
	code, obj := send("POST", "/api/auth/orgs", map[string]any{"id": "acme", "name": "Acme"})
	require.Equal(t, 201, code, obj)
	code, obj = send("PUT", "/api/auth/orgs/acme/policy", map[string]any{"require_expiry": true, "max_lifetime_days": 30})
	require.Equal(t, 200, code, obj)
	assert.Equal(t, "organization", obj["source"])
	code, obj = send("POST", "/api/auth/users", map[string]any{"email": "ada@acme.example", "name": "Ada", "tenant_id": "acme",
		"level": "org_admin", "password": "a long enough password"})
	require.Equal(t, 201, code, obj)
	assert.Equal(t, true, obj["has_password"], "serve hashes passwords")
	adaID := obj["id"].(string)

	// Ada logs in with the password the API set.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := browser.Post(base+"/api/auth/login", "application/json",
		strings.NewReader(`{"email":"ada@acme.example","password":"a long enough password"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, err = browser.Get(base + "/api/auth/session")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	code, obj = send("GET", "/api/auth/users?tenant_id=acme", nil)
	require.Equal(t, 200, code, obj)
	assert.Len(t, obj["users"], 1)
	code, obj = send("GET", "/api/auth/orgs", nil)
	require.Equal(t, 200, code, obj)
	assert.Len(t, obj["orgs"], 1)

	// The CLI sees the API's changes, and the API the CLI's.
	code, stdout, stderr := cli(t, vars, "policy", "get", "--org", "acme")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"max_lifetime_days": 30`)
	code, _, stderr = cli(t, vars, "policy", "clear", "--org", "acme")
	require.Equal(t, 0, code, stderr)
	code, obj = send("GET", "/api/auth/orgs/acme/policy", nil)
	require.Equal(t, 200, code, obj)
	assert.Equal(t, "default", obj["source"])

	// Deleting Ada ends her session at once.
	code, obj = send("DELETE", "/api/auth/users/"+adaID, nil)
	require.Equal(t, http.StatusNoContent, code, obj)
	res, err = browser.Get(base + "/api/auth/session")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "a deleted user's session still works")
}
