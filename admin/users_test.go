package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// userCall is one call of the users API: op is list, get, create, update
// or delete; target the user acted on; tenant, level, name and scopes the
// request's members ("" and nil: not given).
type userCall struct {
	op     string
	target string
	tenant string
	level  store.Level
	name   string
	scopes []string
}

// userDriver performs c as actor and returns the status it got and, for
// list, the IDs listed.
type userDriver func(t *testing.T, e *env, actor string, c userCall) (int, []string)

func usersViaManager(t *testing.T, e *env, actor string, c userCall) (int, []string) {
	t.Helper()
	ctx := context.Background()
	p := e.principal(t, e.boot[actor])
	switch c.op {
	case "list":
		users, _, err := e.mgr.ListUsers(ctx, p, admin.UserListRequest{TenantID: c.tenant})
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		return statusOf(err, http.StatusOK), ids
	case "get":
		u, err := e.mgr.GetUser(ctx, p, c.target)
		if err == nil {
			assert.Equal(t, c.target, u.ID)
		}
		return statusOf(err, http.StatusOK), nil
	case "create":
		email := strings.ToLower(strings.ReplaceAll(c.name, " ", ".")) + "@new.example"
		u, err := e.mgr.CreateUser(ctx, p, admin.NewUser{Email: email, Name: c.name, TenantID: c.tenant, Level: c.level, Scopes: c.scopes})
		if err == nil {
			want := c.tenant
			if want == "" {
				want = p.TenantID
			}
			assert.Equal(t, want, u.TenantID)
			stored, err := e.mem.UserByEmail(ctx, email)
			require.NoError(t, err)
			assert.Equal(t, u.ID, stored.ID)
		}
		return statusOf(err, http.StatusCreated), nil
	case "update":
		ch := admin.UserChange{}
		if c.name != "" {
			ch.Name = &c.name
		}
		if c.level != "" {
			ch.Level = &c.level
		}
		if c.scopes != nil {
			ch.Scopes = &c.scopes
		}
		_, err := e.mgr.UpdateUser(ctx, p, c.target, ch)
		return statusOf(err, http.StatusOK), nil
	case "delete":
		err := e.mgr.DeleteUser(ctx, p, c.target)
		return statusOf(err, http.StatusNoContent), nil
	}
	t.Fatalf("unknown op %q", c.op)
	return 0, nil
}

