package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

func ptr[T any](v T) *T { return &v }

// updateCase is an update and what it does to a key.
type updateCase struct {
	name   string
	update store.KeyUpdate
	apply  func(k *store.Key)
}

// testUpdates applies each update to a new key, in a subtest, and checks
// the key it returns, the key read back, and that another key is
// untouched.
func testUpdates(t *testing.T, s store.KeyStore, cases []updateCase) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := create(t, s, newKey(t))
			other := create(t, s, newKey(t))
			want := k.Clone()
			tc.apply(want)
			got, err := s.UpdateKey(ctx, k.ID, tc.update)
			require.NoError(t, err)
			assertKey(t, want, got)
			again, err := s.KeyByDigest(ctx, k.Digest)
			require.NoError(t, err)
			assertKey(t, want, again)
			untouched, err := s.KeyByID(ctx, other.ID)
			require.NoError(t, err)
			assertKey(t, other, untouched)
		})
	}
}

func testUpdate(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	later := base.Add(7 * 24 * time.Hour)
	testUpdates(t, s, []updateCase{
		{"name", store.KeyUpdate{Name: ptr("renamed")},
			func(k *store.Key) { k.Name = "renamed" }},
		{"description", store.KeyUpdate{Description: ptr("new words")},
			func(k *store.Key) { k.Description = "new words" }},
		{"empty name", store.KeyUpdate{Name: ptr("")},
			func(k *store.Key) { k.Name = "" }},
		{"expiry", store.KeyUpdate{ExpiresAt: ptr(later)},
			func(k *store.Key) { k.ExpiresAt = later }},
		{"clear expiry", store.KeyUpdate{ExpiresAt: ptr(time.Time{})},
			func(k *store.Key) { k.ExpiresAt = time.Time{} }},
		{"everything at once", store.KeyUpdate{Name: ptr("n"), Description: ptr("d"), ExpiresAt: ptr(later)},
			func(k *store.Key) { k.Name, k.Description, k.ExpiresAt = "n", "d", later }},
		{"nothing", store.KeyUpdate{},
			func(k *store.Key) {}},
	})
	t.Run("set an expiry on a key without one", func(t *testing.T) {
		k := minimalKey(t)
		create(t, s, k)
		got, err := s.UpdateKey(ctx, k.ID, store.KeyUpdate{ExpiresAt: ptr(later)})
		require.NoError(t, err)
		assertTime(t, "ExpiresAt", later, got.ExpiresAt)
	})
	t.Run("a revoked key stays revoked", func(t *testing.T) {
		k := newKey(t)
		k.RevokedAt = base
		create(t, s, k)
		got, err := s.UpdateKey(ctx, k.ID, store.KeyUpdate{Name: ptr("x")})
		require.NoError(t, err)
		assertTime(t, "RevokedAt", base, got.RevokedAt)
	})
}

func testRevoke(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	k := create(t, s, newKey(t))
	other := create(t, s, newKey(t))
	first := base.Add(time.Hour)

	got, err := s.RevokeKey(ctx, k.ID, first)
	require.NoError(t, err)
	want := k.Clone()
	want.RevokedAt = first
	assertKey(t, want, got)
	assert.True(t, got.Revoked())

	tests := []struct {
		name string
		at   time.Time
	}{
		{"again later keeps the first time", first.Add(time.Hour)},
		{"again earlier keeps the first time", first.Add(-time.Hour)},
		{"again at the same time", first},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.RevokeKey(ctx, k.ID, tc.at)
			require.NoError(t, err)
			assertKey(t, want, got)
		})
	}
	t.Run("lookups return the revoked key", func(t *testing.T) {
		byDigest, err := s.KeyByDigest(ctx, k.Digest)
		require.NoError(t, err)
		assertKey(t, want, byDigest)
		byID, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assertKey(t, want, byID)
	})
	t.Run("other keys are untouched", func(t *testing.T) {
		got, err := s.KeyByID(ctx, other.ID)
		require.NoError(t, err)
		assert.False(t, got.Revoked())
	})
	t.Run("listing leaves it out unless asked", func(t *testing.T) {
		keys, _, err := s.ListKeys(ctx, store.KeyFilter{})
		require.NoError(t, err)
		assert.Equal(t, []string{other.ID}, ids(keys))
		keys, _, err = s.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true})
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{k.ID, other.ID}, ids(keys))
	})
}

// testExpiryBoundary checks that a stored expiry is the instant given: a
// key is valid up to, not at, its expiry.
func testExpiryBoundary(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	at := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)
	k := minimalKey(t)
	k.ExpiresAt = at
	create(t, s, k)
	got, err := s.KeyByDigest(ctx, k.Digest)
	require.NoError(t, err)
	tests := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"a second before", at.Add(-time.Second), false},
		{"a microsecond before", at.Add(-time.Microsecond), false},
		{"at the instant", at, true},
		{"a second after", at.Add(time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.expired, got.ExpiredAt(tc.now))
		})
	}
	t.Run("after clearing it never expires", func(t *testing.T) {
		_, err := s.UpdateKey(ctx, k.ID, store.KeyUpdate{ExpiresAt: ptr(time.Time{})})
		require.NoError(t, err)
		got, err := s.KeyByDigest(ctx, k.Digest)
		require.NoError(t, err)
		assert.False(t, got.ExpiredAt(at.Add(100*365*24*time.Hour)))
	})
}
