package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

func testListFilters(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	var all []*store.Key
	add := func(owner, tenant string, revoked bool) {
		k := newKey(t)
		k.OwnerID, k.TenantID = owner, tenant
		if revoked {
			k.RevokedAt = base
		}
		all = append(all, create(t, s, k))
	}
	add("alice", "org_a", false)
	add("alice", "org_a", true)
	add("alice", "org_b", false)
	add("bob", "org_a", false)
	add("bob", "org_b", true)
	add("", "", false)

	want := func(match func(k *store.Key) bool) []string {
		var out []string
		for _, k := range all {
			if match(k) {
				out = append(out, k.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name   string
		filter store.KeyFilter
		match  func(k *store.Key) bool
	}{
		{"everything active", store.KeyFilter{},
			func(k *store.Key) bool { return !k.Revoked() }},
		{"everything", store.KeyFilter{IncludeRevoked: true},
			func(k *store.Key) bool { return true }},
		{"owner", store.KeyFilter{OwnerID: "alice"},
			func(k *store.Key) bool { return k.OwnerID == "alice" && !k.Revoked() }},
		{"owner with revoked", store.KeyFilter{OwnerID: "alice", IncludeRevoked: true},
			func(k *store.Key) bool { return k.OwnerID == "alice" }},
		{"tenant", store.KeyFilter{TenantID: "org_a"},
			func(k *store.Key) bool { return k.TenantID == "org_a" && !k.Revoked() }},
		{"tenant with revoked", store.KeyFilter{TenantID: "org_b", IncludeRevoked: true},
			func(k *store.Key) bool { return k.TenantID == "org_b" }},
		{"owner and tenant", store.KeyFilter{OwnerID: "bob", TenantID: "org_a"},
			func(k *store.Key) bool { return k.OwnerID == "bob" && k.TenantID == "org_a" && !k.Revoked() }},
		{"no match", store.KeyFilter{OwnerID: "carol"},
			func(k *store.Key) bool { return false }},
		{"tenant of another case", store.KeyFilter{TenantID: "ORG_A"},
			func(k *store.Key) bool { return false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, next, err := s.ListKeys(ctx, tc.filter)
			require.NoError(t, err)
			assert.Equal(t, want(tc.match), nilIfEmpty(ids(keys)))
			assert.Empty(t, next, "one page holds everything")
		})
	}
	t.Run("listed keys hold every field", func(t *testing.T) {
		keys, _, err := s.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true})
		require.NoError(t, err)
		byID := map[string]*store.Key{}
		for _, k := range all {
			byID[k.ID] = k
		}
		require.Len(t, keys, len(all))
		for _, k := range keys {
			assertKey(t, byID[k.ID], k)
		}
	})
}

func testListPages(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	var want []string
	for i := 0; i < 14; i++ {
		k := newKey(t)
		if i%5 == 4 {
			k.RevokedAt = base
		}
		create(t, s, k)
		want = append(want, k.ID)
	}
	slices.Sort(want)
	var active []string
	for _, id := range want {
		k, err := s.KeyByID(ctx, id)
		require.NoError(t, err)
		if !k.Revoked() {
			active = append(active, id)
		}
	}

	walk := func(t *testing.T, f store.KeyFilter) (got []string, pages int) {
		t.Helper()
		for {
			keys, next, err := s.ListKeys(ctx, f)
			require.NoError(t, err)
			require.LessOrEqual(t, len(keys), f.Limit, "page longer than the limit")
			pages++
			got = append(got, ids(keys)...)
			if next == "" {
				return got, pages
			}
			require.NotEmpty(t, keys, "a page with a cursor must hold keys")
			assert.Equal(t, keys[len(keys)-1].ID, next, "the cursor is the last ID of the page")
			f.After = next
			require.Less(t, pages, 100, "pagination does not end")
		}
	}
	tests := []struct {
		name      string
		filter    store.KeyFilter
		want      []string
		wantPages int
	}{
		{"pages of 5", store.KeyFilter{Limit: 5, IncludeRevoked: true}, want, 3},
		{"pages of 7 end exactly full", store.KeyFilter{Limit: 7, IncludeRevoked: true}, want, 2},
		{"pages of 1", store.KeyFilter{Limit: 1, IncludeRevoked: true}, want, 14},
		{"one page", store.KeyFilter{Limit: 14, IncludeRevoked: true}, want, 1},
		{"active only, pages of 4", store.KeyFilter{Limit: 4}, active, (len(active) + 3) / 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := walk(t, tc.filter)
			assert.Equal(t, tc.want, got, "every key once, in ID order")
			assert.Equal(t, tc.wantPages, pages)
		})
	}
	t.Run("cursor between IDs", func(t *testing.T) {
		after := want[5] + "0" // sorts after want[5], before want[6]
		keys, _, err := s.ListKeys(ctx, store.KeyFilter{After: after, Limit: 2, IncludeRevoked: true})
		require.NoError(t, err)
		assert.Equal(t, want[6:8], ids(keys))
	})
	t.Run("cursor past the end", func(t *testing.T) {
		keys, next, err := s.ListKeys(ctx, store.KeyFilter{After: want[len(want)-1], IncludeRevoked: true})
		require.NoError(t, err)
		assert.Empty(t, keys)
		assert.Empty(t, next)
	})
}

func testListLimits(t *testing.T, s store.KeyStore) {
	ctx := context.Background()
	const n = 1001
	want := make([]string, 0, n)
	for i := 0; i < n; i++ {
		k := minimalKey(t)
		create(t, s, k)
		want = append(want, k.ID)
	}
	slices.Sort(want)
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"zero means 100", 0, 100},
		{"negative means 100", -5, 100},
		{"one", 1, 1},
		{"1000", 1000, 1000},
		{"1001 is capped at 1000", 1001, 1000},
		{"a million is capped at 1000", 1_000_000, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, next, err := s.ListKeys(ctx, store.KeyFilter{Limit: tc.limit})
			require.NoError(t, err)
			require.Len(t, keys, tc.want)
			assert.Equal(t, want[:tc.want], ids(keys))
			assert.Equal(t, want[tc.want-1], next, "there is a next page")
		})
	}
	t.Run("the last page after a capped one", func(t *testing.T) {
		keys, next, err := s.ListKeys(ctx, store.KeyFilter{Limit: 5000, After: want[999]})
		require.NoError(t, err)
		assert.Equal(t, want[1000:], ids(keys))
		assert.Empty(t, next)
	})
}
