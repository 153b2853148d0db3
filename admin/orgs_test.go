package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// withOrgs records the organizations t1 and t2.
func withOrgs(t *testing.T, e *env) {
	t.Helper()
	for _, id := range []string{"t1", "t2"} {
		require.NoError(t, e.mem.CreateOrg(context.Background(), &store.Org{ID: id, Name: "Org " + id, CreatedAt: t0}))
	}
}

// orgCall is one call of the organizations API.
type orgCall struct {
	op     string // list, get, create, rename, set-policy, clear-policy
	org    string
	name   string
	policy *admin.Policy
}

type orgDriver func(t *testing.T, e *env, actor string, c orgCall) int

func orgsViaManager(t *testing.T, e *env, actor string, c orgCall) int {
	t.Helper()
	ctx := context.Background()
	p := e.principal(t, e.boot[actor])
	var err error
	success := http.StatusOK
	switch c.op {
	case "list":
		var orgs []*store.Org
		orgs, _, err = e.mgr.ListOrgs(ctx, p, "", 0)
		if err == nil {
			assert.Len(t, orgs, 2)
		}
	case "get":
		var o *store.Org
		o, err = e.mgr.GetOrg(ctx, p, c.org)
		if err == nil {
			assert.Equal(t, c.org, o.ID)
		}
	case "create":
		_, err = e.mgr.CreateOrg(ctx, p, admin.NewOrg{ID: c.org, Name: c.name})
		success = http.StatusCreated
	case "rename":
		_, err = e.mgr.RenameOrg(ctx, p, c.org, c.name)
	case "set-policy":
		_, err = e.mgr.SetOrgPolicy(ctx, p, c.org, c.policy)
	case "clear-policy":
		_, err = e.mgr.SetOrgPolicy(ctx, p, c.org, nil)
	default:
		t.Fatalf("unknown op %q", c.op)
	}
	return statusOf(err, success)
}

var strictOrg = &admin.Policy{RequireExpiry: true, MaxLifetimeDays: 30, DefaultLifetimeDays: 7}

var orgRows = []struct {
	name  string
	actor string
	call  orgCall
	want  int
}{
	{"member lists", alice, orgCall{op: "list"}, 403},
	{"org admin lists", olga, orgCall{op: "list"}, 403},
	{"super admin lists", sam, orgCall{op: "list"}, 200},
	{"member reads own org", alice, orgCall{op: "get", org: "t1"}, 200},
	{"member reads other org", alice, orgCall{op: "get", org: "t2"}, 404},
	{"org admin reads other org", olga, orgCall{op: "get", org: "t2"}, 404},
	{"super admin reads other org", sam, orgCall{op: "get", org: "t2"}, 200},
	{"super admin reads a missing org", sam, orgCall{op: "get", org: "t9"}, 404},
	{"org admin creates", olga, orgCall{op: "create", org: "t3", name: "Three"}, 403},
	{"super admin creates", sam, orgCall{op: "create", org: "t3", name: "Three"}, 201},
	{"super admin creates a taken ID", sam, orgCall{op: "create", org: "t2", name: "Two"}, 422},
	{"super admin creates a bad ID", sam, orgCall{op: "create", org: "../t", name: "Bad"}, 422},
	{"super admin creates without a name", sam, orgCall{op: "create", org: "t3"}, 422},
	{"member renames own org", alice, orgCall{op: "rename", org: "t1", name: "X"}, 403},
	{"org admin without admin scope renames", oscar, orgCall{op: "rename", org: "t1", name: "X"}, 403},
	{"org admin renames own org", olga, orgCall{op: "rename", org: "t1", name: "X"}, 200},
	{"org admin renames other org", otto, orgCall{op: "rename", org: "t1", name: "X"}, 404},
	{"org admin renames to nothing", olga, orgCall{op: "rename", org: "t1", name: ""}, 422},
	{"super admin renames other org", sam, orgCall{op: "rename", org: "t2", name: "X"}, 200},
	{"member sets policy", alice, orgCall{op: "set-policy", org: "t1", policy: strictOrg}, 403},
	{"member with admin scope sets policy", mallory, orgCall{op: "set-policy", org: "t1", policy: strictOrg}, 403},
	{"org admin without admin scope sets policy", oscar, orgCall{op: "set-policy", org: "t1", policy: strictOrg}, 403},
	{"org admin sets own policy", olga, orgCall{op: "set-policy", org: "t1", policy: strictOrg}, 200},
	{"org admin sets other org's policy", olga, orgCall{op: "set-policy", org: "t2", policy: strictOrg}, 404},
	{"org admin clears other org's policy", olga, orgCall{op: "clear-policy", org: "t2"}, 404},
	{"super admin sets other org's policy", sam, orgCall{op: "set-policy", org: "t2", policy: strictOrg}, 200},
	{"super admin sets a missing org's policy", sam, orgCall{op: "set-policy", org: "t9", policy: strictOrg}, 404},
	{"org admin clears own policy", olga, orgCall{op: "clear-policy", org: "t1"}, 403},
	{"super admin clears a policy", sam, orgCall{op: "clear-policy", org: "t2"}, 200},
	{"org admin sets 401 days", olga, orgCall{op: "set-policy", org: "t1", policy: &admin.Policy{MaxLifetimeDays: 401}}, 422},
}

