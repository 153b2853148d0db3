package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestUsersWithoutScopesAreBounded: a user created or promoted without a
// scopes list by anyone but a super admin holds the actor's scopes, never
// none (which would mean unbounded).
func TestUsersWithoutScopesAreBounded(t *testing.T) {
	tests := []struct {
		name  string
		actor string
		http  bool
		want  []string // nil: unbounded
	}{
		{"org admin, manager", olga, false, []string{"admin", "read"}},
		{"org admin, HTTP", olga, true, []string{"admin", "read"}},
		{"super admin, manager", sam, false, nil},
		{"super admin, HTTP", sam, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, envConfig{})
			withOrgs(t, e)
			// The actor acts with a key narrower than their user record.
			key, _ := e.issue(t, tc.actor, apikey.Params{Scopes: []string{"admin", "read"}})
			p := e.principal(t, key)

			t.Run("create", func(t *testing.T) {
				var id string
				if tc.http {
					r := requireStatus(t, e.do(t, http.MethodPost, usersPath, key, map[string]any{"email": "nina@t1.example", "level": "org_admin"}), http.StatusCreated)
					id = r["id"].(string)
				} else {
					u, err := e.mgr.CreateUser(ctx, p, admin.NewUser{Email: "nina@t1.example", Level: store.LevelOrgAdmin})
					require.NoError(t, err)
					id = u.ID
				}
				u, err := e.mem.UserByID(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, tc.want, u.Scopes)
			})
			t.Run("promote", func(t *testing.T) {
				require.NoError(t, e.mem.CreateUser(ctx, &store.User{ID: "u_nils", TenantID: "t1", Email: "nils@t1.example", Level: store.LevelMember, CreatedAt: t0}))
				if tc.http {
					requireStatus(t, e.do(t, http.MethodPatch, usersPath+"/u_nils", key, map[string]any{"level": "org_admin"}), http.StatusOK)
				} else {
					_, err := e.mgr.UpdateUser(ctx, p, "u_nils", admin.UserChange{Level: ptr(store.LevelOrgAdmin)})
					require.NoError(t, err)
				}
				u, err := e.mem.UserByID(ctx, "u_nils")
				require.NoError(t, err)
				assert.Equal(t, store.LevelOrgAdmin, u.Level)
				assert.Equal(t, tc.want, u.Scopes)
			})
		})
	}
}
