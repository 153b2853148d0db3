package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
)

func TestRequireScopes(t *testing.T) {
	tests := []struct {
		name    string
		granted []string
		role    string
		matcher *scopes.Matcher
		any     bool
		require []string
		ok      bool
		scope   string // the challenge's scope attribute on refusal
		detail  string
	}{
		{name: "all of: exact", granted: []string{"projects:read", "projects:write"},
			require: []string{"projects:read", "projects:write"}, ok: true},
		{name: "all of: superset", granted: []string{"a", "b", "c"}, require: []string{"a", "c"}, ok: true},
		{name: "all of: one missing", granted: []string{"projects:read"},
			require: []string{"projects:read", "projects:write"},
			scope:   "projects:read projects:write", detail: "The credential lacks a required scope: projects:read projects:write"},
		{name: "all of: none granted", require: []string{"read"}, scope: "read",
			detail: "The credential lacks a required scope: read"},
		{name: "all of: wildcard grant", granted: []string{"projects:*"},
			require: []string{"projects:read", "projects:write"}, ok: true},
		{name: "all of: wildcard of another resource", granted: []string{"users:*"},
			require: []string{"projects:read"}, scope: "projects:read",
			detail: "The credential lacks a required scope: projects:read"},
		{name: "all of: prefix is not a match", granted: []string{"projects:rea"},
			require: []string{"projects:read"}, scope: "projects:read",
			detail: "The credential lacks a required scope: projects:read"},
		{name: "all of: case matters", granted: []string{"READ"}, require: []string{"read"}, scope: "read",
			detail: "The credential lacks a required scope: read"},
		{name: "all of: role scopes", role: "editor", require: []string{"read", "write"}, ok: true},
		{name: "all of: role lacks one", role: "viewer", require: []string{"read", "write"}, scope: "read write",
			detail: "The credential lacks a required scope: read write"},
		{name: "all of: implied", granted: []string{"admin"}, require: []string{"read", "write"}, ok: true,
			matcher: scopes.MustMatcher(scopes.Implications{"admin": {"write"}, "write": {"read"}})},
		{name: "all of: not implied upward", granted: []string{"read"}, require: []string{"admin"}, scope: "admin",
			detail:  "The credential lacks a required scope: admin",
			matcher: scopes.MustMatcher(scopes.Implications{"admin": {"write"}, "write": {"read"}})},
		{name: "any of: first", any: true, granted: []string{"a"}, require: []string{"a", "b"}, ok: true},
		{name: "any of: second", any: true, granted: []string{"b"}, require: []string{"a", "b"}, ok: true},
		{name: "any of: none", any: true, granted: []string{"c"}, require: []string{"b", "a"}, scope: "a b",
			detail: "The credential lacks a required scope: one of a b"},
		{name: "any of: wildcard", any: true, granted: []string{"billing:*"}, require: []string{"admin", "billing:read"}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, withConfig(middleware.Config{Matcher: tt.matcher}))
			key, _ := f.issue(t, apikey.Params{Scopes: tt.granted, Role: tt.role})
			var guard func(http.Handler) http.Handler
			var err error
			if tt.any {
				guard, err = f.mw.RequireAnyScope(tt.require...)
			} else {
				guard, err = f.mw.RequireScopes(tt.require...)
			}
			require.NoError(t, err)
			w := get(f.mw.Handler(guard(echo)), bearer(key))
			if tt.ok {
				require.Equal(t, http.StatusOK, w.Code, "body %s", w.Body.String())
				assert.Equal(t, "hello usr_alice", w.Body.String())
				return
			}
			p := requireProblem(t, w, http.StatusForbidden, "insufficient_scope")
			assert.Equal(t, tt.detail, p.Detail)
			c := bearerChallenge(t, w)
			assert.Equal(t, "insufficient_scope", c.Params["error"])
			assert.Equal(t, "api", c.Params["realm"])
			assert.Equal(t, tt.scope, c.Params["scope"])
			assertNoLeak(t, w, key)
		})
	}
}

// TestRequireScopesStacked checks guards in sequence: each must pass.
func TestRequireScopesStacked(t *testing.T) {
	f := newFixture(t)
	readKey, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	bothKey, _ := f.issue(t, apikey.Params{Scopes: []string{"read", "billing"}})
	h := f.mw.Handler(f.mw.MustRequireScopes("read")(f.mw.MustRequireAnyScope("billing", "admin")(echo)))
	assert.Equal(t, http.StatusOK, get(h, bearer(bothKey)).Code)
	w := get(h, bearer(readKey))
	requireProblem(t, w, http.StatusForbidden, "insufficient_scope")
	assert.Equal(t, "admin billing", bearerChallenge(t, w).Params["scope"])
}

func TestRequireScopesInvalid(t *testing.T) {
	f := newFixture(t)
	for _, list := range [][]string{nil, {""}, {"a b"}, {`a"b`}, {"a,b"}, {"é"}, {"a\x00"}} {
		_, err := f.mw.RequireScopes(list...)
		assert.Error(t, err, "RequireScopes(%q)", list)
		_, err = f.mw.RequireAnyScope(list...)
		assert.Error(t, err, "RequireAnyScope(%q)", list)
		assert.Panics(t, func() { f.mw.MustRequireScopes(list...) })
		assert.Panics(t, func() { f.mw.MustRequireAnyScope(list...) })
	}
}
