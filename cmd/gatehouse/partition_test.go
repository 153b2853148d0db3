package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/internal/testproxy"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// These tests run `gatehouse serve` instances on a real PostgreSQL (and
// Redis), each reaching the database through a TCP proxy the test holds,
// hangs and resets, as an operator cutting the network would.

// pgThroughProxy returns a fresh database's DSN and a proxy in front of
// it; proxied is the DSN through the proxy.
func pgThroughProxy(t *testing.T) (direct string, newProxy func() (string, *testproxy.Proxy)) {
	t.Helper()
	direct = testdb.Postgres(t, "gh_part_")
	return direct, func() (string, *testproxy.Proxy) {
		u, err := url.Parse(direct)
		require.NoError(t, err)
		p := testproxy.Start(t, u.Host)
		u.Host = p.Addr()
		return u.String(), p
	}
}

var keyLine = regexp.MustCompile(`KEY=(gh_live\.\S+)`)

func bootstrapKey(t *testing.T, out *syncBuffer) string {
	t.Helper()
	m := keyLine.FindStringSubmatch(out.String())
	require.Len(t, m, 2, "bootstrap key printed: %s", out.String())
	return m[1]
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends a request with a Bearer key and returns status, body and
// how long the answer took.
func call(t *testing.T, method, url, key, body string) (int, string, time.Duration) {
	t.Helper()
	h := []string{"Content-Type", "application/json"}
	if key != "" {
		h = append(h, "Authorization", "Bearer "+key)
	}
	start := time.Now()
	code, hdr, b := send(t, client, method, url, body, h...)
	if code == http.StatusServiceUnavailable {
		assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"), "a 503 is problem+json")
	}
	return code, b, time.Since(start)
}

// createKey creates a key through an instance's management API and
// returns the key and its ID.
func createKey(t *testing.T, base, admin, body string) (key, id string) {
	t.Helper()
	code, b, _ := call(t, "POST", base+"/api/auth/api-keys", admin, body)
	require.Equal(t, http.StatusCreated, code, b)
	var out struct {
		Key    string `json:"key"`
		APIKey struct {
			ID string `json:"id"`
		} `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(b), &out))
	return out.Key, out.APIKey.ID
}

func randomName(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "k" + hex.EncodeToString(b[:])
}

// TestServeHungDatabase: with PostgreSQL accepting connections but never
// answering, every request that needs it is answered 503 within the bound
// plus a second, and a key whose creation was answered 503 does not exist
// once the network heals.
func TestServeHungDatabase(t *testing.T) {
	direct, newProxy := pgThroughProxy(t)
	dsn, proxy := newProxy()
	const bound = 2 * time.Second
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	code, _, stderr := cliStdin(t, map[string]string{"GATEHOUSE_DSN": direct}, flowPassword+"\n",
		"users", "create", "--email", flowEmail, "--password-stdin")
	require.Equal(t, 0, code, stderr)
	a := startInstance(t, vars, "--store-timeout", bound.String())
	admin := bootstrapKey(t, a.stdout)
	other, _ := createKey(t, a.base, admin, `{"name":"warm","scopes":["read"]}`)
	unseen, _ := createKey(t, a.base, admin, `{"name":"unseen","scopes":["read"]}`)
	code, _, _ = call(t, "GET", a.base+"/api/projects", other, "")
	require.Equal(t, 200, code)
	code, _, _ = call(t, "GET", a.base+"/api/auth/api-keys", admin, "")
	require.Equal(t, 200, code)

	proxy.Hang()
	defer proxy.Resume()
	requests := []struct {
		name, method, path, key, body string
	}{
		{"create a key", "POST", "/api/auth/api-keys", admin, `{"name":"lost-in-partition","scopes":["read"]}`},
		{"list keys", "GET", "/api/auth/api-keys", admin, ""},
		{"log in", "POST", "/api/auth/login", "", `{"email":"` + flowEmail + `","password":"` + flowPassword + `"}`},
		{"a key never seen", "GET", "/api/projects", unseen, ""},
		{"a cached key, once the feed is silent", "GET", "/api/projects", other, ""},
	}
	var wg sync.WaitGroup
	for i, rq := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == len(requests)-1 {
				time.Sleep(1200 * time.Millisecond) // older than the revalidation span
			}
			code, body, took := call(t, rq.method, a.base+rq.path, rq.key, rq.body)
			assert.Equal(t, http.StatusServiceUnavailable, code, "%s: %s", rq.name, body)
			assert.Less(t, took, bound+time.Second, "%s answered within the bound plus a second", rq.name)
			assert.NotContains(t, body, "gh_live.", "%s: no secret in the answer", rq.name)
			t.Logf("%s: %d in %v", rq.name, code, took.Round(time.Millisecond))
		}()
	}
	wg.Wait()

	// The partition heals: held bytes reach the database.
	proxy.Resume()
	time.Sleep(2 * time.Second)
	s, err := sqlstore.Open(context.Background(), direct, sqlstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	keys, _, err := s.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true, Limit: 100})
	require.NoError(t, err)
	for _, k := range keys {
		assert.NotEqual(t, "lost-in-partition", k.Name, "a key whose create request got 503 exists")
	}
	// And the instance serves again.
	require.Eventually(t, func() bool {
		code, _, _ := call(t, "GET", a.base+"/api/projects", other, "")
		return code == 200
	}, 10*time.Second, 100*time.Millisecond)
}

// revocationRounds creates a key on a, warms it on b, revokes it through
// a, and returns how long b kept accepting it after the revocation
// returned, for each round.
func revocationRounds(t *testing.T, a, b instance, admin string, rounds int) []time.Duration {
	t.Helper()
	var delays []time.Duration
	for range rounds {
		key, id := createKey(t, a.base, admin, `{"name":"`+randomName(t)+`","scopes":["read"]}`)
		require.Eventually(t, func() bool {
			code, _, _ := call(t, "GET", b.base+"/api/projects", key, "")
			return code == 200
		}, 5*time.Second, 20*time.Millisecond, "the new key works on the other instance")
		// Let b's entry age past the revalidation span, the case where
		// only the feed or revalidation can tell b.
		time.Sleep(1100 * time.Millisecond)
		code, body, _ := call(t, "DELETE", a.base+"/api/auth/api-keys/"+id, admin, "")
		require.Equal(t, http.StatusOK, code, body)
		revoked := time.Now()
		for {
			code, _, _ := call(t, "GET", b.base+"/api/projects", key, "")
			if code == http.StatusUnauthorized {
				break
			}
			require.Equal(t, http.StatusOK, code)
			require.Less(t, time.Since(revoked), 10*time.Second, "the other instance never refused the revoked key")
			time.Sleep(5 * time.Millisecond)
		}
		delays = append(delays, time.Since(revoked))
	}
	return delays
}

func report(t *testing.T, what string, ds []time.Duration) time.Duration {
	t.Helper()
	s := slices.Clone(ds)
	slices.Sort(s)
	t.Logf("%s: median %v, max %v over %d rounds", what, s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
	return s[len(s)-1]
}

// TestServeRevocationAfterOutage: two instances on one database. After a
// 15 s outage of the database, and while one instance's feed alone is cut,
// a key revoked through one instance is refused by the other within 1 s,
// in every one of 20 rounds.
func TestServeRevocationAfterOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s outage")
	}
	_, newProxy := pgThroughProxy(t)
	dsnA, pa := newProxy()
	dsnB, pb := newProxy()
	a := startInstance(t, map[string]string{"GATEHOUSE_DSN": dsnA})
	admin := bootstrapKey(t, a.stdout)
	b := startInstance(t, map[string]string{"GATEHOUSE_DSN": dsnB})

	t.Run("after a 15 s outage", func(t *testing.T) {
		pa.Reset()
		pb.Reset()
		time.Sleep(15 * time.Second)
		pa.Resume()
		pb.Resume()
		max := report(t, "after the outage, revocation reached the other instance", revocationRounds(t, a, b, admin, 20))
		assert.Less(t, max, time.Second)
		assert.Contains(t, b.stderr.String(), "gatehouse.feed.down", "the outage is logged")
		require.Eventually(t, func() bool { return strings.Contains(b.stderr.String(), "gatehouse.feed.up") },
			10*time.Second, 50*time.Millisecond, "and its end")
	})

	t.Run("with one instance's feed cut", func(t *testing.T) {
		pb.HangWhere(sqlstore.WatcherApplicationName)
		defer pb.Resume()
		before := strings.Count(b.stderr.String(), "gatehouse.feed.down")
		max := report(t, "with its feed cut, revocation reached the other instance", revocationRounds(t, a, b, admin, 20))
		assert.Less(t, max, time.Second)
		assert.Greater(t, strings.Count(b.stderr.String(), "gatehouse.feed.down"), before, "the cut feed is logged: %s", b.stderr.String())
		for _, line := range strings.Split(b.stderr.String(), "\n") {
			if strings.Contains(line, "gatehouse.feed.down") {
				assert.Contains(t, line, "level=WARN")
			}
		}
	})
}

// TestServeLimitsSharedAcrossInstances: with --redis, the per-address login
// failure count and a key's own rate limit hold across two instances.
func TestServeLimitsSharedAcrossInstances(t *testing.T) {
	addr := testdb.RedisAddr(t)
	prefix := "gatehouse-test:" + randomName(t) + ":"
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "shared.db")}
	flags := []string{"--redis", addr, "--redis-prefix", prefix}
	a := startInstance(t, vars, flags...)
	admin := bootstrapKey(t, a.stdout)
	b := startInstance(t, vars, flags...)

	t.Run("login failures per address", func(t *testing.T) {
		// Each attempt names another account, so that only the address
		// count can refuse it: 20 free failures from one address in all.
		var codes []int
		for i := range 24 {
			base := []string{a.base, b.base}[i%2]
			code, _, _ := call(t, "POST", base+"/api/auth/login", "",
				fmt.Sprintf(`{"email":"nobody%d@example.com","password":"wrong password"}`, i))
			codes = append(codes, code)
		}
		first := slices.Index(codes, http.StatusTooManyRequests)
		assert.Equal(t, 20, first, "the 21st failure from one address is refused, whichever instance counts it: %v", codes)
	})

	t.Run("a key's own rate limit", func(t *testing.T) {
		key, _ := createKey(t, a.base, admin, `{"name":"limited","scopes":["read"],"metadata":{"rate_limit":"3/1m"}}`)
		var codes []int
		for i := range 8 {
			base := []string{a.base, b.base}[i%2]
			code, _, _ := call(t, "GET", base+"/api/projects", key, "")
			codes = append(codes, code)
		}
		assert.Equal(t, []int{200, 200, 200, 429, 429, 429, 429, 429}, codes, "3 in all across both instances")
		unlimited, _ := createKey(t, a.base, admin, `{"name":"unlimited","scopes":["read"]}`)
		for i := range 8 {
			code, _, _ := call(t, "GET", []string{a.base, b.base}[i%2]+"/api/projects", unlimited, "")
			assert.Equal(t, 200, code, "without --key-rate-limit, a key without its own limit is not limited")
		}
	})

	t.Run("the --key-rate-limit default", func(t *testing.T) {
		c := startInstance(t, vars, append(flags, "--key-rate-limit", "2/1m", "--redis-prefix", prefix+"d:")...)
		key, _ := createKey(t, a.base, admin, `{"name":"default-limited","scopes":["read"]}`)
		var codes []int
		for range 3 {
			code, _, _ := call(t, "GET", c.base+"/api/projects", key, "")
			codes = append(codes, code)
		}
		assert.Equal(t, []int{200, 200, 429}, codes)
	})
}

// TestServeOneBootstrapKey: ten instances starting together on an empty
// database make exactly one bootstrap key, printed by one of them.
func TestServeOneBootstrapKey(t *testing.T) {
	dsn := testdb.Postgres(t, "gh_boot_")
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	outs := make([]instance, 10)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = startInstance(t, vars)
		}()
	}
	wg.Wait()
	printed := 0
	for _, o := range outs {
		printed += len(keyLine.FindAllString(o.stdout.String(), -1))
	}
	assert.Equal(t, 1, printed, "one instance printed the key")
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	keys, _, err := s.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Len(t, keys, 1, "one bootstrap key exists")
}

// TestPepperMismatchStopsTheProcess: a process whose pepper is not the one
// the database's keys were made with refuses to start, naming
// GATEHOUSE_PEPPER, and creates nothing.
func TestPepperMismatchStopsTheProcess(t *testing.T) {
	dsns := map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") },
		"postgres": func(t *testing.T) string { return testdb.Postgres(t, "gh_pep_") },
	}
	for name, fresh := range dsns {
		t.Run(name, func(t *testing.T) {
			dsn := fresh(t)
			peppered := map[string]string{"GATEHOUSE_DSN": dsn, "GATEHOUSE_PEPPER": "a-pepper-of-32-bytes-0123456789ab"}
			a := startInstance(t, peppered)
			bootstrapKey(t, a.stdout)
			tests := []struct {
				name string
				vars map[string]string
				args []string
			}{
				{"CLI without the pepper", map[string]string{"GATEHOUSE_DSN": dsn}, []string{"keys", "create", "--name", "x", "--scopes", "read"}},
				{"CLI with another pepper", map[string]string{"GATEHOUSE_DSN": dsn, "GATEHOUSE_PEPPER": "another-pepper-32-bytes-01234567"}, []string{"keys", "list"}},
				{"serve without the pepper", map[string]string{"GATEHOUSE_DSN": dsn}, []string{"serve", "--addr", "127.0.0.1:0"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					code, stdout, stderr := cli(t, tc.vars, tc.args...)
					assert.NotEqual(t, 0, code)
					assert.Contains(t, stderr, "GATEHOUSE_PEPPER")
					assert.NotContains(t, stdout+stderr, "a-pepper-of-32", "the pepper is never printed")
					assert.NotContains(t, stdout, "gh_live.", "no key was shown")
				})
			}
			code, stdout, stderr := cli(t, peppered, "keys", "list")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, 1, strings.Count(stdout, "key_"), "only the bootstrap key exists: %s", stdout)
		})
	}
}
