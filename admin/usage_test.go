package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLastUsedWithoutStoreWrites sends 100 authenticated requests and
// checks that none of them wrote to the key store or the usage store: the
// last-used time reaches the store in one batch, on Flush, and the listing
// then shows it.
func TestLastUsedWithoutStoreWrites(t *testing.T) {
	e := newEnv(t, envConfig{})
	created := e.do(t, http.MethodPost, apiPath, e.boot[alice], map[string]any{"name": "hot", "scopes": []string{"read"}})
	require.Equal(t, http.StatusCreated, created.status, "body: %s", created.body)
	body := created.object(t)
	key := body["key"].(string)
	id := body["api_key"].(map[string]any)["id"].(string)

	keyWrites := e.keys.writes()
	e.clock.Advance(time.Minute)
	usedAt := e.clock.Now()
	for i := range 100 {
		r := e.do(t, http.MethodGet, mePath, key, nil)
		require.Equal(t, http.StatusOK, r.status, "request %d: %s", i, r.body)
	}
	assert.Equal(t, keyWrites, e.keys.writes(), "no key store write per request")
	assert.Zero(t, e.usage.touches.Load(), "no usage write before Flush")
	assert.Equal(t, 2, e.recorder.Pending(), "the new key and alice's bootstrap key, used to create it")

	stored, err := e.mem.KeyByID(context.Background(), id)
	require.NoError(t, err)
	assert.True(t, stored.LastUsedAt.IsZero(), "not written yet")

	require.NoError(t, e.recorder.Flush(context.Background()))
	assert.Equal(t, int64(1), e.usage.touches.Load(), "one batch for every key")
	assert.Equal(t, 0, e.recorder.Pending())
	require.NoError(t, e.recorder.Flush(context.Background()))
	assert.Equal(t, int64(1), e.usage.touches.Load(), "nothing pending: no write")
	assert.Equal(t, keyWrites, e.keys.writes(), "usage goes to the usage store, not through key updates")

	list := requireStatus(t, e.do(t, http.MethodGet, apiPath, e.boot[alice], nil), http.StatusOK)["api_keys"].([]any)
	var found map[string]any
	for _, item := range list {
		if m := item.(map[string]any); m["id"] == id {
			found = m
		}
	}
	require.NotNil(t, found)
	assert.Equal(t, usedAt.UTC().Format(time.RFC3339), found["last_used_at"])
}