// userRows is the users API's permission table. Each row runs on a fresh
// deployment.
var userRows = []struct {
	name  string
	actor string
	call  userCall
	want  int
	list  []string // list: the IDs expected
}{
	// Reading.
	{"member reads self", alice, userCall{op: "get", target: alice}, 200, nil},
	{"member reads colleague", alice, userCall{op: "get", target: bob}, 403, nil},
	{"member reads other org", alice, userCall{op: "get", target: carol}, 404, nil},
	{"org admin without admin scope reads colleague", oscar, userCall{op: "get", target: bob}, 403, nil},
	{"org admin reads colleague", olga, userCall{op: "get", target: bob}, 200, nil},
	{"org admin reads super admin of own org", olga, userCall{op: "get", target: sam}, 200, nil},
	{"org admin reads other org", olga, userCall{op: "get", target: carol}, 404, nil},
	{"org admin reads a missing user", olga, userCall{op: "get", target: "u_nobody"}, 404, nil},
	{"super admin reads other org", sam, userCall{op: "get", target: carol}, 200, nil},

	// Listing.
	{"member lists", alice, userCall{op: "list"}, 403, nil},
	{"member with admin scope lists", mallory, userCall{op: "list"}, 403, nil},
	{"org admin without admin scope lists", oscar, userCall{op: "list"}, 403, nil},
	{"org admin lists own org", olga, userCall{op: "list"}, 200, []string{alice, bob, mallory, olga, oscar, sam}},
	{"org admin lists other org", olga, userCall{op: "list", tenant: "t2"}, 200, nil},
	{"other org admin lists", otto, userCall{op: "list"}, 200, []string{carol, otto}},
	{"super admin lists other org", sam, userCall{op: "list", tenant: "t2"}, 200, []string{carol, otto}},

	// Creating.
	{"member creates", alice, userCall{op: "create", name: "Nina"}, 403, nil},
	{"member with admin scope creates", mallory, userCall{op: "create", name: "Nina"}, 403, nil},
	{"org admin without admin scope creates", oscar, userCall{op: "create", name: "Nina"}, 403, nil},
	{"org admin creates member", olga, userCall{op: "create", name: "Nina"}, 201, nil},
	{"org admin creates org admin", olga, userCall{op: "create", name: "Nina", level: store.LevelOrgAdmin}, 201, nil},
	{"org admin creates super admin", olga, userCall{op: "create", name: "Nina", level: store.LevelSuperAdmin}, 403, nil},
	{"org admin creates in other org", olga, userCall{op: "create", name: "Nina", tenant: "t2"}, 404, nil},
	{"org admin grants a scope they lack", olga, userCall{op: "create", name: "Nina", scopes: []string{"billing"}}, 403, nil},
	{"org admin grants own scopes", olga, userCall{op: "create", name: "Nina", scopes: []string{"read"}}, 201, nil},
	{"org admin gives a bad level", olga, userCall{op: "create", name: "Nina", level: "root"}, 422, nil},
	{"super admin creates super admin", sam, userCall{op: "create", name: "Nina", level: store.LevelSuperAdmin}, 201, nil},
	{"super admin creates in other org", sam, userCall{op: "create", name: "Nina", tenant: "t2"}, 201, nil},
	{"super admin creates in an org not on record", sam, userCall{op: "create", name: "Nina", tenant: "t9"}, 422, nil},

	// Updating.
	{"member renames self", alice, userCall{op: "update", target: alice, name: "Al"}, 403, nil},
	{"member renames colleague", alice, userCall{op: "update", target: bob, name: "Bo"}, 403, nil},
	{"org admin without admin scope renames", oscar, userCall{op: "update", target: bob, name: "Bo"}, 403, nil},
	{"org admin renames colleague", olga, userCall{op: "update", target: bob, name: "Bo"}, 200, nil},
	{"org admin renames other org", olga, userCall{op: "update", target: carol, name: "Ca"}, 404, nil},
	{"org admin raises to org admin", olga, userCall{op: "update", target: bob, level: store.LevelOrgAdmin}, 200, nil},
	{"org admin raises to super admin", olga, userCall{op: "update", target: bob, level: store.LevelSuperAdmin}, 403, nil},
	{"org admin raises self to super admin", olga, userCall{op: "update", target: olga, level: store.LevelSuperAdmin}, 403, nil},
	{"org admin changes super admin", olga, userCall{op: "update", target: sam, name: "S"}, 403, nil},
	{"org admin grants a scope they lack", olga, userCall{op: "update", target: bob, scopes: []string{"billing"}}, 403, nil},
	{"org admin narrows scopes", olga, userCall{op: "update", target: bob, scopes: []string{"read"}}, 200, nil},
	{"org admin gives a bad name", olga, userCall{op: "update", target: bob, name: "a\nb"}, 422, nil},
	{"super admin raises to super admin", sam, userCall{op: "update", target: carol, level: store.LevelSuperAdmin}, 200, nil},

	// Deleting.
	{"member deletes colleague", alice, userCall{op: "delete", target: bob}, 403, nil},
	{"org admin without admin scope deletes", oscar, userCall{op: "delete", target: bob}, 403, nil},
	{"org admin deletes colleague", olga, userCall{op: "delete", target: bob}, 204, nil},
	{"org admin deletes other org", olga, userCall{op: "delete", target: carol}, 404, nil},
	{"org admin deletes super admin", olga, userCall{op: "delete", target: sam}, 403, nil},
	{"org admin deletes self", olga, userCall{op: "delete", target: olga}, 403, nil},
	{"super admin deletes other org", sam, userCall{op: "delete", target: otto}, 204, nil},
}

// TestUserPermissions runs the users table through the Manager; a refused
// write leaves the target as it was.
func TestUserPermissions(t *testing.T) {
	runUserRows(t, usersViaManager)
}

