package credentials_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/credentials"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestPersonalAccessConfigAgainstServer runs a client with a personal
// access config against a real server protected by Gatehouse: the token is
// minted, verified, kept while fresh, renewed before it expires, and
// refused once the registration is deleted.
func TestPersonalAccessConfigAgainstServer(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(now)
	reg, err := jwtauth.NewRegisteredKeys(store.NewMemorySigningKeys(), jwtauth.RegisteredKeysConfig{Now: clk.Now})
	require.NoError(t, err)
	tokens, err := jwtauth.New(jwtauth.Config{Now: clk.Now},
		jwtauth.Issuer{Issuer: "gatehouse-personal", Audience: []string{"gatehouse-api"}, Keys: reg, MaxLifetime: jwtauth.MaxMintTTL})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, tokens)
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": p.ID, "scopes": p.Scopes})
	})))
	defer srv.Close()

	cfg, _, err := jwtauth.CreatePersonalConfig(ctx, reg, jwtauth.PersonalParams{
		OwnerID: "alice", Scopes: []string{"read"}, Issuer: "gatehouse-personal", Audience: "gatehouse-api", URL: srv.URL, Now: now,
	})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "alice.json")
	require.NoError(t, jwtauth.WriteConfigFile(path, cfg))

	r, err := credentials.Resolve(credentials.Options{ConfigDir: t.TempDir(), LookupEnv: envOf(map[string]string{credentials.EnvPersonalConfig: path}), Now: clk.Now})
	require.NoError(t, err)
	assert.Equal(t, srv.URL, r.URI, "the URI comes from the config when nothing else gives one")
	assert.Equal(t, credentials.FromEnv, r.CredentialSource)
	rt, err := r.Transport(nil, credentials.TransportOptions{TokenTTL: 5 * time.Minute, RenewBefore: time.Minute})
	require.NoError(t, err)
	client := &http.Client{Transport: rt}

	get := func() int {
		resp, err := client.Get(r.URI + "/api/me")
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode
	}
	distinct := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }

	require.Equal(t, 200, get())
	require.Equal(t, 200, get())
	assert.Equal(t, 1, distinct(), "a fresh token is reused")
	clk.Add(3*time.Minute + 59*time.Second)
	require.Equal(t, 200, get())
	assert.Equal(t, 1, distinct(), "still more than RenewBefore from its expiry")
	clk.Add(2 * time.Second)
	require.Equal(t, 200, get())
	assert.Equal(t, 2, distinct(), "renewed a minute before it expires")
	clk.Add(10 * time.Minute)
	require.Equal(t, 200, get(), "after the old token's expiry a new one is minted")
	assert.Equal(t, 3, distinct())

	require.NoError(t, reg.DeleteSigningKey(ctx, cfg.KeyID))
	assert.Equal(t, http.StatusUnauthorized, get(), "a deleted registration's tokens are refused")
}

func TestTransportSendsCredentialsOnlyToItsHost(t *testing.T) {
	var otherAuth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth = r.Header.Get("Authorization")
	}))
	defer other.Close()
	var apiAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiAuth = r.Header.Get("Authorization")
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
		}
	}))
	defer api.Close()

	r, err := credentials.Resolve(credentials.Options{Token: "tok_123", URI: api.URL, ConfigDir: t.TempDir(), LookupEnv: envOf(nil)})
	require.NoError(t, err)
	client, err := r.Client()
	require.NoError(t, err)
	resp, err := client.Get(api.URL + "/redirect")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "Bearer tok_123", apiAuth)
	assert.Empty(t, otherAuth, "a redirect to another host carries no credential")

	req, err := http.NewRequest("GET", api.URL+"/x", nil)
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, req.Header.Get("Authorization"), "the caller's request is not modified")
}

func TestTransportRefusals(t *testing.T) {
	r, err := credentials.Resolve(credentials.Options{Token: "t", URI: "http://api.example", ConfigDir: t.TempDir(), LookupEnv: envOf(nil)})
	require.NoError(t, err)
	_, err = r.Transport(nil, credentials.TransportOptions{})
	require.ErrorIs(t, err, credentials.ErrInvalid, "plain HTTP to a remote host")
	assert.Contains(t, err.Error(), "use https")
	_, err = r.Transport(nil, credentials.TransportOptions{AllowInsecure: true})
	assert.NoError(t, err)
	_, err = r.Transport(nil, credentials.TransportOptions{TokenTTL: time.Hour})
	assert.ErrorIs(t, err, credentials.ErrInvalid, "TTL beyond MaxMintTTL")

	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		r, err := credentials.Resolve(credentials.Options{Token: "t", URI: u, ConfigDir: t.TempDir(), LookupEnv: envOf(nil)})
		require.NoError(t, err)
		_, err = r.Transport(nil, credentials.TransportOptions{})
		assert.NoError(t, err, "loopback may use plain HTTP: %s", u)
	}
}

func TestCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o600))

	resolve := func(env map[string]string, caFile string) *credentials.Resolved {
		r, err := credentials.Resolve(credentials.Options{Token: "t", URI: srv.URL, CAFile: caFile, ConfigDir: dir, LookupEnv: envOf(env)})
		require.NoError(t, err)
		return r
	}
	without, err := resolve(nil, "").Client()
	require.NoError(t, err)
	_, err = without.Get(srv.URL)
	assert.Error(t, err, "an unknown CA is refused")

	for name, r := range map[string]*credentials.Resolved{
		"option":        resolve(nil, ca),
		"SSL_CERT_FILE": resolve(map[string]string{"SSL_CERT_FILE": ca}, ""),
	} {
		client, err := r.Client()
		require.NoError(t, err, name)
		resp, err := client.Get(srv.URL)
		require.NoError(t, err, name)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, name)
	}
	_, err = resolve(nil, garbage).Client()
	assert.ErrorIs(t, err, credentials.ErrConfig)
	_, err = resolve(nil, filepath.Join(dir, "missing.pem")).Client()
	assert.ErrorIs(t, err, credentials.ErrConfig)
}