func TestOrgPermissions(t *testing.T) { runOrgRows(t, orgsViaManager) }

func runOrgRows(t *testing.T, do orgDriver) {
	for _, row := range orgRows {
		t.Run(row.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			withOrgs(t, e)
			ctx := context.Background()
			before, _, err := e.mem.ListOrgs(ctx, store.OrgFilter{})
			require.NoError(t, err)
			assert.Equal(t, row.want, do(t, e, row.actor, row.call))
			if row.want >= 400 {
				after, _, err := e.mem.ListOrgs(ctx, store.OrgFilter{})
				require.NoError(t, err)
				assert.Equal(t, before, after, "a refused call changed an organization")
			}
		})
	}
}

func TestSetOrgPolicyValidation(t *testing.T) {
	e := newEnv(t, envConfig{})
	withOrgs(t, e)
	p := e.principal(t, e.boot[olga])
	tests := []struct {
		name   string
		policy admin.Policy
		fields []string
	}{
		{"max above 400", admin.Policy{MaxLifetimeDays: 401}, []string{"max_lifetime_days"}},
		{"negative max", admin.Policy{MaxLifetimeDays: -1}, []string{"max_lifetime_days"}},
		{"negative default", admin.Policy{DefaultLifetimeDays: -1}, []string{"default_lifetime_days"}},
		{"default above max", admin.Policy{MaxLifetimeDays: 30, DefaultLifetimeDays: 31}, []string{"default_lifetime_days"}},
		{"default above 400", admin.Policy{DefaultLifetimeDays: 500}, []string{"default_lifetime_days"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.mgr.SetOrgPolicy(context.Background(), p, "t1", &tc.policy)
			var v *admin.ValidationError
			require.ErrorAs(t, err, &v)
			var got []string
			for f := range v.Fields {
				got = append(got, f)
			}
			assert.ElementsMatch(t, tc.fields, got)
		})
	}
	o, err := e.mgr.SetOrgPolicy(context.Background(), p, "t1", &admin.Policy{MaxLifetimeDays: 400, DefaultLifetimeDays: 400})
	require.NoError(t, err, "400 days is allowed")
	require.NotNil(t, o.Policy)
	assert.Equal(t, olga, o.Policy.UpdatedBy)
	assert.True(t, t0.Equal(o.Policy.UpdatedAt))
}

