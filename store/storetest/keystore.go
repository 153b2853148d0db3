package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// RunKeyStore runs the conformance suite for [store.KeyStore]. newStore
// must return a new, empty store each time it is called; it is called once
// per subtest, inside the subtest, so it may register cleanups on t.
func RunKeyStore(t *testing.T, newStore func(t *testing.T) store.KeyStore) {
	t.Helper()
	runCases(t, newStore, []suiteCase[store.KeyStore]{
		{"RoundTrip", testRoundTrip},
		{"Conflict", testConflict},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"Copies", testCopies},
		{"ListFilters", testListFilters},
		{"ListPages", testListPages},
		{"ListLimits", testListLimits},
		{"Update", testUpdate},
		{"Revoke", testRevoke},
		{"ExpiryBoundary", testExpiryBoundary},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
	})
}

// base is the suite's reference time: UTC, with nanoseconds that a store
// keeping microseconds drops.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 123_456_789, time.UTC)

// newKey returns a key with every field set, a fresh ID and a digest
// derived from it.
func newKey(t *testing.T) *store.Key {
	t.Helper()
	id := store.NewID("key")
	return &store.Key{
		ID:              id,
		Digest:          sha256.Sum256([]byte(id)),
		Prefix:          "cpx_live.",
		Last4:           "Ab9z",
		Name:            "deploy bot",
		Description:     "used by CI",
		OwnerID:         "usr_1",
		TenantID:        "org_1",
		Scopes:          []string{"write", "read", "projects:*"},
		Role:            "developer",
		CreatedBy:       "usr_admin",
		CreatedAt:       base,
		ExpiresAt:       base.Add(90 * 24 * time.Hour),
		LastUsedAt:      base.Add(time.Hour),
		Metadata:        map[string]string{"team": "platform", "ci": "true"},
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		Credits:         &gatehouse.Credits{Remaining: 100, Refill: 100, Interval: gatehouse.CreditsDaily, Since: base},
	}
}

// minimalKey returns a key with only the required fields set.
func minimalKey(t *testing.T) *store.Key {
	t.Helper()
	id := store.NewID("key")
	return &store.Key{ID: id, Digest: sha256.Sum256([]byte(id)), CreatedAt: base}
}

func create(t *testing.T, s store.KeyStore, k *store.Key) *store.Key {
	t.Helper()
	require.NoError(t, s.CreateKey(context.Background(), k))
	return k
}

