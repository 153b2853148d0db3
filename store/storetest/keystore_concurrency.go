package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// testConcurrent has 50 goroutines create, look up, list and revoke keys
// at once, and 10 race to create one key.
func testConcurrent(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	const workers = 50
	keys := make([]*store.Key, workers)
	for i := range keys {
		keys[i] = newKey(t)
		keys[i].OwnerID = "owner"
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			k := keys[i]
			if !assert.NoError(t, s.CreateKey(ctx, k.Clone())) {
				return
			}
			got, err := s.KeyByDigest(ctx, k.Digest)
			if assert.NoError(t, err) {
				assert.Equal(t, k.ID, got.ID)
			}
			got, err = s.KeyByID(ctx, k.ID)
			if assert.NoError(t, err) {
				assert.Equal(t, k.Digest, got.Digest)
			}
			_, _, err = s.ListKeys(ctx, store.KeyFilter{OwnerID: "owner", Limit: 10})
			assert.NoError(t, err)
			if i%2 == 0 {
				_, err = s.RevokeKey(ctx, k.ID, base)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()

	all, next, err := s.ListKeys(ctx, store.KeyFilter{OwnerID: "owner", IncludeRevoked: true})
	require.NoError(t, err)
	assert.Len(t, all, workers)
	assert.Empty(t, next)
	active, _, err := s.ListKeys(ctx, store.KeyFilter{OwnerID: "owner"})
	require.NoError(t, err)
	assert.Len(t, active, workers/2)

	t.Run("one of many identical creates wins", func(t *testing.T) {
		k := newKey(t)
		const racers = 10
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { errs[i] = s.CreateKey(ctx, k.Clone()) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			assert.ErrorIs(t, err, store.ErrConflict)
		}
		assert.Equal(t, 1, won)
	})
}

// testCancelledContext checks that a write under a cancelled context fails
// with context.Canceled and changes nothing. A read may fail the same way
// or, when it needs no I/O (a cache hit), return the right record.
func testCancelledContext(t *testing.T, s store.KeyStore) {
	bg := context.Background()
	ctx, cancel := context.WithCancel(bg)
	cancel()
	k := create(t, s, newKey(t))

	writes := []struct {
		name  string
		write func() (*store.Key, error)
	}{
		{"CreateKey", func() (*store.Key, error) {
			n := newKey(t)
			err := s.CreateKey(ctx, n)
			if _, lerr := s.KeyByID(bg, n.ID); !errors.Is(lerr, store.ErrNotFound) {
				t.Errorf("a create under a cancelled context stored the key (lookup: %v)", lerr)
			}
			return nil, err
		}},
		{"UpdateKey", func() (*store.Key, error) { return s.UpdateKey(ctx, k.ID, store.KeyUpdate{Name: ptr("changed")}) }},
		{"RevokeKey", func() (*store.Key, error) { return s.RevokeKey(ctx, k.ID, base) }},
		{"DeleteKey", func() (*store.Key, error) { return nil, s.DeleteKey(ctx, k.ID) }},
	}
	for _, tc := range writes {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.write()
			assert.ErrorIs(t, err, context.Canceled)
			assert.Nil(t, got)
			// The stored key is unchanged.
			stored, err := s.KeyByID(bg, k.ID)
			require.NoError(t, err)
			assertKey(t, k, stored)
		})
	}

	reads := []struct {
		name string
		read func() (*store.Key, error)
	}{
		{"KeyByID", func() (*store.Key, error) { return s.KeyByID(ctx, k.ID) }},
		{"KeyByDigest", func() (*store.Key, error) { return s.KeyByDigest(ctx, k.Digest) }},
		{"ListKeys", func() (*store.Key, error) {
			keys, _, err := s.ListKeys(ctx, store.KeyFilter{})
			if err != nil || len(keys) != 1 {
				return nil, err
			}
			return keys[0], nil
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if err != nil {
				assert.ErrorIs(t, err, context.Canceled)
				assert.Nil(t, got)
				return
			}
			assertKey(t, k, got)
		})
	}
}
