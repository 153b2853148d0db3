package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

var _ store.KeyStore = (*store.KeyCache)(nil)

// TestKeyCacheConformance runs the suite against a KeyCache over Memory:
// the cache must keep every promise of the store it wraps.
func TestKeyCacheConformance(t *testing.T) {
	tests := []struct {
		name string
		cfg  store.CacheConfig
	}{
		{"defaults", store.CacheConfig{}},
		// A cache too small for the suite's keys evicts all the time.
		{"tiny", store.CacheConfig{Size: 1, NegativeSize: 1}},
		// A long TTL: nothing expires during the run, so every change
		// must reach the cache by invalidation.
		{"long TTL", store.CacheConfig{TTL: 24 * time.Hour, NegativeTTL: 24 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunKeyStore(t, func(t *testing.T) store.KeyStore {
				kc, err := store.NewKeyCache(store.NewMemory(), tc.cfg)
				require.NoError(t, err)
				return kc
			})
		})
	}
}