// assertKey checks that got holds every field of want.
func assertKey(t *testing.T, want, got *store.Key) {
	t.Helper()
	if !assert.NotNil(t, got, "key %s", want.ID) {
		return
	}
	assert.Equal(t, want.ID, got.ID, "ID")
	assert.Equal(t, want.Digest, got.Digest, "Digest")
	assert.Equal(t, want.Prefix, got.Prefix, "Prefix")
	assert.Equal(t, want.Last4, got.Last4, "Last4")
	assert.Equal(t, want.Name, got.Name, "Name")
	assert.Equal(t, want.Description, got.Description, "Description")
	assert.Equal(t, want.OwnerID, got.OwnerID, "OwnerID")
	assert.Equal(t, want.TenantID, got.TenantID, "TenantID")
	assert.Equal(t, nilIfEmpty(want.Scopes), nilIfEmpty(got.Scopes), "Scopes")
	assert.Equal(t, want.Role, got.Role, "Role")
	assert.Equal(t, want.CreatedBy, got.CreatedBy, "CreatedBy")
	assertTime(t, "CreatedAt", want.CreatedAt, got.CreatedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assertTime(t, "LastUsedAt", want.LastUsedAt, got.LastUsedAt)
	assertTime(t, "RevokedAt", want.RevokedAt, got.RevokedAt)
	assert.Equal(t, nilIfEmptyMap(want.Metadata), nilIfEmptyMap(got.Metadata), "Metadata")
	assertControls(t, want, got)
}

// assertTime checks got against want at microsecond precision, and that a
// time given in UTC comes back in UTC.
func assertTime(t *testing.T, field string, want, got time.Time) {
	t.Helper()
	if want.IsZero() {
		assert.True(t, got.IsZero(), "%s: want the zero time, got %v", field, got)
		return
	}
	w, g := want.Truncate(time.Microsecond), got.Truncate(time.Microsecond)
	assert.True(t, w.Equal(g), "%s: want %v, got %v", field, w, got)
	if want.Location() == time.UTC {
		assert.Equal(t, time.UTC, got.Location(), "%s: not in UTC", field)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func testRoundTrip(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	odd := newKey(t)
	odd.Name = `it's "quoted"; DROP TABLE keys; --`
	odd.Description = "ünïcödé ✓ 鍵\nsecond line\ttab"
	odd.Scopes = []string{"a", "a:b", `back\slash`}
	odd.Metadata = map[string]string{"": "empty key", "json": `{"x":[1]}`}
	odd.Digest = store.Digest{0x00, 0xff, 0x00, 0x27, 0x5c} // NULs, quote, backslash
	revoked := newKey(t)
	revoked.RevokedAt = base.Add(2 * time.Hour)
	local := newKey(t) // times in another zone come back Equal
	zone := time.FixedZone("UTC+5", 5*3600)
	local.CreatedAt = base.In(zone)
	local.ExpiresAt = local.ExpiresAt.In(zone)

	tests := []struct {
		name string
		key  *store.Key
	}{
		{"every field", newKey(t)},
		{"only required fields", minimalKey(t)},
		{"quotes, unicode and odd bytes", odd},
		{"revoked", revoked},
		{"non-UTC times", local},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.key.Clone()
			require.NoError(t, s.CreateKey(ctx, tc.key))
			byDigest, err := s.KeyByDigest(ctx, want.Digest)
			require.NoError(t, err)
			assertKey(t, want, byDigest)
			byID, err := s.KeyByID(ctx, want.ID)
			require.NoError(t, err)
			assertKey(t, want, byID)
			assert.Equal(t, want.Revoked(), byID.Revoked(), "Revoked()")
		})
	}
	t.Run("scopes keep their order", func(t *testing.T) {
		k := newKey(t)
		k.Scopes = []string{"z", "a", "m"}
		create(t, s, k)
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"z", "a", "m"}, got.Scopes)
	})
	t.Run("times keep microseconds and never round up", func(t *testing.T) {
		k := minimalKey(t)
		k.ExpiresAt = time.Date(2031, 1, 1, 0, 0, 0, 999_999, time.UTC) // 999.999 µs
		create(t, s, k)
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.False(t, got.ExpiresAt.After(k.ExpiresAt), "stored expiry %v is later than %v", got.ExpiresAt, k.ExpiresAt)
		assert.True(t, got.ExpiresAt.Truncate(time.Microsecond).Equal(k.ExpiresAt.Truncate(time.Microsecond)),
			"stored expiry %v lost microseconds of %v", got.ExpiresAt, k.ExpiresAt)
	})
}

func testConflict(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	first := create(t, s, newKey(t))
	sameID := newKey(t)
	sameID.ID = first.ID
	sameDigest := newKey(t)
	sameDigest.Digest = first.Digest
	tests := []struct {
		name string
		key  *store.Key
	}{
		{"duplicate ID", sameID},
		{"duplicate digest", sameDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateKey(ctx, tc.key)
			require.ErrorIs(t, err, store.ErrConflict)
			// The stored key is untouched and nothing else was stored.
			got, err := s.KeyByID(ctx, first.ID)
			require.NoError(t, err)
			assertKey(t, first, got)
			got, err = s.KeyByDigest(ctx, first.Digest)
			require.NoError(t, err)
			assertKey(t, first, got)
			if tc.key.ID != first.ID {
				_, err := s.KeyByID(ctx, tc.key.ID)
				assert.ErrorIs(t, err, store.ErrNotFound)
			}
			if tc.key.Digest != first.Digest {
				_, err := s.KeyByDigest(ctx, tc.key.Digest)
				assert.ErrorIs(t, err, store.ErrNotFound)
			}
		})
	}
}

