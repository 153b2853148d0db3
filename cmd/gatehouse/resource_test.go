package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeKeyHeaderAndResourceMetadata: serve accepts a key in X-API-Key
// (a key in two places is a 400), and --resource serves the RFC 9728
// document and names it in the challenges.
func TestServeKeyHeaderAndResourceMetadata(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	i := startInstance(t, vars, "--resource", "http://127.0.0.1:9999/api", "--authorization-server", "https://accounts.example.com")
	admin := bootstrapKey(t, i.stdout)

	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"X-API-Key", []string{"X-API-Key", admin}, 200},
		{"Authorization", []string{"Authorization", "Bearer " + admin}, 200},
		{"both", []string{"X-API-Key", admin, "Authorization", "Bearer " + admin}, 400},
		{"neither", nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := send(t, client, "GET", i.base+"/api/projects", "", tc.header...)
			assert.Equal(t, tc.status, code, body)
			if code == 401 || code == 400 {
				assert.Contains(t, h.Get("WWW-Authenticate"),
					`resource_metadata="http://127.0.0.1:9999/.well-known/oauth-protected-resource/api"`)
			}
		})
	}

	code, h, body := send(t, client, "GET", i.base+"/.well-known/oauth-protected-resource/api", "")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	var md struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
		BearerMethods        []string `json:"bearer_methods_supported"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &md))
	assert.Equal(t, "http://127.0.0.1:9999/api", md.Resource)
	assert.Equal(t, []string{"https://accounts.example.com"}, md.AuthorizationServers)
	assert.Equal(t, demoScopes, md.ScopesSupported)
	assert.Equal(t, []string{"header"}, md.BearerMethods)

	for _, args := range [][]string{
		{"serve", "--resource", "http://api.example.com"},
		{"serve", "--resource", "https://api.example.com/?q=1"},
		{"serve", "--authorization-server", "https://accounts.example.com"},
	} {
		code, _, stderr := cli(t, vars, args...)
		assert.NotEqual(t, 0, code, "%v: %s", args, stderr)
	}
}
