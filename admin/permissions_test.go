package admin_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// matrixActor is one row of the permission matrix: who acts, the member of
// their own tenant and the member of another tenant they act on, and
// whether they may manage those two users' keys.
type matrixActor struct {
	name       string
	id         string
	colleague  string // another user of the actor's tenant
	foreigner  string // a user of another tenant
	manageSame bool   // may manage the colleague's keys
	manageAll  bool   // may manage the foreigner's keys
}

var matrixActors = []matrixActor{
	{name: "member", id: alice, colleague: bob, foreigner: carol},
	{name: "member with the admin scope", id: mallory, colleague: bob, foreigner: carol},
	{name: "org admin", id: olga, colleague: bob, foreigner: carol, manageSame: true},
	{name: "org admin without the admin scope", id: oscar, colleague: bob, foreigner: carol},
	{name: "org admin of the other tenant", id: otto, colleague: carol, foreigner: bob, manageSame: true},
	{name: "super admin", id: sam, colleague: bob, foreigner: carol, manageSame: true, manageAll: true},
}

// matrixOp performs one operation as actor on target's key (or, for
// create, for target) and returns the status it got.
type matrixOp struct {
	name    string
	success int
}

var matrixOps = []matrixOp{
	{"create", http.StatusCreated},
	{"get", http.StatusOK},
	{"update", http.StatusOK},
	{"revoke", http.StatusOK},
	{"rotate", http.StatusCreated},
}

// driver performs operations either through the Manager or over HTTP.
type driver func(t *testing.T, e *env, op, actor, target string, key *store.Key) int

func viaManager(t *testing.T, e *env, op, actor, target string, key *store.Key) int {
	t.Helper()
	ctx := context.Background()
	p := e.principal(t, e.boot[actor])
	var err error
	success := http.StatusOK
	switch op {
	case "create":
		var c *admin.Created
		c, err = e.mgr.Create(ctx, p, admin.CreateRequest{Name: "for " + target, Scopes: []string{"read"}, OwnerID: target})
		success = http.StatusCreated
		if err == nil {
			assert.Equal(t, target, c.Record.OwnerID)
			assert.Equal(t, actor, c.Record.CreatedBy)
			assert.Equal(t, c.Record.ID, e.principal(t, c.Key).KeyID)
		}
	case "get":
		var k *store.Key
		k, err = e.mgr.Get(ctx, p, key.ID)
		if err == nil {
			assert.Equal(t, key.ID, k.ID)
		}
	case "update":
		_, err = e.mgr.Update(ctx, p, key.ID, admin.UpdateRequest{Name: ptr("renamed")})
	case "revoke":
		_, err = e.mgr.Revoke(ctx, p, key.ID)
	case "rotate":
		_, err = e.mgr.Rotate(ctx, p, key.ID, 0)
		success = http.StatusCreated
	default:
		t.Fatalf("unknown op %q", op)
	}
	return statusOf(err, success)
}

func viaHTTP(t *testing.T, e *env, op, actor, target string, key *store.Key) int {
	t.Helper()
	var r *response
	switch op {
	case "create":
		r = e.do(t, http.MethodPost, apiPath, e.boot[actor], map[string]any{"name": "for " + target, "scopes": []string{"read"}, "owner_id": target})
		if r.status == http.StatusCreated {
			rec := r.object(t)["api_key"].(map[string]any)
			assert.Equal(t, target, rec["owner_id"])
			assert.Equal(t, actor, rec["created_by"])
		}
	case "get":
		r = e.do(t, http.MethodGet, apiPath+"/"+key.ID, e.boot[actor], nil)
	case "update":
		r = e.do(t, http.MethodPatch, apiPath+"/"+key.ID, e.boot[actor], map[string]any{"name": "renamed"})
	case "revoke":
		r = e.do(t, http.MethodDelete, apiPath+"/"+key.ID, e.boot[actor], nil)
	case "rotate":
		r = e.do(t, http.MethodPost, apiPath+"/"+key.ID+"/rotate", e.boot[actor], nil)
	default:
		t.Fatalf("unknown op %q", op)
	}
	switch r.status {
	case http.StatusForbidden:
		assertProblem(t, r, http.StatusForbidden, "forbidden")
	case http.StatusNotFound:
		assertProblem(t, r, http.StatusNotFound, "not_found")
	}
	return r.status
}

// TestPermissionMatrix runs every operation of every actor on their own
// keys, a colleague's and another tenant's, through the Manager and over
// HTTP. Refusals leave the key as it was.
func TestPermissionMatrix(t *testing.T) {
	for _, via := range []struct {
		name string
		do   driver
	}{{"manager", viaManager}, {"http", viaHTTP}} {
		t.Run(via.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			for _, a := range matrixActors {
				targets := []struct {
					name    string
					id      string
					allowed bool
					denied  int
				}{
					{"own", a.id, true, 0},
					{"same tenant", a.colleague, a.manageSame, http.StatusForbidden},
					{"other tenant", a.foreigner, a.manageAll, http.StatusNotFound},
				}
				for _, target := range targets {
					for _, op := range matrixOps {
						t.Run(a.name+"/"+target.name+"/"+op.name, func(t *testing.T) {
							_, key := e.issue(t, target.id, apikey.Params{Name: "target"})
							want := target.denied
							if target.allowed {
								want = op.success
							}
							got := via.do(t, e, op.name, a.id, target.id, key)
							assert.Equal(t, want, got)

							after, err := e.mem.KeyByID(context.Background(), key.ID)
							require.NoError(t, err)
							switch {
							case !target.allowed:
								assert.Equal(t, key, after, "a refused operation changes nothing")
							case op.name == "revoke" || op.name == "rotate":
								assert.True(t, after.Revoked())
							case op.name == "update":
								assert.Equal(t, "renamed", after.Name)
							}
						})
					}
				}
			}
		})
	}
}

