package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
)

// rotation is the answer of POST .../rotate, as far as credits go.
type rotation struct {
	Key    string `json:"key"`
	APIKey struct {
		ID      string      `json:"id"`
		Credits *creditsOut `json:"credits"`
	} `json:"api_key"`
	Old struct {
		Credits *creditsOut `json:"credits"`
	} `json:"old_api_key"`
}

type creditsOut struct {
	Remaining int64 `json:"remaining"`
}

// codes sends n GETs of /api/projects with key to inst and returns the
// statuses.
func codes(t *testing.T, inst instance, key string, n int) []int {
	t.Helper()
	var out []int
	for range n {
		code, _, _ := from(t, inst.base, "/api/projects", key, "")
		out = append(out, code)
	}
	return out
}

// TestRotateMovesCreditsRedis: with credits counted in Redis, a rotation
// through the API or the CLI moves the live count: the new key gets what
// is left, the old key, in its grace period, none; rotating the old key
// again gives nothing more. The CLI refuses to rotate a metered key
// without being told where the count is.
func TestRotateMovesCreditsRedis(t *testing.T) {
	addr := testdb.RedisAddr(t)
	prefix := "gatehouse-test:" + randomName(t) + ":"
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	a := startInstance(t, vars, "--redis", addr, "--redis-prefix", prefix)
	admin := bootstrapKey(t, a.stdout)

	t.Run("API", func(t *testing.T) {
		key, id := createKey(t, a.base, admin, `{"name":"api","scopes":["read"],"credits":{"remaining":3}}`)
		require.Equal(t, []int{200}, codes(t, a, key, 1))
		var rot [2]rotation
		for i := range rot {
			code, body, _ := call(t, "POST", a.base+"/api/auth/api-keys/"+id+"/rotate", admin, `{"grace_seconds":3600}`)
			require.Equal(t, 201, code, body)
			require.NoError(t, json.Unmarshal([]byte(body), &rot[i]))
			require.NotNil(t, rot[i].Old.Credits)
			assert.Zero(t, rot[i].Old.Credits.Remaining, "the old key keeps none")
		}
		require.NotNil(t, rot[0].APIKey.Credits)
		assert.Equal(t, int64(2), rot[0].APIKey.Credits.Remaining, "the live count, not the grant")
		assert.Equal(t, int64(0), rot[1].APIKey.Credits.Remaining, "the old key again: nothing left to move")
		assert.Equal(t, []int{429}, codes(t, a, key, 1), "the old key in its grace period")
		assert.Equal(t, []int{200, 200, 429}, codes(t, a, rot[0].Key, 3))
		assert.Equal(t, []int{429}, codes(t, a, rot[1].Key, 1))
	})

	t.Run("CLI", func(t *testing.T) {
		key, id := createKey(t, a.base, admin, `{"name":"cli","scopes":["read"],"credits":{"remaining":3}}`)
		require.Equal(t, []int{200}, codes(t, a, key, 1))
		code, _, stderr := cli(t, vars, "keys", "rotate", "--grace", "1h", id)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "pass --redis ADDR")
		assert.Contains(t, stderr, "--credits-in-database")
		code, _, stderr = cli(t, vars, "keys", "rotate", "--grace", "1h", "--redis", addr, "--credits-in-database", id)
		assert.Equal(t, 2, code, stderr)

		code, stdout, stderr := cli(t, vars, "keys", "rotate", "--grace", "1h", "--redis", addr, "--redis-prefix", prefix, id)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "2 uses moved to the new key")
		newKey := strings.TrimSpace(stdout)
		newID, _, ok := strings.Cut(strings.TrimPrefix(stderr, "created key "), " ")
		require.True(t, ok, stderr)
		assert.Equal(t, []int{429}, codes(t, a, key, 1), "the old key in its grace period")
		assert.Equal(t, []int{200, 200, 429}, codes(t, a, newKey, 3))

		// keys get shows the live count with --redis (GATEHOUSE_REDIS
		// here), the grant without.
		code, stdout, _ = cli(t, vars, "keys", "get", id)
		require.Equal(t, 0, code)
		assert.Contains(t, stdout, `"remaining": 0`)
		rvars := map[string]string{"GATEHOUSE_DSN": vars["GATEHOUSE_DSN"], "GATEHOUSE_REDIS": addr}
		code, stdout, stderr = cli(t, rvars, "keys", "get", "--redis-prefix", prefix, newID)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `"remaining": 0`, "both uses spent")
		code, stdout, _ = cli(t, vars, "keys", "get", newID)
		require.Equal(t, 0, code)
		assert.Contains(t, stdout, `"remaining": 2`, "the database keeps the grant")
	})
}

// TestRotateMovesCreditsDatabase: with credits counted in the database,
// the CLI moves the count the database holds when told so.
func TestRotateMovesCreditsDatabase(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	a := startInstance(t, vars)
	admin := bootstrapKey(t, a.stdout)
	key, id := createKey(t, a.base, admin, `{"name":"db","scopes":["read"],"credits":{"remaining":3}}`)
	require.Equal(t, []int{200}, codes(t, a, key, 1))
	code, _, stderr := cli(t, vars, "keys", "rotate", "--grace", "1h", id)
	require.Equal(t, 2, code, stderr)
	code, stdout, stderr := cli(t, vars, "keys", "rotate", "--grace", "1h", "--credits-in-database", id)
	require.Equal(t, 0, code, stderr)
	newKey := strings.TrimSpace(stdout)
	assert.Equal(t, []int{429}, codes(t, a, key, 1), "the old key in its grace period")
	assert.Equal(t, []int{200, 200, 429}, codes(t, a, newKey, 3))

	// A key without credits needs neither flag.
	_, plainID := createKey(t, a.base, admin, `{"name":"plain","scopes":["read"]}`)
	code, _, stderr = cli(t, vars, "keys", "rotate", plainID)
	assert.Equal(t, 0, code, stderr)
}