// TestOrgPolicy checks that keys follow their organization's policy when
// it has one, and the default policy otherwise, on every path that sets an
// expiry: create, update and rotate.
func TestOrgPolicy(t *testing.T) {
	ctx := context.Background()
	endOf := func(days int) time.Time { return admin.Policy{}.EndOfDay(t0, days) }
	// The default allows anything; t1's policy requires expiry within 30
	// days and defaults to 7.
	t.Run("org policy overrides the default", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		withOrgs(t, e)
		_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[olga]), "t1", strictOrg)
		require.NoError(t, err)
		alicep, carolp := e.principal(t, e.boot[alice]), e.principal(t, e.boot[carol])

		c, err := e.mgr.Create(ctx, alicep, admin.CreateRequest{Name: "default", Scopes: []string{"read"}})
		require.NoError(t, err)
		assert.Equal(t, endOf(7), c.Record.ExpiresAt, "t1's default lifetime")

		_, err = e.mgr.Create(ctx, alicep, admin.CreateRequest{Name: "long", Scopes: []string{"read"}, Expiry: admin.Expiry{InDays: true, Days: 31}})
		assertFields(t, err, "expires_in_days")

		c, err = e.mgr.Create(ctx, carolp, admin.CreateRequest{Name: "t2", Scopes: []string{"read"}})
		require.NoError(t, err)
		assert.True(t, c.Record.ExpiresAt.IsZero(), "t2 has no policy: the default (none) applies")

		pol, err := e.mgr.PolicyFor(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, 30, pol.MaxLifetimeDays)
		pol, err = e.mgr.PolicyFor(ctx, "t2")
		require.NoError(t, err)
		assert.Equal(t, admin.Policy{}, pol)
		pol, err = e.mgr.PolicyFor(ctx, "t_not_on_record")
		require.NoError(t, err)
		assert.Equal(t, admin.Policy{}, pol)
	})
	t.Run("a lax org policy overrides a strictOrg default", func(t *testing.T) {
		e := newEnv(t, envConfig{policy: admin.Policy{RequireExpiry: true, MaxLifetimeDays: 30}})
		withOrgs(t, e)
		_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[sam]), "t2", &admin.Policy{})
		require.NoError(t, err)
		c, err := e.mgr.Create(ctx, e.principal(t, e.boot[carol]), admin.CreateRequest{Name: "forever", Scopes: []string{"read"}})
		require.NoError(t, err)
		assert.True(t, c.Record.ExpiresAt.IsZero())
		_, err = e.mgr.Create(ctx, e.principal(t, e.boot[alice]), admin.CreateRequest{Name: "forever", Scopes: []string{"read"}})
		assertFields(t, err, "expires_at")
	})
	t.Run("keys created before keep working", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		withOrgs(t, e)
		key, rec := e.issue(t, alice, apikey.Params{})
		_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[olga]), "t1", strictOrg)
		require.NoError(t, err)
		e.clock.Advance(90 * 24 * time.Hour)
		p, err := e.auth.Verify(ctx, key)
		require.NoError(t, err, "a key without expiry outlives a new policy")
		assert.Equal(t, rec.ID, p.KeyID)
		// Renaming it touches no expiry, so the policy does not object.
		_, err = e.mgr.Update(ctx, e.principal(t, e.boot[alice]), rec.ID, admin.UpdateRequest{Name: ptr("renamed")})
		require.NoError(t, err)
	})
	t.Run("extend follows the org policy", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		withOrgs(t, e)
		_, rec := e.issue(t, alice, apikey.Params{})
		_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[olga]), "t1", strictOrg)
		require.NoError(t, err)
		alicep := e.principal(t, e.boot[alice])
		_, err = e.mgr.Update(ctx, alicep, rec.ID, admin.UpdateRequest{Expiry: admin.Expiry{InDays: true, Days: 60}})
		assertFields(t, err, "expires_in_days")
		_, err = e.mgr.Update(ctx, alicep, rec.ID, admin.UpdateRequest{Expiry: admin.Expiry{Set: true}})
		assertFields(t, err, "expires_at")
		k, err := e.mgr.Update(ctx, alicep, rec.ID, admin.UpdateRequest{Expiry: admin.Expiry{InDays: true, Days: 20}})
		require.NoError(t, err)
		assert.Equal(t, endOf(20), k.ExpiresAt)
	})
	t.Run("rotate follows the org policy", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		withOrgs(t, e)
		_, forever := e.issue(t, alice, apikey.Params{})
		_, yearly := e.issue(t, alice, apikey.Params{ExpiresAt: t0.Add(365 * 24 * time.Hour)})
		_, carols := e.issue(t, carol, apikey.Params{})
		_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[olga]), "t1", strictOrg)
		require.NoError(t, err)
		r, err := e.mgr.Rotate(ctx, e.principal(t, e.boot[alice]), yearly.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, endOf(30), r.Record.ExpiresAt, "a year is capped at t1's maximum")
		r, err = e.mgr.Rotate(ctx, e.principal(t, e.boot[alice]), forever.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, endOf(7), r.Record.ExpiresAt, "a key without expiry gets t1's default lifetime")
		r, err = e.mgr.Rotate(ctx, e.principal(t, e.boot[carol]), carols.ID, 0)
		require.NoError(t, err)
		assert.True(t, r.Record.ExpiresAt.IsZero(), "t2 follows the default")
		// RotateKey, the operators' path, follows it too.
		_, other := e.issue(t, bob, apikey.Params{})
		r, err = e.mgr.RotateKey(ctx, other, 0, "cli")
		require.NoError(t, err)
		assert.Equal(t, endOf(7), r.Record.ExpiresAt)
	})
	t.Run("clearing restores the default", func(t *testing.T) {
		e := newEnv(t, envConfig{policy: admin.Policy{DefaultLifetimeDays: 90}})
		withOrgs(t, e)
		olgap := e.principal(t, e.boot[olga])
		_, err := e.mgr.SetOrgPolicy(ctx, olgap, "t1", strictOrg)
		require.NoError(t, err)
		o, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[sam]), "t1", nil)
		require.NoError(t, err)
		assert.Nil(t, o.Policy)
		c, err := e.mgr.Create(ctx, e.principal(t, e.boot[alice]), admin.CreateRequest{Name: "d", Scopes: []string{"read"}})
		require.NoError(t, err)
		assert.Equal(t, endOf(90), c.Record.ExpiresAt)
		var events []string
		for _, ev := range logEvents(t, e.logs) {
			if ev["msg"] == "gatehouse.policy.updated" {
				events = append(events, ev["actor_id"].(string))
				assert.Equal(t, "t1", ev["org_id"])
			}
		}
		assert.Equal(t, []string{olga, sam}, events, "both changes are audited")
	})
}

