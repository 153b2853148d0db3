package middleware_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestAdapterFunctions covers Authenticate and Authorize, the functions
// router adapters (ginauth) call instead of Handler and Require.
func TestAdapterFunctions(t *testing.T) {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("adp_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(t, err)
	key, _, err := apikey.Issue(context.Background(), keys, format, nil, apikey.Params{Name: "k", OwnerID: "u1", Scopes: []string{"read"}})
	require.NoError(t, err)
	read, err := m.Matcher().AllOf("read")
	require.NoError(t, err)
	write, err := m.Matcher().AllOf("write")
	require.NoError(t, err)

	anon := httptest.NewRequest("GET", "/", nil)
	_, err = m.Authenticate(httptest.NewRecorder(), anon, false)
	assert.ErrorIs(t, err, gatehouse.ErrNoCredentials)
	same, err := m.Authenticate(httptest.NewRecorder(), anon, true)
	require.NoError(t, err, "optional lets an anonymous request through")
	assert.Same(t, anon, same)
	assert.ErrorIs(t, m.Authorize(same, read), gatehouse.ErrNoCredentials, "no principal, no pass")

	bad := httptest.NewRequest("GET", "/", nil)
	bad.Header.Set("Authorization", "Bearer "+key+"x")
	_, err = m.Authenticate(httptest.NewRecorder(), bad, true)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "optional still refuses a bad key")

	good := httptest.NewRequest("GET", "/", nil)
	good.Header.Set("Authorization", "Bearer "+key)
	r, err := m.Authenticate(httptest.NewRecorder(), good, false)
	require.NoError(t, err)
	p, ok := gatehouse.FromContext(r.Context())
	require.True(t, ok)
	assert.Equal(t, "u1", p.ID)
	assert.NoError(t, m.Authorize(r, read))
	var se *gatehouse.ScopeError
	require.ErrorAs(t, m.Authorize(r, write), &se)
	assert.Equal(t, []string{"write"}, se.Required)
}