func testNotFound(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	create(t, s, newKey(t)) // the store is not empty
	missing := newKey(t)
	name := "x"
	tests := []struct {
		name string
		call func() (*store.Key, error)
	}{
		{"KeyByID", func() (*store.Key, error) { return s.KeyByID(ctx, missing.ID) }},
		{"KeyByID empty", func() (*store.Key, error) { return s.KeyByID(ctx, "") }},
		{"KeyByDigest", func() (*store.Key, error) { return s.KeyByDigest(ctx, missing.Digest) }},
		{"KeyByDigest zero", func() (*store.Key, error) { return s.KeyByDigest(ctx, store.Digest{}) }},
		{"UpdateKey", func() (*store.Key, error) {
			return s.UpdateKey(ctx, missing.ID, store.KeyUpdate{Name: &name})
		}},
		{"UpdateKey without changes", func() (*store.Key, error) {
			return s.UpdateKey(ctx, missing.ID, store.KeyUpdate{})
		}},
		{"RevokeKey", func() (*store.Key, error) { return s.RevokeKey(ctx, missing.ID, base) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.call()
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.Nil(t, k)
		})
	}
	t.Run("DeleteKey of a missing key is no error", func(t *testing.T) {
		assert.NoError(t, s.DeleteKey(ctx, missing.ID))
	})
	t.Run("UpdateKey and RevokeKey did not create the key", func(t *testing.T) {
		_, err := s.KeyByID(ctx, missing.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

func testDelete(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	k := create(t, s, newKey(t))
	other := create(t, s, newKey(t))
	require.NoError(t, s.DeleteKey(ctx, k.ID))

	_, err := s.KeyByID(ctx, k.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "by ID after delete")
	_, err = s.KeyByDigest(ctx, k.Digest)
	assert.ErrorIs(t, err, store.ErrNotFound, "by digest after delete")
	keys, _, err := s.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Equal(t, []string{other.ID}, ids(keys), "list after delete")

	assert.NoError(t, s.DeleteKey(ctx, k.ID), "second delete")
	got, err := s.KeyByID(ctx, other.ID)
	require.NoError(t, err, "the other key survives")
	assertKey(t, other, got)

	// The ID and the digest are free again.
	again := newKey(t)
	again.ID, again.Digest = k.ID, k.Digest
	require.NoError(t, s.CreateKey(ctx, again))
	got, err = s.KeyByDigest(ctx, k.Digest)
	require.NoError(t, err)
	assertKey(t, again, got)
}

func testCopies(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	in := newKey(t)
	want := in.Clone()
	require.NoError(t, s.CreateKey(ctx, in))
	mutate := func(k *store.Key) {
		k.Name = "changed"
		k.Scopes[0] = "admin"
		k.Metadata["team"] = "attacker"
		k.Metadata["new"] = "x"
	}
	// The caller's key after CreateKey is not the store's.
	mutate(in)

	name := want.Name
	tests := []struct {
		name string
		get  func() (*store.Key, error)
	}{
		{"KeyByID", func() (*store.Key, error) { return s.KeyByID(ctx, want.ID) }},
		{"KeyByDigest", func() (*store.Key, error) { return s.KeyByDigest(ctx, want.Digest) }},
		{"ListKeys", func() (*store.Key, error) {
			keys, _, err := s.ListKeys(ctx, store.KeyFilter{})
			if err != nil || len(keys) != 1 {
				return nil, errors.Join(err, errors.New("want one key"))
			}
			return keys[0], nil
		}},
		{"UpdateKey", func() (*store.Key, error) { return s.UpdateKey(ctx, want.ID, store.KeyUpdate{Name: &name}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.get()
			require.NoError(t, err)
			mutate(k)
			for _, again := range []func() (*store.Key, error){
				func() (*store.Key, error) { return s.KeyByID(ctx, want.ID) },
				func() (*store.Key, error) { return s.KeyByDigest(ctx, want.Digest) },
			} {
				got, err := again()
				require.NoError(t, err)
				assertKey(t, want, got)
			}
		})
	}
	t.Run("RevokeKey", func(t *testing.T) {
		k, err := s.RevokeKey(ctx, want.ID, base)
		require.NoError(t, err)
		mutate(k)
		want.RevokedAt = base
		got, err := s.KeyByDigest(ctx, want.Digest)
		require.NoError(t, err)
		assertKey(t, want, got)
	})
}

func ids(keys []*store.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}
