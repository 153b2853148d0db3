package store_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestCacheClock checks that Clock hands out the configured clock, and the
// default one otherwise, for both caches.
func TestCacheClock(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	fixed := func() time.Time { return at }
	kc, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{Now: fixed})
	require.NoError(t, err)
	sc, err := store.NewSessionCache(store.NewMemory(), store.CacheConfig{Now: fixed})
	require.NoError(t, err)
	assert.Equal(t, at, kc.Clock()())
	assert.Equal(t, at, sc.Clock()())
	assert.Equal(t, kc.Now(), kc.Clock()())
}

// TestDefaultClockIsTheRealClock checks that the caches' default clock
// reads the system clock on every call: never earlier than a time.Now
// taken just before the call, never later than one taken just after.
func TestDefaultClockIsTheRealClock(t *testing.T) {
	kc, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	sc, err := store.NewSessionCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		now  func() time.Time
	}{
		{"KeyCache.Now", kc.Now},
		{"KeyCache.Clock", kc.Clock()},
		{"SessionCache.Now", sc.Now},
		{"SessionCache.Clock", sc.Clock()},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i := range 1000 {
				before := time.Now()
				got := c.now()
				after := time.Now()
				if got.Before(before) || got.After(after) {
					t.Fatalf("read %d: %v, outside [%v, %v]", i, got, before, after)
				}
			}
		})
	}
}

// TestKeyRefusedWhenItExpiresUnderLoad checks the README's clock promise
// through the API-key authenticator and the cache's default clock, with a
// busy goroutine for every P competing with the test: a key is accepted
// before its expiry and refused from the instant it expires. (The
// millisecond clock kept by a ticking goroutine, which the default clock
// used to be, lagged 6–18 ms under such load and accepted expired keys.)
// With time.Now the outcome does not depend on the load, so the test is
// deterministic; the load is there because it is what broke the promise.
func TestKeyRefusedWhenItExpiresUnderLoad(t *testing.T) {
	loadCPUs(t)
	ctx := context.Background()
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("gh_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)

	for round := range 50 {
		// Wall-clock times throughout (Round(0) drops the monotonic
		// reading), so that every comparison below is the one the
		// authenticator makes against a stored expiry.
		now := time.Now().Round(0)
		exp := now.Add(2 * time.Millisecond)
		key, _, err := apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "short-lived", Now: now, ExpiresAt: exp})
		require.NoError(t, err)

		_, err = auth.Verify(ctx, key) // loads the record into the cache
		if time.Now().Before(exp) {
			require.NoError(t, err, "round %d: refused before its expiry", round)
		}
		for time.Now().Before(exp) {
			// Spin to the instant of expiry: no sleep, which would
			// overshoot it by the timer's slack.
		}
		_, err = auth.Verify(ctx, key)
		var ge *gatehouse.Error
		require.ErrorAs(t, err, &ge, "round %d: accepted after its expiry", round)
		assert.Equal(t, gatehouse.ReasonExpired, ge.Reason, "round %d", round)
	}
}

// loadCPUs keeps every P busy until the test ends.
func loadCPUs(t *testing.T) {
	t.Helper()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !stop.Load() {
			}
		})
	}
	t.Cleanup(func() {
		stop.Store(true)
		wg.Wait()
	})
}
