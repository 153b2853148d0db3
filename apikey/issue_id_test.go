package apikey_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestIssueFixedID: a key with a fixed ID is created once; the second
// attempt is a conflict, not a second key.
func TestIssueFixedID(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	p := apikey.Params{ID: "key_bootstrap", Name: "bootstrap"}
	_, rec, err := apikey.Issue(ctx, mem, testFormat, nil, p)
	require.NoError(t, err)
	assert.Equal(t, "key_bootstrap", rec.ID)
	_, _, err = apikey.Issue(ctx, mem, testFormat, nil, p)
	assert.ErrorIs(t, err, store.ErrConflict)
	keys, _, err := mem.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Len(t, keys, 1)
}