// TestPermissionMatrixList checks what each actor's listing shows, with an
// owner filter naming a colleague or a foreigner, and with a tenant filter
// naming the other tenant.
func TestPermissionMatrixList(t *testing.T) {
	e := newEnv(t, envConfig{})
	keyOf := map[string]*store.Key{}
	for _, u := range testUsers {
		_, keyOf[u.ID] = e.issue(t, u.ID, apikey.Params{Name: "listed"})
	}
	// ids lists the key IDs of a listing.
	ids := func(keys []*store.Key) []string {
		out := []string{}
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return out
	}
	httpIDs := func(t *testing.T, r *response) []string {
		t.Helper()
		out := []string{}
		for _, item := range requireStatus(t, r, http.StatusOK)["api_keys"].([]any) {
			out = append(out, item.(map[string]any)["id"].(string))
		}
		return out
	}

	for _, a := range matrixActors {
		otherTenant := "t2"
		if a.id == otto {
			otherTenant = "t1"
		}
		cases := []struct {
			name     string
			req      admin.ListRequest
			query    string
			status   int
			contains string // a user whose "listed" key must be in the list
			excludes string // a user whose key must not be
			empty    bool
		}{
			{name: "own", req: admin.ListRequest{OwnerID: a.id}, query: "?owner_id=" + a.id, status: 200, contains: a.id, excludes: a.colleague},
			{name: "unfiltered", query: "", status: 200, contains: a.id, excludes: a.foreigner},
			{name: "colleague", req: admin.ListRequest{OwnerID: a.colleague}, query: "?owner_id=" + a.colleague, status: 200, contains: a.colleague, excludes: a.id},
			{name: "foreigner", req: admin.ListRequest{OwnerID: a.foreigner}, query: "?owner_id=" + a.foreigner, status: 200, contains: a.foreigner},
			{name: "other tenant", req: admin.ListRequest{TenantID: otherTenant}, query: "?tenant_id=" + otherTenant, status: 200, contains: a.foreigner, excludes: a.id},
		}
		for _, c := range cases {
			// Adjust the expectation to the actor's rights.
			switch {
			case c.name == "unfiltered" && a.manageAll:
				c.excludes = ""
				c.contains = a.foreigner
			case c.name == "unfiltered" && a.manageSame:
				c.contains = a.colleague
			case c.name == "unfiltered":
				c.excludes = a.colleague
			case (c.name == "colleague" || c.name == "foreigner") && !a.manageSame:
				c.status, c.contains, c.excludes = http.StatusForbidden, "", ""
			case c.name == "foreigner" && !a.manageAll:
				c.contains, c.empty = "", true
			case c.name == "other tenant" && !a.manageAll:
				c.contains, c.empty = "", true
			}
			check := func(t *testing.T, got []string) {
				t.Helper()
				if c.contains != "" {
					assert.Contains(t, got, keyOf[c.contains].ID)
				}
				if c.excludes != "" {
					assert.NotContains(t, got, keyOf[c.excludes].ID)
				}
				if c.empty {
					assert.Empty(t, got)
				}
				for _, u := range testUsers {
					if slices.Contains(got, keyOf[u.ID].ID) && u.TenantID != tenantOf(a.id) {
						assert.True(t, a.manageAll, "listed another tenant's key")
					}
				}
			}
			t.Run("manager/"+a.name+"/"+c.name, func(t *testing.T) {
				keys, _, err := e.mgr.List(context.Background(), e.principal(t, e.boot[a.id]), c.req)
				require.Equal(t, c.status, statusOf(err, http.StatusOK), "err: %v", err)
				if err == nil {
					check(t, ids(keys))
				}
			})
			t.Run("http/"+a.name+"/"+c.name, func(t *testing.T) {
				r := e.do(t, http.MethodGet, apiPath+c.query, e.boot[a.id], nil)
				if c.status != http.StatusOK {
					assertProblem(t, r, c.status, "forbidden")
					return
				}
				check(t, httpIDs(t, r))
			})
		}
	}
}

func tenantOf(user string) string {
	for _, u := range testUsers {
		if u.ID == user {
			return u.TenantID
		}
	}
	return ""
}

