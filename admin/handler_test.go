package admin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
)

// minted is a key the server showed, and which response showed it.
type minted struct {
	key     string
	shownAt int
}

// TestHTTPLifecycle walks one key through the whole management API on a
// real server: create, use, list, get, update, rotate with and without
// grace, revoke. The full key is in the response that created it and in no
// other.
func TestHTTPLifecycle(t *testing.T) {
	e := newEnv(t, envConfig{})
	me := e.boot[alice]
	var shown []minted
	mint := func(t *testing.T, r *response) (string, map[string]any) {
		t.Helper()
		body := r.object(t)
		key, _ := body["key"].(string)
		require.True(t, strings.HasPrefix(key, "cpx_live."), "key %q", key)
		require.Len(t, key, format.Len())
		e.mu.Lock()
		shown = append(shown, minted{key, len(e.bodies) - 1})
		e.mu.Unlock()
		rec, _ := body["api_key"].(map[string]any)
		require.NotNil(t, rec, "body: %s", r.body)
		assert.Equal(t, key[len(key)-4:], rec["last4"])
		assertNoSecretMembers(t, rec)
		return key, rec
	}

	created := e.do(t, http.MethodPost, apiPath, me, map[string]any{
		"name": "ci", "description": "deploys", "scopes": []string{"read"}, "expires_in_days": 30,
	})
	require.Equal(t, http.StatusCreated, created.status, "body: %s", created.body)
	assert.Equal(t, "no-store", created.header.Get("Cache-Control"))
	key, rec := mint(t, created)
	id, _ := rec["id"].(string)
	require.NotEmpty(t, id)
	assert.Equal(t, "ci", rec["name"])
	assert.Equal(t, "deploys", rec["description"])
	assert.Equal(t, alice, rec["owner_id"])
	assert.Equal(t, "t1", rec["tenant_id"])
	assert.Equal(t, alice, rec["created_by"])
	assert.Equal(t, []any{"read"}, rec["scopes"])
	assert.Equal(t, "active", rec["status"])
	// 30 days from 1 March in UTC (the default zone): the end of 31 March.
	assert.Equal(t, "2026-04-01T00:00:00Z", rec["expires_at"])
	assert.Nil(t, rec["last_used_at"])
	assert.Nil(t, rec["revoked_at"])

	t.Run("the new key authenticates", func(t *testing.T) {
		body := requireStatus(t, e.do(t, http.MethodGet, mePath, key, nil), http.StatusOK)
		assert.Equal(t, alice, body["id"])
		assert.Equal(t, id, body["key_id"])
		assert.Equal(t, []any{"read"}, body["scopes"])
	})

	t.Run("list shows last 4, never the key or its digest", func(t *testing.T) {
		body := requireStatus(t, e.do(t, http.MethodGet, apiPath, me, nil), http.StatusOK)
		list, _ := body["api_keys"].([]any)
		require.Len(t, list, 2, "the bootstrap key and the new one")
		var found map[string]any
		for _, item := range list {
			m := item.(map[string]any)
			assertNoSecretMembers(t, m)
			assert.Len(t, m["last4"], 4)
			if m["id"] == id {
				found = m
			}
		}
		require.NotNil(t, found)
		assert.Equal(t, key[len(key)-4:], found["last4"])
		assert.Equal(t, "", body["next"])
	})

	t.Run("get", func(t *testing.T) {
		body := requireStatus(t, e.do(t, http.MethodGet, apiPath+"/"+id, me, nil), http.StatusOK)
		assertNoSecretMembers(t, body)
		assert.Equal(t, id, body["id"])
		assert.Equal(t, "ci", body["name"])
	})

	t.Run("update name, description and expiry", func(t *testing.T) {
		body := requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, map[string]any{
			"name": "ci-2", "description": "", "expires_at": "2026-06-01T12:00:00Z",
		}), http.StatusOK)
		assertNoSecretMembers(t, body)
		assert.Equal(t, "ci-2", body["name"])
		assert.Equal(t, "", body["description"])
		assert.Equal(t, "2026-06-01T12:00:00Z", body["expires_at"])
		assert.Equal(t, []any{"read"}, body["scopes"], "scopes never change")

		body = requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, map[string]any{"expires_in_days": 2}), http.StatusOK)
		assert.Equal(t, "2026-03-04T00:00:00Z", body["expires_at"])
		assert.Equal(t, "ci-2", body["name"], "members left out are left as they are")
	})

	t.Run("update refuses members other than name, description and expiry", func(t *testing.T) {
		for _, b := range []map[string]any{
			{"scopes": []string{"admin"}},
			{"owner_id": bob},
			{"tenant_id": "t2"},
			{"name": "x", "role": "admin"},
		} {
			assertProblem(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, b), http.StatusBadRequest, "unknown_field")
		}
		body := requireStatus(t, e.do(t, http.MethodGet, apiPath+"/"+id, me, nil), http.StatusOK)
		assert.Equal(t, "ci-2", body["name"], "a refused update changes nothing")
		assert.Equal(t, alice, body["owner_id"])
	})

	var rotated string
	t.Run("rotate without grace: the old key is refused on the next request", func(t *testing.T) {
		r := e.do(t, http.MethodPost, apiPath+"/"+id+"/rotate", me, nil)
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		var newRec map[string]any
		rotated, newRec = mint(t, r)
		old, _ := r.object(t)["old_api_key"].(map[string]any)
		require.NotNil(t, old)
		assertNoSecretMembers(t, old)
		assert.Equal(t, id, old["id"])
		assert.Equal(t, "revoked", old["status"])
		assert.NotEqual(t, id, newRec["id"])
		assert.Equal(t, "ci-2", newRec["name"])
		assert.Equal(t, []any{"read"}, newRec["scopes"])

		assertProblem(t, e.do(t, http.MethodGet, mePath, key, nil), http.StatusUnauthorized, "invalid_token")
		body := requireStatus(t, e.do(t, http.MethodGet, mePath, rotated, nil), http.StatusOK)
		assert.Equal(t, newRec["id"], body["key_id"])
	})

	t.Run("rotate with grace: both work until the grace ends", func(t *testing.T) {
		require.NotEmpty(t, rotated)
		oldID := requireStatus(t, e.do(t, http.MethodGet, mePath, rotated, nil), http.StatusOK)["key_id"].(string)
		r := e.do(t, http.MethodPost, apiPath+"/"+oldID+"/rotate", me, map[string]any{"grace_seconds": 3600})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		next, _ := mint(t, r)
		old, _ := r.object(t)["old_api_key"].(map[string]any)
		assert.Equal(t, "active", old["status"])
		assert.Equal(t, e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339), old["expires_at"])

		requireStatus(t, e.do(t, http.MethodGet, mePath, rotated, nil), http.StatusOK)
		requireStatus(t, e.do(t, http.MethodGet, mePath, next, nil), http.StatusOK)
		e.clock.Advance(time.Hour - time.Second)
		requireStatus(t, e.do(t, http.MethodGet, mePath, rotated, nil), http.StatusOK)
		e.clock.Advance(time.Second)
		assertProblem(t, e.do(t, http.MethodGet, mePath, rotated, nil), http.StatusUnauthorized, "invalid_token")
		requireStatus(t, e.do(t, http.MethodGet, mePath, next, nil), http.StatusOK)

		t.Run("revoke: refused on the very next request", func(t *testing.T) {
			nextID := requireStatus(t, e.do(t, http.MethodGet, mePath, next, nil), http.StatusOK)["key_id"].(string)
			body := requireStatus(t, e.do(t, http.MethodDelete, apiPath+"/"+nextID, me, nil), http.StatusOK)
			assertNoSecretMembers(t, body)
			assert.Equal(t, "revoked", body["status"])
			assert.Equal(t, e.clock.Now().UTC().Format(time.RFC3339), body["revoked_at"])
			assertProblem(t, e.do(t, http.MethodGet, mePath, next, nil), http.StatusUnauthorized, "invalid_token")

			list := requireStatus(t, e.do(t, http.MethodGet, apiPath, me, nil), http.StatusOK)["api_keys"].([]any)
			assert.Len(t, list, 2, "the bootstrap key and the key in grace; revoked keys are left out")
			list = requireStatus(t, e.do(t, http.MethodGet, apiPath+"?include_revoked=true", me, nil), http.StatusOK)["api_keys"].([]any)
			assert.Len(t, list, 4)
		})
	})

	t.Run("a revoked key cannot be updated or rotated", func(t *testing.T) {
		p := assertProblem(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, map[string]any{"name": "back"}), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "id")
		p = assertProblem(t, e.do(t, http.MethodPost, apiPath+"/"+id+"/rotate", me, nil), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "id")
	})

	// Every key the server minted appears in the one response that showed
	// it and nowhere else.
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Len(t, shown, 3)
	for _, m := range shown {
		for i, b := range e.bodies {
			if i == m.shownAt {
				assert.Contains(t, b, m.key)
				continue
			}
			assert.NotContains(t, b, m.key, "response %d repeats a key", i)
		}
	}
}

