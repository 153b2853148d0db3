package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// TestUsersCreateScopesAndAudit: users create takes --scopes and logs the
// gatehouse.user.created event the API logs.
func TestUsersCreateScopesAndAudit(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "g.db")
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	tests := []struct {
		name   string
		args   []string
		code   int
		scopes []string
	}{
		{"with scopes", []string{"--email", "ada@example.com", "--scopes", "write,read"}, 0, []string{"read", "write"}},
		{"without scopes", []string{"--email", "bo@example.com"}, 0, nil},
		{"bad scopes", []string{"--email", "cy@example.com", "--scopes", `re"ad`}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, vars, append([]string{"users", "create"}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			if tc.code != 0 {
				assert.Contains(t, stderr, "--scopes")
				assert.NotContains(t, stderr, "gatehouse.user.created")
				return
			}
			id := strings.TrimSpace(stdout)
			assert.Contains(t, stderr, "msg=gatehouse.user.created user_id="+id)
			assert.Contains(t, stderr, "actor_id=cli")
			db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Config{})
			require.NoError(t, err)
			defer db.Close()
			u, err := db.UserByID(context.Background(), id)
			require.NoError(t, err)
			assert.Equal(t, tc.scopes, u.Scopes)
		})
	}
}