// failingOrgs is an org store that is down.
type failingOrgs struct{ store.OrgStore }

var errDown = errors.New("org store down")

func (failingOrgs) OrgByID(context.Context, string) (*store.Org, error) { return nil, errDown }

// TestOrgPolicyStoreDown: when the policy cannot be read, no key is
// created, extended or rotated (503), and nothing is written.
func TestOrgPolicyStoreDown(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envConfig{orgs: failingOrgs{store.NewMemory()}})
	_, rec := e.issue(t, alice, apikey.Params{})
	p := e.principal(t, e.boot[alice])
	writes := e.keys.writes()
	_, err := e.mgr.Create(ctx, p, admin.CreateRequest{Name: "x", Scopes: []string{"read"}})
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	_, err = e.mgr.Update(ctx, p, rec.ID, admin.UpdateRequest{Expiry: admin.Expiry{InDays: true, Days: 3}})
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	_, err = e.mgr.Rotate(ctx, p, rec.ID, 0)
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.Equal(t, writes, e.keys.writes(), "nothing was written")
	assert.NotContains(t, e.logs.String(), errDown.Error())
}

func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var v *admin.ValidationError
	if !assert.ErrorAs(t, err, &v) {
		return
	}
	for _, f := range fields {
		assert.Contains(t, v.Fields, f)
	}
}

// TestOrgPolicyRelaxing: an org admin may only tighten the policy in force
// for their organization (its own, or the default); a super admin sets or
// clears any.
func TestOrgPolicyRelaxing(t *testing.T) {
	tests := []struct {
		name     string
		def      admin.Policy  // Config.Policy
		own      *admin.Policy // t1's policy before, set by the super admin
		set      *admin.Policy // nil: clear
		orgAdmin int           // status for olga
	}{
		{"require expiry on", admin.Policy{}, nil, &admin.Policy{RequireExpiry: true}, 200},
		{"require expiry off", admin.Policy{}, &admin.Policy{RequireExpiry: true}, &admin.Policy{}, 403},
		{"require expiry off against the default", admin.Policy{RequireExpiry: true}, nil, &admin.Policy{}, 403},
		{"require expiry kept", admin.Policy{RequireExpiry: true}, nil, &admin.Policy{RequireExpiry: true, DefaultLifetimeDays: 5}, 200},
		{"cap lowered", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30}, &admin.Policy{MaxLifetimeDays: 10}, 200},
		{"cap kept", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30}, &admin.Policy{MaxLifetimeDays: 30}, 200},
		{"cap raised", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30}, &admin.Policy{MaxLifetimeDays: 31}, 403},
		{"cap removed", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30}, &admin.Policy{RequireExpiry: true}, 403},
		{"default's cap raised", admin.Policy{MaxLifetimeDays: 30}, nil, &admin.Policy{MaxLifetimeDays: 90}, 403},
		{"cap added", admin.Policy{}, nil, &admin.Policy{MaxLifetimeDays: 90}, 200},
		{"default lifetime raised within the cap", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30, DefaultLifetimeDays: 7}, &admin.Policy{MaxLifetimeDays: 30, DefaultLifetimeDays: 30}, 200},
		{"default lifetime removed", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30, DefaultLifetimeDays: 7}, &admin.Policy{MaxLifetimeDays: 30}, 200},
		{"clear a policy", admin.Policy{}, &admin.Policy{MaxLifetimeDays: 30}, nil, 403},
		{"clear a strict-looking lax policy", admin.Policy{RequireExpiry: true}, &admin.Policy{}, nil, 403},
	}
	for _, tc := range tests {
		for _, actor := range []string{olga, sam} {
			t.Run(tc.name+"/"+actor, func(t *testing.T) {
				ctx := context.Background()
				e := newEnv(t, envConfig{policy: tc.def})
				withOrgs(t, e)
				if tc.own != nil {
					_, err := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[sam]), "t1", tc.own)
					require.NoError(t, err)
				}
				before, err := e.mgr.PolicyFor(ctx, "t1")
				require.NoError(t, err)
				_, setErr := e.mgr.SetOrgPolicy(ctx, e.principal(t, e.boot[actor]), "t1", tc.set)
				want := tc.orgAdmin
				if actor == sam {
					want = http.StatusOK
				}
				assert.Equal(t, want, statusOf(setErr, http.StatusOK))
				after, err := e.mgr.PolicyFor(ctx, "t1")
				require.NoError(t, err)
				if want != http.StatusOK {
					assert.Equal(t, before, after, "a refusal changes nothing")
					require.Error(t, setErr)
					assert.Contains(t, setErr.Error(), "Only a super admin can relax")
				}
			})
		}
	}
}
