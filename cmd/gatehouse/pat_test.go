package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// TestPersonalAccessConfig creates a config with the CLI, mints a token
// with it, verifies the token as a server on the same database would, and
// checks that deleting the registration revokes it.
func TestPersonalAccessConfig(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	vars := map[string]string{"GATEHOUSE_DSN": db}
	code, _, stderr := cli(t, vars, "users", "create", "--id", "alice", "--email", "alice@example.com")
	require.Equal(t, 0, code, stderr)

	path := filepath.Join(dir, "alice.json")
	code, stdout, stderr := cli(t, vars, "pat", "create", "--owner", "alice", "--scopes", "read,predict", "--name", "laptop", "--out", path)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, path+"\n", stdout, "stdout is the file's path alone")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, stderr, string(raw), "the private key is never printed")

	cfg, err := jwtauth.ReadConfigFile(path)
	require.NoError(t, err)
	token, err := jwtauth.Mint(cfg, time.Now(), 5*time.Minute)
	require.NoError(t, err)

	// The server side, as gatehouse serve builds it.
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, db, sqlstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	reg, err := jwtauth.NewRegisteredKeys(s, jwtauth.RegisteredKeysConfig{})
	require.NoError(t, err)
	auth, err := jwtauth.New(jwtauth.Config{}, jwtauth.Issuer{Issuer: patIssuer, Audience: []string{patAudience}, Keys: reg, MaxLifetime: jwtauth.MaxMintTTL})
	require.NoError(t, err)
	p, err := auth.Verify(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, "alice", p.ID)
	assert.ElementsMatch(t, []string{"read", "predict"}, p.Scopes)

	code, stdout, _ = cli(t, vars, "pat", "list", "--owner", "alice")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "laptop")
	assert.Contains(t, stdout, cfg.KeyID)
	assert.NotContains(t, stdout, "PRIVATE")

	code, _, stderr = cli(t, vars, "pat", "delete", cfg.KeyID)
	require.Equal(t, 0, code, stderr)
	reg.Invalidate(cfg.KeyID) // what the recheck interval does on its own within a minute
	_, err = auth.Verify(ctx, token)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "a deleted registration's tokens are refused")
}

func TestPersonalAccessConfigErrors(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "g.db")}
	code, _, stderr := cli(t, vars, "users", "create", "--id", "bob", "--email", "bob@example.com")
	require.Equal(t, 0, code, stderr)
	existing := filepath.Join(dir, "exists.json")
	require.NoError(t, os.WriteFile(existing, []byte("{}"), 0o600))

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no subcommand", []string{"pat"}, 2, "needs a subcommand"},
		{"no owner", []string{"pat", "create"}, 2, "needs --owner"},
		{"unknown owner", []string{"pat", "create", "--owner", "nobody", "--out", filepath.Join(dir, "x.json")}, 1, `no user with ID "nobody"`},
		{"bad algorithm", []string{"pat", "create", "--owner", "bob", "--algorithm", "HS256"}, 2, "EdDSA or ES256"},
		{"bad scopes", []string{"pat", "create", "--owner", "bob", "--scopes", `a"b`}, 2, "--scopes"},
		{"file exists", []string{"pat", "create", "--owner", "bob", "--out", existing}, 1, "exist"},
		{"list without owner", []string{"pat", "list"}, 2, "needs --owner"},
		{"delete unknown", []string{"pat", "delete", "kid_nope"}, 1, `no registration with kid "kid_nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, vars, tt.args...)
			assert.Equal(t, tt.wantCode, code, stderr)
			assert.Contains(t, stderr, tt.wantErr)
			assert.Equal(t, 1, strings.Count(stderr, "gatehouse: "), "one error line: %q", stderr)
		})
	}
	code, stdout, _ := cli(t, vars, "pat", "list", "--owner", "bob")
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stdout), "\n")+1, "a failed create leaves no registration behind: %s", stdout)
}