// assertNoSecretMembers checks that a key object has only the documented
// members: no key, no digest, no hash.
func assertNoSecretMembers(t *testing.T, m map[string]any) {
	t.Helper()
	allowed := map[string]bool{
		"id": true, "name": true, "description": true, "prefix": true, "last4": true, "owner_id": true,
		"tenant_id": true, "scopes": true, "role": true, "created_by": true, "created_at": true,
		"expires_at": true, "last_used_at": true, "revoked_at": true, "status": true, "metadata": true,
		"allowed_cidrs": true, "credits": true,
	}
	for k := range m {
		assert.True(t, allowed[k], "unexpected member %q", k)
	}
	assert.NotContains(t, m, "key")
	assert.NotContains(t, m, "digest")
}

func TestHTTPRefusals(t *testing.T) {
	e := newEnv(t, envConfig{handler: admin.HandlerConfig{MaxBody: 1024}})
	me := e.boot[alice]
	_, own := e.issue(t, alice, apikey.Params{Name: "own", Description: "mine"})

	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   any
		status int
		code   string
	}{
		{"no credentials", http.MethodGet, apiPath, "", nil, http.StatusUnauthorized, "unauthenticated"},
		{"no credentials on create", http.MethodPost, apiPath, "", `{"name":"x","scopes":["read"]}`, http.StatusUnauthorized, "unauthenticated"},
		{"unknown key", http.MethodGet, apiPath, unissuedKey(t), nil, http.StatusUnauthorized, "invalid_token"},
		{"malformed JSON", http.MethodPost, apiPath, me, `{"name": "x",`, http.StatusBadRequest, "malformed_body"},
		{"not an object", http.MethodPost, apiPath, me, `["name"]`, http.StatusBadRequest, "malformed_body"},
		{"two objects", http.MethodPost, apiPath, me, `{"name":"x","scopes":["read"]} {}`, http.StatusBadRequest, "malformed_body"},
		{"wrong member type", http.MethodPost, apiPath, me, `{"name": 5, "scopes": ["read"]}`, http.StatusBadRequest, "malformed_body"},
		{"unknown member on create", http.MethodPost, apiPath, me, `{"name":"x","scopes":["read"],"digest":"00"}`, http.StatusBadRequest, "unknown_field"},
		{"body over the cap", http.MethodPost, apiPath, me, `{"name":"` + strings.Repeat("a", 2048) + `","scopes":["read"]}`, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"body over the cap on update", http.MethodPatch, apiPath + "/" + own.ID, me, `{"description":"` + strings.Repeat("a", 2048) + `"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"malformed rotate body", http.MethodPost, apiPath + "/" + own.ID + "/rotate", me, `{"grace_seconds":`, http.StatusBadRequest, "malformed_body"},
		{"grace too long", http.MethodPost, apiPath + "/" + own.ID + "/rotate", me, `{"grace_seconds": 2592001}`, http.StatusUnprocessableEntity, "invalid_body"},
		{"negative grace", http.MethodPost, apiPath + "/" + own.ID + "/rotate", me, `{"grace_seconds": -1}`, http.StatusUnprocessableEntity, "invalid_body"},
		{"unknown key ID", http.MethodGet, apiPath + "/key_nope", me, nil, http.StatusNotFound, "not_found"},
		{"method not allowed", http.MethodPut, apiPath + "/" + own.ID, me, `{}`, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"bad limit", http.MethodGet, apiPath + "?limit=0", me, nil, http.StatusUnprocessableEntity, "invalid_body"},
		{"bad include_revoked", http.MethodGet, apiPath + "?include_revoked=yes", me, nil, http.StatusUnprocessableEntity, "invalid_body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.key, tt.body)
			assertProblem(t, r, tt.status, tt.code)
			if tt.status == http.StatusUnauthorized {
				assert.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="api"`), r.header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("a body that is not JSON", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+apiPath, strings.NewReader("name=x"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+me)
		res, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assertProblem(t, &response{status: res.StatusCode, header: res.Header, body: b}, http.StatusUnsupportedMediaType, "unsupported_media_type")
	})

	t.Run("nothing was created or changed by a refusal", func(t *testing.T) {
		k, err := e.mgr.Get(t.Context(), e.principal(t, me), own.ID)
		require.NoError(t, err)
		assert.Equal(t, own.Name, k.Name)
		assert.Equal(t, own.Description, k.Description)
		assert.False(t, k.Revoked())
		keys, _, err := e.mgr.List(t.Context(), e.principal(t, me), admin.ListRequest{})
		require.NoError(t, err)
		assert.Len(t, keys, 2, "the bootstrap key and own")
	})
}

