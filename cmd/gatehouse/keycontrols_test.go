package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/internal/testproxy"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// from sends a GET of path with key, as a client at xff behind the
// trusted proxy on loopback ("" sends no X-Forwarded-For: the proxy
// itself is the client).
func from(t *testing.T, base, path, key, xff string) (int, http.Header, string) {
	t.Helper()
	h := []string{"Authorization", "Bearer " + key}
	if xff != "" {
		h = append(h, "X-Forwarded-For", xff)
	}
	return send(t, client, "GET", base+path, "", h...)
}

// eventuallyFrom waits up to 5 s for a GET of /api/projects at base with
// key, from xff as from sends it, to answer want: a change made through
// another instance reaching this one.
func eventuallyFrom(t *testing.T, base, key, xff string, want int) {
	t.Helper()
	require.Eventually(t, func() bool {
		code, _, _ := from(t, base, "/api/projects", key, xff)
		return code == want
	}, 5*time.Second, 50*time.Millisecond)
}

// problemOf decodes a problem+json body.
func problemOf(t *testing.T, hdr http.Header, body string) middleware.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"), body)
	var p middleware.Problem
	require.NoError(t, json.Unmarshal([]byte(body), &p), body)
	return p
}

// keyStores are the databases serve runs on in these tests: SQLite (a
// file two instances share) and PostgreSQL.
func keyStores(t *testing.T) []struct {
	name string
	dsn  func(t *testing.T) string
} {
	return []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") }},
		{"postgres", func(t *testing.T) string { return testdb.Postgres(t, "gh_ctl_") }},
	}
}