func runUserRows(t *testing.T, do userDriver) {
	for _, row := range userRows {
		t.Run(row.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			ctx := context.Background()
			for _, id := range []string{"t1", "t2"} {
				require.NoError(t, e.mem.CreateOrg(ctx, &store.Org{ID: id, Name: id, CreatedAt: t0}))
			}
			var before *store.User
			if row.call.target != "" {
				before, _ = e.mem.UserByID(ctx, row.call.target)
			}
			got, ids := do(t, e, row.actor, row.call)
			assert.Equal(t, row.want, got)
			if row.call.op == "list" && got == 200 {
				assert.ElementsMatch(t, row.list, ids)
			}
			if got >= 400 && before != nil {
				after, err := e.mem.UserByID(ctx, row.call.target)
				require.NoError(t, err, "a refused call deleted the user")
				assert.Equal(t, before, after, "a refused call changed the user")
			}
			if row.call.op == "create" && got >= 400 {
				users, _, err := e.mem.ListUsers(ctx, store.UserFilter{})
				require.NoError(t, err)
				assert.Len(t, users, len(testUsers), "a refused create stored a user")
			}
		})
	}
}

func TestCreateUserValidation(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	p := e.principal(t, e.boot[olga])
	tests := []struct {
		name   string
		user   admin.NewUser
		fields []string
	}{
		{"no email", admin.NewUser{Name: "x"}, []string{"email"}},
		{"email without @", admin.NewUser{Email: "ada.example.com"}, []string{"email"}},
		{"email with a space", admin.NewUser{Email: "a da@example.com"}, []string{"email"}},
		{"email with two @", admin.NewUser{Email: "a@b@example.com"}, []string{"email"}},
		{"long name", admin.NewUser{Email: "n@example.com", Name: strings.Repeat("n", 201)}, []string{"name"}},
		{"name with NUL", admin.NewUser{Email: "n@example.com", Name: "a\x00b"}, []string{"name"}},
		{"bad level", admin.NewUser{Email: "n@example.com", Level: "owner"}, []string{"level"}},
		{"bad scope", admin.NewUser{Email: "n@example.com", Scopes: []string{"a b"}}, []string{"scopes"}},
		{"short password", admin.NewUser{Email: "n@example.com", Password: "short"}, []string{"password"}},
		{"taken email, other case", admin.NewUser{Email: " ALICE@t1.example "}, []string{"email"}},
		{"everything wrong", admin.NewUser{Email: "x", Name: "\x01", Level: "x", Scopes: []string{""}, Password: "1"},
			[]string{"email", "name", "level", "scopes", "password"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.mgr.CreateUser(ctx, p, tc.user)
			var v *admin.ValidationError
			require.ErrorAs(t, err, &v)
			var got []string
			for f, msg := range v.Fields {
				got = append(got, f)
				assert.NotEmpty(t, msg)
			}
			assert.ElementsMatch(t, tc.fields, got)
		})
	}
}

// TestCreateUserPasswordNeverLogged creates a user with a password and
// checks that the record holds a hash and that neither the password nor
// the hash reaches the audit log.
func TestCreateUserPasswordNeverLogged(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	const pw = "correct horse battery staple"
	u, err := e.mgr.CreateUser(ctx, e.principal(t, e.boot[olga]),
		admin.NewUser{Email: "Nina@T1.example", Name: "Nina", Password: pw, Scopes: []string{"read"}})
	require.NoError(t, err)
	assert.Equal(t, "nina@t1.example", u.Email)
	assert.Equal(t, "t1", u.TenantID, "the actor's org by default")
	assert.Equal(t, store.LevelMember, u.Level, "member by default")
	stored, err := e.mem.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "$fake$28", stored.PasswordHash)
	logs := e.logs.String()
	assert.NotContains(t, logs, pw)
	assert.NotContains(t, logs, stored.PasswordHash)
	var created map[string]any
	for _, ev := range logEvents(t, e.logs) {
		if ev["msg"] == "gatehouse.user.created" {
			created = ev
		}
	}
	require.NotNil(t, created, "user creation is audited")
	assert.Equal(t, u.ID, created["user_id"])
	assert.Equal(t, olga, created["actor_id"])
}

