package main

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// TestKeysCreateOwner: keys create places a key in its owner's tenant,
// within its owner's scopes, and in an organization on record once any
// exists.
func TestKeysCreateOwner(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "g.db")
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	code, _, stderr := cli(t, vars, "orgs", "create", "--id", "acme", "--name", "Acme")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, vars, "orgs", "create", "--id", "globex", "--name", "Globex")
	require.Equal(t, 0, code, stderr)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.CreateUser(ctx, &store.User{ID: "u_ada", TenantID: "acme", Email: "ada@acme.example",
		Level: store.LevelOrgAdmin, Scopes: []string{"admin", "read"}, CreatedAt: time.Now().UTC()}))
	require.NoError(t, db.CreateUser(ctx, &store.User{ID: "u_free", TenantID: "acme", Email: "free@acme.example",
		Level: store.LevelMember, CreatedAt: time.Now().UTC()}))

	tests := []struct {
		name   string
		args   []string
		code   int
		want   string // in stderr
		tenant string // of the key, when created
	}{
		{"tenant defaults to the owner's", []string{"--owner", "u_ada", "--scopes", "read"}, 0, "", "acme"},
		{"the owner's tenant given", []string{"--owner", "u_ada", "--tenant", "acme", "--scopes", "read"}, 0, "", "acme"},
		{"another tenant than the owner's", []string{"--owner", "u_ada", "--tenant", "globex", "--scopes", "read"}, 2, "not the tenant of owner", ""},
		{"scopes the owner lacks", []string{"--owner", "u_ada", "--scopes", "read,write,admin"}, 1, "owner may not hold", ""},
		{"a role beyond the owner", []string{"--owner", "u_ada", "--role", "editor"}, 1, "owner may not hold", ""},
		{"an owner without a scopes list", []string{"--owner", "u_free", "--scopes", "read,write"}, 0, "", "acme"},
		{"a tenant not on record", []string{"--tenant", "nosuchorg", "--scopes", "read"}, 1, `no organization with ID "nosuchorg"`, ""},
		{"no tenant once organizations exist", []string{"--scopes", "read"}, 2, "organizations exist", ""},
		{"an unknown owner, no tenant", []string{"--owner", "u_svc", "--scopes", "read"}, 2, "organizations exist", ""},
		{"an unknown owner in an org", []string{"--owner", "u_svc", "--tenant", "globex", "--scopes", "read"}, 0, "", "globex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"keys", "create", "--name", "k"}, tc.args...)
			code, _, stderr := cli(t, vars, args...)
			require.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.want)
			if tc.code != 0 {
				return
			}
			id := regexp.MustCompile(`created key (key_\S+)`).FindStringSubmatch(stderr)
			require.Len(t, id, 2, stderr)
			k, err := db.KeyByID(ctx, id[1])
			require.NoError(t, err)
			assert.Equal(t, tc.tenant, k.TenantID)
		})
	}
}
