package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

func usersViaHTTP(t *testing.T, e *env, actor string, c userCall) (int, []string) {
	t.Helper()
	key := e.boot[actor]
	var r *response
	switch c.op {
	case "list":
		q := url.Values{}
		if c.tenant != "" {
			q.Set("tenant_id", c.tenant)
		}
		r = e.do(t, http.MethodGet, usersPath+"?"+q.Encode(), key, nil)
		if r.status == http.StatusOK {
			var ids []string
			for _, u := range r.object(t)["users"].([]any) {
				ids = append(ids, u.(map[string]any)["id"].(string))
			}
			return r.status, ids
		}
	case "get":
		r = e.do(t, http.MethodGet, usersPath+"/"+c.target, key, nil)
	case "create":
		body := map[string]any{"email": strings.ToLower(strings.ReplaceAll(c.name, " ", ".")) + "@new.example", "name": c.name}
		if c.tenant != "" {
			body["tenant_id"] = c.tenant
		}
		r = e.do(t, http.MethodPost, usersPath, key, c.levelAndScopes(body))
	case "update":
		body := map[string]any{}
		if c.name != "" {
			body["name"] = c.name
		}
		r = e.do(t, http.MethodPatch, usersPath+"/"+c.target, key, c.levelAndScopes(body))
	case "delete":
		r = e.do(t, http.MethodDelete, usersPath+"/"+c.target, key, nil)
	default:
		t.Fatalf("unknown op %q", c.op)
	}
	assertRefusal(t, r, "No such user")
	if r.status == http.StatusOK || r.status == http.StatusCreated {
		u := requireStatus(t, r, r.status)
		assert.NotContains(t, u, "password_hash")
		assert.NotContains(t, u, "password")
	}
	return r.status, nil
}

// levelAndScopes adds c's level and scopes to the JSON body when c gives
// them, and returns body.
func (c userCall) levelAndScopes(body map[string]any) map[string]any {
	if c.level != "" {
		body["level"] = c.level
	}
	if c.scopes != nil {
		body["scopes"] = c.scopes
	}
	return body
}

// TestUserPermissionsHTTP runs the users table over HTTP.
func TestUserPermissionsHTTP(t *testing.T) { runUserRows(t, usersViaHTTP) }

