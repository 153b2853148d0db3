package apikey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

var _ middleware.StrictSyntax = (*apikey.Authenticator)(nil)

// TestImportedKeyWithBadCharacters: the authenticator is StrictSyntax, so
// the middleware relies on it to refuse any key that is not well formed,
// also when a record was stored with the digest of such a string (imported
// from another system, say) and loaded into the cache by something other
// than the authenticator. The refusal is the middleware's usual one for
// bad characters. A valid key loaded the same way is accepted.
func TestImportedKeyWithBadCharacters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true, apikey.Config{})
	h, err := store.NewHasher(nil)
	require.NoError(t, err)
	good, _ := e.issue(t, nil, apikey.Params{Scopes: []string{"read"}})
	bad := testFormat.Prefix() + "legacy key with spaces" + strings.Repeat("!", 14)
	require.Len(t, bad, len(good), "same shape as a key, so only the characters are wrong")
	require.NoError(t, e.mem.CreateKey(ctx, &store.Key{ID: "key_legacy", Digest: h.Sum(bad), Prefix: testFormat.Prefix(),
		Last4: apikey.Last4(bad), Name: "legacy", OwnerID: "u1", CreatedAt: e.clock.Now()}))
	for _, k := range []string{bad, good} {
		// An administrative read puts the record in the cache.
		_, err := e.cache.KeyByDigest(ctx, h.Sum(k))
		require.NoError(t, err)
	}

	m, err := middleware.New(middleware.Config{}, e.auth)
	require.NoError(t, err)
	h2 := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	serve := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h2.ServeHTTP(w, r)
		return w
	}
	for range 2 {
		w := serve(bad)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Contains(t, w.Body.String(), "The credential holds characters that no valid credential has")
		assert.NotContains(t, w.Body.String(), "legacy")

		_, err := e.auth.Verify(ctx, bad)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "Verify refuses it too")

		assert.Equal(t, http.StatusNoContent, serve(good).Code)
	}
}
