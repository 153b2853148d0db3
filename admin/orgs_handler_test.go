package admin_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

func orgsViaHTTP(t *testing.T, e *env, actor string, c orgCall) int {
	t.Helper()
	key := e.boot[actor]
	var r *response
	switch c.op {
	case "list":
		r = e.do(t, http.MethodGet, orgsPath, key, nil)
		if r.status == http.StatusOK {
			assert.Len(t, r.object(t)["orgs"], 2)
		}
	case "get":
		r = e.do(t, http.MethodGet, orgsPath+"/"+c.org, key, nil)
	case "create":
		r = e.do(t, http.MethodPost, orgsPath, key, map[string]any{"id": c.org, "name": c.name})
	case "rename":
		r = e.do(t, http.MethodPatch, orgsPath+"/"+c.org, key, map[string]any{"name": c.name})
	case "set-policy":
		r = e.do(t, http.MethodPut, orgsPath+"/"+c.org+"/policy", key, map[string]any{
			"require_expiry": c.policy.RequireExpiry, "max_lifetime_days": c.policy.MaxLifetimeDays,
			"default_lifetime_days": c.policy.DefaultLifetimeDays})
	case "clear-policy":
		r = e.do(t, http.MethodDelete, orgsPath+"/"+c.org+"/policy", key, nil)
	default:
		t.Fatalf("unknown op %q", c.op)
	}
	assertRefusal(t, r, "No such organization")
	if r.status == http.StatusOK || r.status == http.StatusCreated {
		requireStatus(t, r, r.status)
	}
	return r.status
}

// TestOrgPermissionsHTTP runs the organizations table over HTTP.
func TestOrgPermissionsHTTP(t *testing.T) { runOrgRows(t, orgsViaHTTP) }

func TestOrgsAPI(t *testing.T) {
	e := newEnv(t, envConfig{policy: admin.Policy{DefaultLifetimeDays: 90}})
	withOrgs(t, e)
	samKey, olgaKey := e.boot[sam], e.boot[olga]

	t.Run("create, list, rename", func(t *testing.T) {
		created := requireStatus(t, e.do(t, http.MethodPost, orgsPath, samKey, map[string]any{"id": "acme", "name": "Acme"}), http.StatusCreated)
		assert.Equal(t, "acme", created["id"])
		assert.Nil(t, created["policy"])
		generated := requireStatus(t, e.do(t, http.MethodPost, orgsPath, samKey, map[string]any{"name": "Generated"}), http.StatusCreated)
		assert.Regexp(t, `^org_[0-9a-z]{26}$`, generated["id"])
		list := requireStatus(t, e.do(t, http.MethodGet, orgsPath+"?limit=2", samKey, nil), http.StatusOK)
		assert.Len(t, list["orgs"], 2)
		assert.NotEmpty(t, list["next"])
		renamed := requireStatus(t, e.do(t, http.MethodPatch, orgsPath+"/acme", samKey, map[string]any{"name": "Acme Inc"}), http.StatusOK)
		assert.Equal(t, "Acme Inc", renamed["name"])
		same := requireStatus(t, e.do(t, http.MethodPatch, orgsPath+"/acme", samKey, map[string]any{}), http.StatusOK)
		assert.Equal(t, "Acme Inc", same["name"])
		assertProblem(t, e.do(t, http.MethodPatch, orgsPath+"/t2", olgaKey, map[string]any{}), http.StatusNotFound, "not_found")
	})
	t.Run("policy", func(t *testing.T) {
		view := requireStatus(t, e.do(t, http.MethodGet, orgsPath+"/t1/policy", olgaKey, nil), http.StatusOK)
		assert.Equal(t, "default", view["source"])
		assert.Nil(t, view["policy"])
		assert.Equal(t, float64(90), view["effective"].(map[string]any)["default_lifetime_days"])

		view = requireStatus(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey,
			map[string]any{"require_expiry": true, "max_lifetime_days": 30, "default_lifetime_days": 7}), http.StatusOK)
		assert.Equal(t, "organization", view["source"])
		pol := view["policy"].(map[string]any)
		assert.Equal(t, true, pol["require_expiry"])
		assert.Equal(t, float64(30), pol["max_lifetime_days"])
		assert.Equal(t, olga, pol["updated_by"])
		assert.Equal(t, t0.Format(time.RFC3339), pol["updated_at"])
		assert.Equal(t, float64(7), view["effective"].(map[string]any)["default_lifetime_days"])

		org := requireStatus(t, e.do(t, http.MethodGet, orgsPath+"/t1", e.boot[alice], nil), http.StatusOK)
		assert.Equal(t, float64(30), org["policy"].(map[string]any)["max_lifetime_days"], "members see their org's policy")

		// A key created over the keys API follows it.
		p := assertProblem(t, e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{"name": "k", "scopes": []string{"read"}, "expires_in_days": 31}), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "expires_in_days")

		p = assertProblem(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, map[string]any{"max_lifetime_days": 401}), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "max_lifetime_days")
		p = assertProblem(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, map[string]any{"max_lifetime_days": 10, "default_lifetime_days": 11}), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "default_lifetime_days")
		assertProblem(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, `{"max_lifetime_days":"30"}`), http.StatusBadRequest, "malformed_body")
		assertProblem(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, `{"max_days":30}`), http.StatusBadRequest, "unknown_field")

		p = assertProblem(t, e.do(t, http.MethodDelete, orgsPath+"/t1/policy", olgaKey, nil), http.StatusForbidden, "forbidden")
		assert.Contains(t, p.Detail, "Only a super admin")
		p = assertProblem(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, map[string]any{"require_expiry": true, "max_lifetime_days": 31}), http.StatusForbidden, "forbidden")
		assert.Contains(t, p.Detail, "Only a super admin")
		view = requireStatus(t, e.do(t, http.MethodDelete, orgsPath+"/t1/policy", samKey, nil), http.StatusOK)
		assert.Equal(t, "default", view["source"])
		assert.Nil(t, view["policy"])
	})
	t.Run("methods", func(t *testing.T) {
		tests := []struct{ method, path, allow string }{
			{http.MethodDelete, orgsPath, "GET, POST"},
			{http.MethodDelete, orgsPath + "/t1", "GET, PATCH"},
			{http.MethodPost, orgsPath + "/t1/policy", "GET, PUT, DELETE"},
		}
		for _, tc := range tests {
			r := e.do(t, tc.method, tc.path, samKey, nil)
			assertProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, tc.allow, r.header.Get("Allow"))
		}
		assertProblem(t, e.do(t, http.MethodGet, orgsPath+"/t1/users", samKey, nil), http.StatusNotFound, "not_found")
	})
}

