package admin_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// TestManagerOnSQL runs the users, organizations and per-organization
// policy paths of the Manager on SQLite and PostgreSQL, as on memory
// above: the stores' records carry what the rules need.
func TestManagerOnSQL(t *testing.T) {
	for _, d := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "g.db") }},
		{"postgres", func(t *testing.T) string { return testdb.Postgres(t, "gh_admin_") }},
	} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, d.dsn(t), sqlstore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			clock := newClock(t0)
			m, err := admin.NewManager(db, db, format, admin.Config{Orgs: db, Passwords: fakePasswords{},
				Policy: admin.Policy{DefaultLifetimeDays: 90}, Now: clock.Now, Logger: slogJSON(&syncBuffer{})})
			require.NoError(t, err)
			require.NoError(t, db.CreateUser(ctx, &store.User{ID: sam, TenantID: "hq", Email: "sam@hq.example",
				Level: store.LevelSuperAdmin, CreatedAt: t0}))
			samp := &gatehouse.Principal{ID: sam, TenantID: "hq", Scopes: []string{"admin", "read", "write"}}

			for _, id := range []string{"hq", "acme", "globex"} {
				_, err := m.CreateOrg(ctx, samp, admin.NewOrg{ID: id, Name: "Org " + id})
				require.NoError(t, err)
			}
			_, err = m.CreateOrg(ctx, samp, admin.NewOrg{ID: "acme", Name: "again"})
			assertFields(t, err, "id")
			_, err = m.CreateUser(ctx, samp, admin.NewUser{Email: "x@nowhere.example", TenantID: "nowhere"})
			assertFields(t, err, "tenant_id")

			ada, err := m.CreateUser(ctx, samp, admin.NewUser{Email: "Ada@Acme.example", Name: "Ada", TenantID: "acme",
				Level: store.LevelOrgAdmin, Scopes: []string{"admin", "read"}, Password: "long enough"})
			require.NoError(t, err)
			_, err = m.CreateUser(ctx, samp, admin.NewUser{Email: "ada@acme.EXAMPLE", TenantID: "acme"})
			assertFields(t, err, "email")
			adap := &gatehouse.Principal{ID: ada.ID, TenantID: "acme", Scopes: []string{"admin", "read"}}
			bo, err := m.CreateUser(ctx, adap, admin.NewUser{Email: "bo@acme.example", Scopes: []string{"read"}})
			require.NoError(t, err)
			assert.Equal(t, "acme", bo.TenantID)
			_, err = m.CreateUser(ctx, samp, admin.NewUser{Email: "gus@globex.example", TenantID: "globex"})
			require.NoError(t, err)

			users, _, err := m.ListUsers(ctx, adap, admin.UserListRequest{})
			require.NoError(t, err)
			require.Len(t, users, 2, "an org admin lists only their organization")
			assert.ElementsMatch(t, []string{ada.ID, bo.ID}, []string{users[0].ID, users[1].ID})
			_, err = m.GetOrg(ctx, adap, "globex")
			assert.ErrorIs(t, err, admin.ErrNotFound)
			_, err = m.UpdateUser(ctx, adap, bo.ID, admin.UserChange{Level: ptr(store.LevelSuperAdmin)})
			assert.ErrorIs(t, err, admin.ErrForbidden)

			// acme's policy overrides the default for acme's keys only.
			o, err := m.SetOrgPolicy(ctx, adap, "acme", &admin.Policy{RequireExpiry: true, MaxLifetimeDays: 30, DefaultLifetimeDays: 7})
			require.NoError(t, err)
			require.NotNil(t, o.Policy)
			assert.Equal(t, ada.ID, o.Policy.UpdatedBy)
			bop := &gatehouse.Principal{ID: bo.ID, TenantID: "acme", Scopes: []string{"read"}}
			c, err := m.Create(ctx, bop, admin.CreateRequest{Name: "k", Scopes: []string{"read"}})
			require.NoError(t, err)
			assert.Equal(t, admin.Policy{}.EndOfDay(t0, 7), c.Record.ExpiresAt)
			_, err = m.Update(ctx, bop, c.Record.ID, admin.UpdateRequest{Expiry: admin.Expiry{InDays: true, Days: 31}})
			assertFields(t, err, "expires_in_days")
			clock.Advance(24 * time.Hour)
			r, err := m.Rotate(ctx, bop, c.Record.ID, 0)
			require.NoError(t, err)
			assert.Equal(t, admin.Policy{}.EndOfDay(t0.Add(24*time.Hour), 7), r.Record.ExpiresAt, "same lifetime, within the policy")
			pol, err := m.PolicyFor(ctx, "globex")
			require.NoError(t, err)
			assert.Equal(t, 90, pol.DefaultLifetimeDays, "globex follows the default")

			_, err = m.SetOrgPolicy(ctx, adap, "acme", nil)
			assert.ErrorIs(t, err, admin.ErrForbidden, "only a super admin relaxes a policy")
			_, err = m.SetOrgPolicy(ctx, samp, "acme", nil)
			require.NoError(t, err)
			pol, err = m.PolicyFor(ctx, "acme")
			require.NoError(t, err)
			assert.Equal(t, 90, pol.DefaultLifetimeDays, "cleared: the default again")

			// Deleting a user revokes their keys.
			require.NoError(t, m.DeleteUser(ctx, adap, bo.ID))
			k, err := db.KeyByID(ctx, r.Record.ID)
			require.NoError(t, err)
			assert.True(t, k.Revoked())
			_, err = db.UserByID(ctx, bo.ID)
			assert.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}