func TestUsersAPI(t *testing.T) {
	e := newEnv(t, envConfig{})
	withOrgs(t, e)
	olgaKey := e.boot[olga]

	t.Run("create, read, update and delete", func(t *testing.T) {
		const pw = "a long enough password"
		created := requireStatus(t, e.do(t, http.MethodPost, usersPath, olgaKey, map[string]any{
			"email": "Nina@Example.com", "name": "Nina", "level": "org_admin", "scopes": []string{"write", "read"}, "password": pw,
		}), http.StatusCreated)
		id := created["id"].(string)
		assert.Equal(t, "nina@example.com", created["email"])
		assert.Equal(t, "t1", created["tenant_id"])
		assert.Equal(t, "org_admin", created["level"])
		assert.Equal(t, []any{"read", "write"}, created["scopes"])
		assert.Equal(t, true, created["has_password"])

		got := requireStatus(t, e.do(t, http.MethodGet, usersPath+"/"+id, olgaKey, nil), http.StatusOK)
		assert.Equal(t, created, got)

		up := requireStatus(t, e.do(t, http.MethodPatch, usersPath+"/"+id, olgaKey, map[string]any{"name": "Nina S", "scopes": []string{"read"}}), http.StatusOK)
		assert.Equal(t, "Nina S", up["name"])
		assert.Equal(t, []any{"read"}, up["scopes"])
		assert.Equal(t, "org_admin", up["level"], "untouched")

		r := e.do(t, http.MethodDelete, usersPath+"/"+id, olgaKey, nil)
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.Empty(t, r.body)
		assertProblem(t, e.do(t, http.MethodGet, usersPath+"/"+id, olgaKey, nil), http.StatusNotFound, "not_found")
		for _, b := range e.bodies {
			assert.NotContains(t, b, pw)
			assert.NotContains(t, b, "$fake$")
		}
	})
	t.Run("pages", func(t *testing.T) {
		first := requireStatus(t, e.do(t, http.MethodGet, usersPath+"?limit=2", olgaKey, nil), http.StatusOK)
		assert.Len(t, first["users"], 2)
		next := first["next"].(string)
		require.NotEmpty(t, next)
		second := requireStatus(t, e.do(t, http.MethodGet, usersPath+"?limit=2&after="+next, olgaKey, nil), http.StatusOK)
		assert.NotEqual(t, first["users"], second["users"])
		for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x"} {
			p := assertProblem(t, e.do(t, http.MethodGet, usersPath+q, olgaKey, nil), http.StatusUnprocessableEntity, "invalid_body")
			assert.Contains(t, p.Errors, "limit")
		}
	})
	t.Run("bad bodies", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"unknown member", "POST", usersPath, `{"email":"a@b.c","password_hash":"x"}`, 400, "unknown_field", ""},
			{"not an object", "POST", usersPath, `[]`, 400, "malformed_body", ""},
			{"trailing data", "POST", usersPath, `{"email":"a@b.c"}{}`, 400, "malformed_body", ""},
			{"scopes as a string", "POST", usersPath, `{"email":"a@b.c","scopes":"read"}`, 422, "invalid_body", "scopes"},
			{"bad email", "POST", usersPath, `{"email":"nobody"}`, 422, "invalid_body", "email"},
			{"email with a zero-width space", "POST", usersPath, `{"email":"ada\u200b@acme.example"}`, 422, "invalid_body", "email"},
			{"email with a no-break space", "POST", usersPath, `{"email":"ada\u00a0x@acme.example"}`, 422, "invalid_body", "email"},
			{"email with an ideographic space", "POST", usersPath, `{"email":"ada@acme\u3000.example"}`, 422, "invalid_body", "email"},
			{"email with a BOM", "POST", usersPath, `{"email":"\ufeffada@acme.example"}`, 422, "invalid_body", "email"},
			{"email with a right-to-left mark", "POST", usersPath, `{"email":"ada@acme.exam\u200fple"}`, 422, "invalid_body", "email"},
			{"level in PATCH", "PATCH", usersPath + "/" + bob, `{"level":"god"}`, 422, "invalid_body", "level"},
			{"null scopes in PATCH", "PATCH", usersPath + "/" + bob, `{"scopes":null}`, 422, "invalid_body", "scopes"},
			{"email in PATCH", "PATCH", usersPath + "/" + bob, `{"email":"x@y.z"}`, 400, "unknown_field", ""},
			{"null PATCH", "PATCH", usersPath + "/" + bob, `null`, 400, "malformed_body", ""},
			{"null PATCH with spaces", "PATCH", usersPath + "/" + bob, " \n null ", 400, "malformed_body", ""},
			{"null POST", "POST", usersPath, `null`, 400, "malformed_body", ""},
			{"a string PATCH", "PATCH", usersPath + "/" + bob, `"x"`, 400, "malformed_body", ""},
			{"null policy", "PUT", orgsPath + "/t1/policy", `null`, 400, "malformed_body", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := assertProblem(t, e.do(t, tc.method, tc.path, olgaKey, tc.body), tc.status, tc.code)
				if tc.field != "" {
					assert.Contains(t, p.Errors, tc.field)
				}
			})
		}
	})
	t.Run("methods", func(t *testing.T) {
		tests := []struct{ method, path, allow string }{
			{http.MethodPut, usersPath, "GET, POST"},
			{http.MethodDelete, usersPath, "GET, POST"},
			{http.MethodPost, usersPath + "/" + bob, "GET, PATCH, DELETE"},
		}
		for _, tc := range tests {
			r := e.do(t, tc.method, tc.path, olgaKey, nil)
			assertProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, tc.allow, r.header.Get("Allow"))
		}
		assertProblem(t, e.do(t, http.MethodGet, usersPath+"/"+bob+"/keys", olgaKey, nil), http.StatusNotFound, "not_found")
	})
	t.Run("unauthenticated", func(t *testing.T) {
		r := e.do(t, http.MethodGet, usersPath, "", nil)
		assertProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	})
}

// listDown is a user store whose listing and writes fail: reads of one
// user (the actor's) work.
type listDown struct{ *store.Memory }

func (listDown) ListUsers(context.Context, store.UserFilter) ([]*store.User, string, error) {
	return nil, "", errDown
}

func (listDown) CreateUser(context.Context, *store.User) error { return errDown }

// TestUsersAPIStoreDown: a user store that fails is a 503 problem with
// nothing of the store's error in it.
func TestUsersAPIStoreDown(t *testing.T) {
	e := newEnv(t, envConfig{})
	mgr, err := admin.NewManager(e.cache, listDown{e.mem}, format, admin.Config{Hasher: e.hasher, Logger: slogJSON(e.logs)})
	require.NoError(t, err)
	h, err := admin.NewUsersHandler(mgr, e.mw, admin.HandlerConfig{})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, req := range []struct{ method, body string }{{"GET", ""}, {"POST", `{"email":"n@t1.example"}`}} {
		r, err := http.NewRequest(req.method, srv.URL+usersPath, strings.NewReader(req.body))
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+e.boot[olga])
		res, err := srv.Client().Do(r)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%s: %s", req.method, b)
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		assert.NotContains(t, string(b), errDown.Error())
	}
}