// TestOrgsAPIStoreDown: a policy that cannot be read is a 503 with
// nothing leaked.
func TestOrgsAPIStoreDown(t *testing.T) {
	e := newEnv(t, envConfig{orgs: failingOrgs{}})
	r := e.do(t, http.MethodGet, orgsPath+"/t1", e.boot[olga], nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "body: %s", r.body)
	assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	assert.NotContains(t, string(r.body), errDown.Error())
	r = e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{"name": "k", "scopes": []string{"read"}})
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "no key without its policy")
}

// countingOrgs counts the organization reads.
type countingOrgs struct {
	store.OrgStore
	reads atomic.Int64
}

func (c *countingOrgs) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	c.reads.Add(1)
	return c.OrgStore.OrgByID(ctx, id)
}

// TestPolicyRequestReadsOrgOnce: GET and PUT of a policy, by an org admin
// (whose tightening is checked against the policy in force), read the
// organization once each.
func TestPolicyRequestReadsOrgOnce(t *testing.T) {
	mem := store.NewMemory()
	orgs := &countingOrgs{OrgStore: mem}
	e := newEnv(t, envConfig{orgs: orgs})
	for _, id := range []string{"t1", "t2"} {
		require.NoError(t, orgs.CreateOrg(context.Background(), &store.Org{ID: id, Name: "Org " + id, CreatedAt: t0}))
	}
	olgaKey := e.boot[olga]
	before := orgs.reads.Load()
	requireStatus(t, e.do(t, http.MethodGet, orgsPath+"/t1/policy", olgaKey, nil), http.StatusOK)
	assert.Equal(t, before+1, orgs.reads.Load(), "GET")
	before = orgs.reads.Load()
	requireStatus(t, e.do(t, http.MethodPut, orgsPath+"/t1/policy", olgaKey, map[string]any{"require_expiry": true, "max_lifetime_days": 30}), http.StatusOK)
	assert.Equal(t, before+1, orgs.reads.Load(), "PUT")
}