// TestServeKeyControls: allowed networks and credits set through the API
// and the CLI are enforced by two serve instances on one database, behind
// a trusted proxy, with credits spent in the database.
func TestServeKeyControls(t *testing.T) {
	for _, db := range keyStores(t) {
		t.Run(db.name, func(t *testing.T) {
			vars := map[string]string{"GATEHOUSE_DSN": db.dsn(t)}
			flags := []string{"--trusted-proxies", "127.0.0.1,::1"}
			a := startInstance(t, vars, flags...)
			admin := bootstrapKey(t, a.stdout)
			b := startInstance(t, vars, flags...)

			t.Run("allowed networks", func(t *testing.T) {
				key, id := createKey(t, a.base, admin, `{"name":"office","scopes":["read"],"allowed_cidrs":["10.0.0.0/8","2001:db8::/32"]}`)
				for _, inst := range []instance{a, b} {
					code, _, body := from(t, inst.base, "/api/projects", key, "10.1.2.3")
					assert.Equal(t, 200, code, body)
					code, _, body = from(t, inst.base, "/api/projects", key, "2001:db8::7")
					assert.Equal(t, 200, code, body)
					code, hdr, body := from(t, inst.base, "/api/projects", key, "192.0.2.1")
					require.Equal(t, 403, code, body)
					p := problemOf(t, hdr, body)
					assert.Equal(t, "forbidden", p.Code)
					assert.Equal(t, middleware.DetailNetwork, p.Detail)
					code, _, _ = from(t, inst.base, "/api/projects", key, "")
					assert.Equal(t, 403, code, "the proxy itself is not in the networks")
					code, _, _ = from(t, inst.base, "/api/projects", key, "10.1.2.3, 192.0.2.1")
					assert.Equal(t, 403, code, "the client the proxy names, not the leftmost entry")
					code, _, _ = from(t, inst.base, "/api/me", key, "192.0.2.1")
					assert.Equal(t, 403, code, "every route")
				}
				// The forward-auth endpoint decides for the client the
				// proxy names.
				for xff, want := range map[string]int{"10.1.2.3": 200, "192.0.2.1": 403} {
					code, _, body := send(t, client, "GET", a.base+"/api/auth/verify", "", "Authorization", "Bearer "+key,
						"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/projects", "X-Forwarded-For", xff)
					assert.Equal(t, want, code, "verify from %s: %s", xff, body)
				}
				// An update made through one instance reaches the other's
				// cache (the invalidation feed), within a second or two.
				code, body, _ := call(t, "PATCH", a.base+"/api/auth/api-keys/"+id, admin, `{"allowed_cidrs":["192.0.2.0/24"]}`)
				require.Equal(t, 200, code, body)
				assert.Contains(t, body, `"allowed_cidrs":["192.0.2.0/24"]`)
				eventuallyFrom(t, b.base, key, "10.1.2.3", 403)
				code, _, _ = from(t, b.base, "/api/projects", key, "192.0.2.1")
				assert.Equal(t, 200, code)
			})

			t.Run("credits in the database", func(t *testing.T) {
				key, id := createKey(t, a.base, admin, `{"name":"metered","scopes":["read"],"credits":{"remaining":5}}`)
				var codes []int
				var left []string
				for i := range 8 {
					inst := []instance{a, b}[i%2]
					code, hdr, body := from(t, inst.base, "/api/projects", key, "")
					codes = append(codes, code)
					left = append(left, hdr.Get(middleware.HeaderCreditsRemaining))
					if code == 429 {
						p := problemOf(t, hdr, body)
						assert.Equal(t, "credits_exhausted", p.Code)
						assert.Equal(t, "This API key has no credits left", p.Detail)
					}
				}
				assert.Equal(t, []int{200, 200, 200, 200, 200, 429, 429, 429}, codes, "5 in all across both instances")
				assert.Equal(t, []string{"4", "3", "2", "1", "0", "0", "0", "0"}, left)
				code, body, _ := call(t, "GET", a.base+"/api/auth/api-keys/"+id, admin, "")
				require.Equal(t, 200, code)
				assert.Contains(t, body, `"credits":{"remaining":0}`, "the database holds the count")

				// The forward-auth endpoint spends one use per decision
				// to let a request through.
				fa, _ := createKey(t, a.base, admin, `{"name":"forwarded","scopes":["read"],"credits":{"remaining":1}}`)
				var faCodes []int
				for range 2 {
					code, _, _ := send(t, client, "GET", b.base+"/api/auth/verify", "", "Authorization", "Bearer "+fa,
						"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/projects")
					faCodes = append(faCodes, code)
				}
				assert.Equal(t, []int{200, 429}, faCodes)

				// A request refused for its scope spends nothing.
				scoped, _ := createKey(t, a.base, admin, `{"name":"reader","scopes":["read"],"credits":{"remaining":1}}`)
				code, _, _ = from(t, a.base, "/api/projects", scoped, "")
				require.Equal(t, 200, code)
				k2, _ := createKey(t, a.base, admin, `{"name":"reader2","scopes":["read"],"credits":{"remaining":1}}`)
				code, _, _ = send(t, client, "POST", a.base+"/api/projects", `{"name":"x"}`, "Authorization", "Bearer "+k2, "Content-Type", "application/json")
				require.Equal(t, 403, code, "no write scope")
				code, _, _ = from(t, b.base, "/api/projects", k2, "")
				assert.Equal(t, 200, code, "the refused request spent nothing")
			})

			t.Run("the CLI", func(t *testing.T) {
				code, stdout, stderr := cli(t, vars, "keys", "create", "--name", "cli", "--scopes", "read",
					"--allowed-cidr", "10.0.0.0/8", "--allowed-cidr", "192.0.2.7", "--credits", "3", "--refill", "3/day")
				require.Equal(t, 0, code, stderr)
				assert.Contains(t, stderr, "controls: networks 10.0.0.0/8,192.0.2.7/32; 3 uses, refilled to 3 each day")
				key := strings.TrimSpace(stdout)
				c, hdr, body := from(t, a.base, "/api/projects", key, "192.0.2.7")
				require.Equal(t, 200, c, body)
				assert.Equal(t, "2", hdr.Get(middleware.HeaderCreditsRemaining))
				c, _, _ = from(t, b.base, "/api/projects", key, "192.0.2.8")
				assert.Equal(t, 403, c)

				id := cliKeyID(t, vars, "cli")
				code, _, stderr = cli(t, vars, "keys", "update", "--no-credits", "--allowed-cidr", "198.51.100.0/24", id)
				require.Equal(t, 0, code, stderr)
				assert.Contains(t, stderr, "networks 198.51.100.0/24; unlimited uses")
				require.Eventually(t, func() bool {
					c, hdr, _ := from(t, b.base, "/api/projects", key, "198.51.100.9")
					return c == 200 && hdr.Get(middleware.HeaderCreditsRemaining) == ""
				}, 5*time.Second, 50*time.Millisecond)
				code, stdout, _ = cli(t, vars, "keys", "get", id)
				require.Equal(t, 0, code)
				assert.Contains(t, stdout, `"allowed_cidrs": [`)
				assert.Contains(t, stdout, `"credits": null`)

				for _, bad := range [][]string{
					{"--allowed-cidr", "10.0.0.0/33"},
					{"--credits", "-1"},
					{"--refill", "3/day"},
					{"--credits", "3", "--refill", "3/week"},
					{"--credits", "3", "--refill", "0/day"},
				} {
					code, _, stderr := cli(t, vars, append([]string{"keys", "create", "--name", "bad", "--scopes", "read"}, bad...)...)
					assert.Equal(t, 2, code, "%v: %s", bad, stderr)
				}
			})
		})
	}
}

// cliKeyID returns the ID of the key named name, from keys list.
func cliKeyID(t *testing.T, vars map[string]string, name string) string {
	t.Helper()
	code, stdout, stderr := cli(t, vars, "keys", "list")
	require.Equal(t, 0, code, stderr)
	for line := range strings.Lines(stdout) {
		f := strings.Fields(line)
		if len(f) > 1 && f[1] == name {
			return f[0]
		}
	}
	t.Fatalf("no key named %s in %s", name, stdout)
	return ""
}