// TestEscalation checks that no one gets a key, through creation or
// rotation, that acts with more than they have.
func TestEscalation(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	_, billing := e.issue(t, bob, apikey.Params{Name: "billing", Scopes: []string{"billing"}})
	_, samKey := e.issue(t, sam, apikey.Params{Name: "sam's", Scopes: []string{"read"}})
	_, aliceWrite := e.issue(t, alice, apikey.Params{Name: "writer", Scopes: []string{"write"}})
	readOnly, _ := e.issue(t, alice, apikey.Params{Name: "read only", Scopes: []string{"read"}})

	tests := []struct {
		name   string
		actor  string // the key acting
		create *admin.CreateRequest
		rotate string // the key ID to rotate
		status int
		code   string
	}{
		{name: "member asks for a scope they lack", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"admin"}}, status: 403, code: "forbidden"},
		{name: "member asks for a role with a scope they lack", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Role: "admin"}, status: 403, code: "forbidden"},
		{name: "member asks for scopes they hold", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"read", "write"}}, status: 201},
		{name: "member asks for a wildcard they lack", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"projects:*"}}, status: 403, code: "forbidden"},
		{name: "a read-only key asks for write", actor: readOnly,
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"write"}}, status: 403, code: "forbidden"},
		{name: "member creates for a colleague", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"read"}, OwnerID: bob}, status: 403, code: "forbidden"},
		{name: "member creates for another tenant's user", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"read"}, OwnerID: carol}, status: 404, code: "not_found"},
		{name: "member creates for a user that does not exist", actor: e.boot[alice],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"read"}, OwnerID: "u_nobody"}, status: 404, code: "not_found"},
		{name: "org admin gives a colleague a scope the colleague may not hold", actor: e.boot[olga],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"admin"}, OwnerID: bob}, status: 403, code: "forbidden"},
		{name: "org admin creates a key acting as a super admin", actor: e.boot[olga],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"read"}, OwnerID: sam}, status: 403, code: "forbidden"},
		{name: "org admin rotates a super admin's key", actor: e.boot[olga], rotate: samKey.ID, status: 403, code: "forbidden"},
		{name: "super admin creates for an org admin", actor: e.boot[sam],
			create: &admin.CreateRequest{Name: "x", Scopes: []string{"admin"}, OwnerID: olga}, status: 201},
		{name: "org admin rotates a key with a scope they lack", actor: e.boot[olga], rotate: billing.ID, status: 403, code: "forbidden"},
		{name: "a read-only key rotates its owner's write key", actor: readOnly, rotate: aliceWrite.ID, status: 403, code: "forbidden"},
	}
	for _, tt := range tests {
		t.Run("manager/"+tt.name, func(t *testing.T) {
			p := e.principal(t, tt.actor)
			var err error
			success := http.StatusCreated
			if tt.create != nil {
				_, err = e.mgr.Create(ctx, p, *tt.create)
			} else {
				_, err = e.mgr.Rotate(ctx, p, tt.rotate, 0)
			}
			assert.Equal(t, tt.status, statusOf(err, success), "err: %v", err)
		})
	}
	for _, tt := range tests {
		t.Run("http/"+tt.name, func(t *testing.T) {
			var r *response
			if tt.create != nil {
				body := map[string]any{"name": tt.create.Name, "owner_id": tt.create.OwnerID}
				if tt.create.Scopes != nil {
					body["scopes"] = tt.create.Scopes
				}
				if tt.create.Role != "" {
					body["role"] = tt.create.Role
				}
				r = e.do(t, http.MethodPost, apiPath, tt.actor, body)
			} else {
				r = e.do(t, http.MethodPost, apiPath+"/"+tt.rotate+"/rotate", tt.actor, nil)
			}
			if tt.code == "" {
				assert.Equal(t, tt.status, r.status, "body: %s", r.body)
				return
			}
			assertProblem(t, r, tt.status, tt.code)
		})
	}

	for _, k := range []*store.Key{billing, samKey, aliceWrite} {
		after, err := e.mem.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.False(t, after.Revoked(), "a refused rotation left %s as it was", k.Name)
	}
}

// TestServicePrincipal checks a key whose owner has no user record: it acts
// as a member of its key's tenant.
func TestServicePrincipal(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	svc, _, err := apikey.Issue(ctx, e.cache, format, e.hasher, apikey.Params{
		Name: "svc", OwnerID: "svc_ci", TenantID: "t1", Scopes: []string{"admin", "read"}, Now: t0,
	})
	require.NoError(t, err)
	p := e.principal(t, svc)
	a, err := e.mgr.ActorOf(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, admin.Actor{ID: "svc_ci", TenantID: "t1", Level: store.LevelMember, Scopes: []string{"admin", "read"}}, a)

	c, err := e.mgr.Create(ctx, p, admin.CreateRequest{Name: "child", Scopes: []string{"read"}})
	require.NoError(t, err)
	assert.Equal(t, "svc_ci", c.Record.OwnerID)
	assert.Equal(t, "t1", c.Record.TenantID)

	_, bobKey := e.issue(t, bob, apikey.Params{})
	_, err = e.mgr.Get(ctx, p, bobKey.ID)
	assert.ErrorIs(t, err, admin.ErrForbidden, "the admin scope alone does not make an admin")

	_, err = e.mgr.ActorOf(ctx, nil)
	assert.Error(t, err)
}
