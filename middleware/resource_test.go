package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
)

func TestNewResourceMetadata(t *testing.T) {
	tests := []struct {
		name, resource, wantURL, wantPath string
		wantErr                           bool
	}{
		{name: "host only", resource: "https://api.example.com", wantURL: "https://api.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{name: "trailing slash", resource: "https://api.example.com/", wantURL: "https://api.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{name: "with a path (RFC 9728 3.1)", resource: "https://api.example.com/v1", wantURL: "https://api.example.com/.well-known/oauth-protected-resource/v1", wantPath: "/.well-known/oauth-protected-resource/v1"},
		{name: "http on loopback", resource: "http://127.0.0.1:8080", wantURL: "http://127.0.0.1:8080/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{name: "http elsewhere", resource: "http://api.example.com", wantErr: true},
		{name: "a fragment", resource: "https://api.example.com/#x", wantErr: true},
		{name: "a query", resource: "https://api.example.com/?a=b", wantErr: true},
		{name: "user info", resource: "https://u:p@api.example.com", wantErr: true},
		{name: "relative", resource: "/api", wantErr: true},
		{name: "a quote is escaped", resource: `https://api.example.com/a"b`, wantURL: "https://api.example.com/.well-known/oauth-protected-resource/a%22b", wantPath: "/.well-known/oauth-protected-resource/a%22b"},
		{name: "empty", resource: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, path, h, err := middleware.NewResourceMetadata(middleware.ResourceMetadata{Resource: tc.resource})
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantURL, u)
			assert.Equal(t, tc.wantPath, path)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			require.Equal(t, http.StatusOK, w.Code)
			var got map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tc.resource, got["resource"], "h serves the document of this resource")
		})
	}
	_, _, _, err := middleware.NewResourceMetadata(middleware.ResourceMetadata{Resource: "https://api.example.com",
		AuthorizationServers: []string{"http://idp.example.com"}})
	assert.Error(t, err, "an http authorization server")
}

func TestResourceMetadataDocument(t *testing.T) {
	md := middleware.ResourceMetadata{Resource: "https://api.example.com", AuthorizationServers: []string{"https://idp.example.com"},
		ScopesSupported: []string{"read", "write"}, ResourceName: "Example API"}
	_, path, h, err := middleware.NewResourceMetadata(md)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	var got map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.Equal(t, "https://api.example.com", got["resource"])
	assert.Equal(t, []any{"https://idp.example.com"}, got["authorization_servers"])
	assert.Equal(t, []any{"read", "write"}, got["scopes_supported"])
	assert.Equal(t, []any{"header"}, got["bearer_methods_supported"], "tokens only in a header")
	assert.Equal(t, "Example API", got["resource_name"])

	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp2.StatusCode)
	assert.Equal(t, "GET, HEAD", resp2.Header.Get("Allow"))
}

// TestResourceMetadataChallenge: with Config.ResourceMetadata, every
// Bearer challenge names the document (RFC 9728 section 5.1).
func TestResourceMetadataChallenge(t *testing.T) {
	const mdURL = "https://api.example.com/.well-known/oauth-protected-resource"
	f := newFixture(t, withConfig(middleware.Config{Realm: "api", ResourceMetadata: mdURL}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(f.mw.MustRequireScopes("write")(echo))
	tests := []struct {
		name   string
		mutate func(r *http.Request)
		status int
		errc   string
	}{
		{"no credential", nil, 401, ""},
		{"a bad token", bearer("cpx_live.nope"), 401, "invalid_token"},
		{"a missing scope", bearer(key), 403, "insufficient_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, tc.mutate)
			require.Equal(t, tc.status, w.Code)
			c := bearerChallenge(t, w)
			assert.Equal(t, mdURL, c.Params["resource_metadata"])
			assert.Equal(t, "api", c.Params["realm"])
			assert.Equal(t, tc.errc, c.Params["error"])
			assertSafeHeaders(t, w.Header())
		})
	}
	w := get(newFixture(t).mw.Handler(echo), nil)
	assert.NotContains(t, w.Header().Get("WWW-Authenticate"), "resource_metadata", "not without the option")

	for _, bad := range []string{"/relative", "ftp://x.example/", "https://x.example/a\"b", "https://x.example/\r\n",
		"http://x.example" + middleware.ResourceMetadataPath} { // http off loopback, as NewResourceMetadata refuses it
		_, err := middleware.New(middleware.Config{ResourceMetadata: bad}, &stubAuth{scheme: "Bearer"})
		assert.Error(t, err, "%q", bad)
	}
	_, err := middleware.New(middleware.Config{ResourceMetadata: "http://127.0.0.1:8080" + middleware.ResourceMetadataPath},
		&stubAuth{scheme: "Bearer"})
	assert.NoError(t, err, "http on a loopback host")
}