// TestServeCreditsSharedInRedis: two instances on one Redis (and one
// database) share a key's credits exactly; the count lives in Redis.
func TestServeCreditsSharedInRedis(t *testing.T) {
	addr := testdb.RedisAddr(t)
	prefix := "gatehouse-test:" + randomName(t) + ":"
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "shared.db")}
	flags := []string{"--redis", addr, "--redis-prefix", prefix}
	a := startInstance(t, vars, flags...)
	admin := bootstrapKey(t, a.stdout)
	b := startInstance(t, vars, flags...)

	key, id := createKey(t, a.base, admin, `{"name":"metered","scopes":["read"],"credits":{"remaining":5,"refill":5,"interval":"day"}}`)
	var codes []int
	for i := range 8 {
		inst := []instance{a, b}[i%2]
		code, hdr, body := from(t, inst.base, "/api/projects", key, "")
		codes = append(codes, code)
		if code == 429 {
			p := problemOf(t, hdr, body)
			assert.Equal(t, "credits_exhausted", p.Code)
			assert.Contains(t, p.Detail, "This API key has no credits left; they refill at ")
			assert.Contains(t, p.Detail, "T00:00:00Z")
			assert.NotEmpty(t, hdr.Get("Retry-After"))
		}
	}
	assert.Equal(t, []int{200, 200, 200, 200, 200, 429, 429, 429}, codes, "5 in all across both instances")
	code, body, _ := call(t, "GET", a.base+"/api/auth/api-keys/"+id, admin, "")
	require.Equal(t, 200, code)
	assert.Contains(t, body, `"credits":{"remaining":0,`, "the management API shows the live count")
	code, stdout, stderr := cli(t, vars, "keys", "get", id)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"remaining": 5,`, "the database keeps the grant; Redis the count")

	// New credits from an admin start a new count at once, everywhere.
	code, body, _ = call(t, "PATCH", a.base+"/api/auth/api-keys/"+id, admin, `{"credits":{"remaining":2}}`)
	require.Equal(t, 200, code, body)
	eventuallyFrom(t, b.base, key, "", 200)
	code, _, _ = from(t, a.base, "/api/projects", key, "")
	assert.Equal(t, 200, code)
	code, _, _ = from(t, b.base, "/api/projects", key, "")
	assert.Equal(t, 429, code)

	// A rotated key carries over what is left, not the grant.
	code, body, _ = call(t, "PATCH", a.base+"/api/auth/api-keys/"+id, admin, `{"credits":{"remaining":3}}`)
	require.Equal(t, 200, code, body)
	eventuallyFrom(t, b.base, key, "", 200)
	code, body, _ = call(t, "POST", b.base+"/api/auth/api-keys/"+id+"/rotate", admin, "")
	require.Equal(t, 201, code, body)
	var rotated struct {
		Key    string `json:"key"`
		APIKey struct {
			Credits struct {
				Remaining int64 `json:"remaining"`
			} `json:"credits"`
		} `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &rotated))
	assert.Equal(t, int64(2), rotated.APIKey.Credits.Remaining)
	codes = nil
	for i := range 3 {
		code, _, _ := from(t, []instance{a, b}[i%2].base, "/api/projects", rotated.Key, "")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{200, 200, 429}, codes)
}

// TestServeCreditsRedisDown: while Redis does not answer, a key with
// credits is refused with 503 (fail closed, within the spend's bound) and
// a key without them is served as before; when Redis is back, so is the
// metered key.
func TestServeCreditsRedisDown(t *testing.T) {
	addr := testdb.RedisAddr(t)
	px := testproxy.Start(t, addr)
	prefix := "gatehouse-test:" + randomName(t) + ":"
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	// No per-address limit: only the credits need Redis on these routes.
	a := startInstance(t, vars, "--redis", px.Addr(), "--redis-prefix", prefix, "--rate-limit", "off", "--store-timeout", "1s")
	admin := bootstrapKey(t, a.stdout)
	metered, _ := createKey(t, a.base, admin, `{"name":"metered","scopes":["read"],"credits":{"remaining":10}}`)
	plain, _ := createKey(t, a.base, admin, `{"name":"plain","scopes":["read"]}`)
	code, _, _ := from(t, a.base, "/api/projects", metered, "")
	require.Equal(t, 200, code)

	for _, cut := range []struct {
		name string
		do   func()
	}{{"hung", px.Hang}, {"refused", px.Reset}} {
		t.Run(cut.name, func(t *testing.T) {
			cut.do()
			start := time.Now()
			code, hdr, body := from(t, a.base, "/api/projects", metered, "")
			require.Equal(t, 503, code, body)
			assert.Less(t, time.Since(start), 3*time.Second, "answered within the bound")
			p := problemOf(t, hdr, body)
			assert.Equal(t, "unavailable", p.Code)
			assert.NotContains(t, body, "redis")
			assert.NotContains(t, body, px.Addr())
			code, _, _ = from(t, a.base, "/api/projects", plain, "")
			assert.Equal(t, 200, code, "a key without credits does not need Redis")
			px.Resume()
			require.Eventually(t, func() bool {
				code, _, _ := from(t, a.base, "/api/projects", metered, "")
				return code == 200
			}, 10*time.Second, 100*time.Millisecond)
		})
	}
}