// TestHTTPCreateValidation checks that every invalid field gives a 422
// whose errors member names it.
func TestHTTPCreateValidation(t *testing.T) {
	e := newEnv(t, envConfig{})
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"bad expires_at format", `{"name":"x","scopes":["read"],"expires_at":"31/01/2027"}`, "expires_at"},
		{"expires_at without a zone", `{"name":"x","scopes":["read"],"expires_at":"2027-01-31T00:00:00"}`, "expires_at"},
		{"expires_at not a string", `{"name":"x","scopes":["read"],"expires_at":1800000000}`, "expires_at"},
		{"expires_at in the past", `{"name":"x","scopes":["read"],"expires_at":"2026-03-01T15:04:04Z"}`, "expires_at"},
		{"expires_at now", `{"name":"x","scopes":["read"],"expires_at":"2026-03-01T15:04:05Z"}`, "expires_at"},
		{"expires_at and expires_in_days", `{"name":"x","scopes":["read"],"expires_at":"2027-01-31T00:00:00Z","expires_in_days":3}`, "expires_in_days"},
		{"expires_at null and expires_in_days", `{"name":"x","scopes":["read"],"expires_at":null,"expires_in_days":3}`, "expires_in_days"},
		{"expires_in_days zero", `{"name":"x","scopes":["read"],"expires_in_days":0}`, "expires_in_days"},
		{"expires_in_days negative", `{"name":"x","scopes":["read"],"expires_in_days":-5}`, "expires_in_days"},
		{"empty name", `{"name":"","scopes":["read"]}`, "name"},
		{"no name", `{"scopes":["read"]}`, "name"},
		{"name too long", `{"name":"` + strings.Repeat("n", 201) + `","scopes":["read"]}`, "name"},
		{"name with a control character", `{"name":"a\u0000b","scopes":["read"]}`, "name"},
		{"description with a newline", `{"name":"x","description":"a\nb","scopes":["read"]}`, "description"},
		{"scopes and role", `{"name":"x","scopes":["read"],"role":"viewer"}`, "scopes"},
		{"neither scopes nor role", `{"name":"x"}`, "scopes"},
		{"unknown role", `{"name":"x","role":"owner"}`, "role"},
		{"invalid scope", `{"name":"x","scopes":["re\"ad"]}`, "scopes"},
		{"scopes not a list", `{"name":"x","scopes":{"read":true}}`, "scopes"},
		{"tenant other than the owner's", `{"name":"x","scopes":["read"],"tenant_id":"t2"}`, "tenant_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, apiPath, e.boot[alice], tt.body)
			p := assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
			assert.Contains(t, p.Errors, tt.field, "errors: %v", p.Errors)
		})
	}

	t.Run("several invalid fields are reported together", func(t *testing.T) {
		r := e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"","role":"owner","expires_in_days":0}`)
		p := assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "name")
		assert.Contains(t, p.Errors, "role")
		assert.Contains(t, p.Errors, "expires_in_days")
	})

	keys, _, err := e.mgr.List(t.Context(), e.principal(t, e.boot[alice]), admin.ListRequest{})
	require.NoError(t, err)
	assert.Len(t, keys, 1, "no refused request created a key")
}

func TestHTTPCreateWithRoleAndMetadata(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{
		"name": "viewer", "role": "viewer", "metadata": map[string]string{"team": "payments"},
	})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	body := r.object(t)
	rec := body["api_key"].(map[string]any)
	assert.Equal(t, "viewer", rec["role"])
	assert.Equal(t, []any{}, rec["scopes"])
	assert.Nil(t, rec["expires_at"], "no policy: no expiry")
	assert.Equal(t, map[string]any{"team": "payments"}, rec["metadata"])

	me := requireStatus(t, e.do(t, http.MethodGet, mePath, body["key"].(string), nil), http.StatusOK)
	assert.Equal(t, []any{"read"}, me["scopes"], "a role key gets the role's scopes")
}

func TestHTTPDefaultBodyCap(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"x","scopes":["read"],"description":"`+strings.Repeat("d", 64<<10)+`"}`)
	assertProblem(t, r, http.StatusRequestEntityTooLarge, "body_too_large")

	// Just under the cap is read; the description is then too long.
	r = e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"x","scopes":["read"],"description":"`+strings.Repeat("d", 60<<10)+`"}`)
	p := assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
	assert.Contains(t, p.Errors, "description")
}

// unissuedKey returns a well-formed key that was never stored.
func unissuedKey(t *testing.T) string {
	t.Helper()
	k, err := format.Generate()
	require.NoError(t, err)
	return k
}