// TestCreateUserWithoutHasher refuses a password the manager cannot hash.
func TestCreateUserWithoutHasher(t *testing.T) {
	mem := store.NewMemory()
	require.NoError(t, mem.CreateUser(context.Background(), &store.User{ID: sam, TenantID: "t1", Level: store.LevelSuperAdmin}))
	m, err := admin.NewManager(mem, mem, format, admin.Config{})
	require.NoError(t, err)
	p := principalOf(sam, "t1", "admin")
	_, err = m.CreateUser(context.Background(), p, admin.NewUser{Email: "x@example.com", Password: "long enough"})
	var v *admin.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Contains(t, v.Fields, "password")
	u, err := m.CreateUser(context.Background(), p, admin.NewUser{Email: "x@example.com", TenantID: "t9"})
	require.NoError(t, err, "without an org store, tenants are free-form")
	assert.Empty(t, u.PasswordHash)
}

// TestDeleteUserRevokesKeys deletes a user with two keys: both stop
// working, and the deletion and the revocations are audited.
func TestDeleteUserRevokesKeys(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	k1, _ := e.issue(t, bob, apikey.Params{})
	k2, _ := e.issue(t, bob, apikey.Params{})
	require.NoError(t, e.mgr.DeleteUser(ctx, e.principal(t, e.boot[olga]), bob))
	for _, k := range []string{k1, k2, e.boot[bob]} {
		_, err := e.auth.Verify(ctx, k)
		assert.Error(t, err, "a deleted user's key still works")
	}
	_, err := e.mem.UserByID(ctx, bob)
	assert.ErrorIs(t, err, store.ErrNotFound)
	revoked, deleted := 0, 0
	for _, ev := range logEvents(t, e.logs) {
		switch ev["msg"] {
		case "gatehouse.key.revoked":
			revoked++
		case "gatehouse.user.deleted":
			deleted++
		}
	}
	assert.Equal(t, 3, revoked)
	assert.Equal(t, 1, deleted)
}

// principalOf is a principal built by hand, for a manager without an
// authenticator.
func principalOf(id, tenant string, sc ...string) *gatehouse.Principal {
	return &gatehouse.Principal{ID: id, TenantID: tenant, Kind: gatehouse.KindAPIKey, Scopes: sc}
}

// TestUserChangesEndSessions: a change of level or scopes, and a
// deletion, end the user's login sessions; a rename does not.
func TestUserChangesEndSessions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		act   func(m *admin.Manager, p *gatehouse.Principal) error
		ended bool
	}{
		{"rename", func(m *admin.Manager, p *gatehouse.Principal) error {
			_, err := m.UpdateUser(ctx, p, bob, admin.UserChange{Name: ptr("Bo")})
			return err
		}, false},
		{"level", func(m *admin.Manager, p *gatehouse.Principal) error {
			_, err := m.UpdateUser(ctx, p, bob, admin.UserChange{Level: ptr(store.LevelOrgAdmin)})
			return err
		}, true},
		{"scopes", func(m *admin.Manager, p *gatehouse.Principal) error {
			_, err := m.UpdateUser(ctx, p, bob, admin.UserChange{Scopes: ptr([]string{"read"})})
			return err
		}, true},
		{"delete", func(m *admin.Manager, p *gatehouse.Principal) error { return m.DeleteUser(ctx, p, bob) }, true},
		{"refused level change", func(m *admin.Manager, p *gatehouse.Principal) error {
			_, err := m.UpdateUser(ctx, p, bob, admin.UserChange{Level: ptr(store.LevelSuperAdmin)})
			assert.ErrorIs(t, err, admin.ErrForbidden)
			return nil
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			bobs := &store.Session{Digest: store.Digest{1}, UserID: bob, TenantID: "t1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			alices := &store.Session{Digest: store.Digest{2}, UserID: alice, TenantID: "t1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			require.NoError(t, e.mem.CreateSession(ctx, bobs))
			require.NoError(t, e.mem.CreateSession(ctx, alices))
			require.NoError(t, tc.act(e.mgr, e.principal(t, e.boot[olga])))
			_, err := e.mem.SessionByDigest(ctx, bobs.Digest)
			if tc.ended {
				assert.ErrorIs(t, err, store.ErrNotFound, "the session outlived the change")
			} else {
				assert.NoError(t, err)
			}
			_, err = e.mem.SessionByDigest(ctx, alices.Digest)
			assert.NoError(t, err, "another user's session stays")
		})
	}
}
