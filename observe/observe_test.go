package observe_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/observe"
	"github.com/gatehouse-go/gatehouse/store"
)

// flakyStore fails lookups while down is set.
type flakyStore struct {
	store.KeyStore
	mu   sync.Mutex
	down bool
}

func (s *flakyStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

type rig struct {
	h        http.Handler
	key      string
	format   apikey.Format
	counters *observe.Counters
	logs     *bytes.Buffer
	store    *flakyStore
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{counters: &observe.Counters{}, logs: &bytes.Buffer{}, store: &flakyStore{KeyStore: store.NewMemory()}}
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	obs := observe.Multi(observe.NewSlog(log, nil), nil, r.counters)
	keys, err := store.NewKeyCache(r.store, store.CacheConfig{Observer: obs})
	require.NoError(t, err)
	r.format = apikey.MustFormat("obs_test.")
	auth, err := apikey.NewAuthenticator(r.format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{Observer: obs}, auth)
	require.NoError(t, err)
	r.key, _, err = apikey.Issue(context.Background(), r.store, r.format, nil,
		apikey.Params{Name: "k", OwnerID: "user_1", TenantID: "org_1", Scopes: []string{"read"}})
	require.NoError(t, err)
	r.h = m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	return r
}

func (r *rig) do(auth string) int {
	req := httptest.NewRequest("GET", "/x", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec.Code
}

func TestCountersAndLogs(t *testing.T) {
	r := newRig(t)
	unknown, err := r.format.Generate()
	require.NoError(t, err)

	steps := []struct {
		name string
		auth string
		down bool
		want int
	}{
		{"first use: a miss and a load", "Bearer " + r.key, false, 200},
		{"second use: a hit", "Bearer " + r.key, false, 200},
		{"no credentials", "", false, 401},
		{"unknown key: a miss", "Bearer " + unknown, false, 401},
		{"unknown key again: a negative hit", "Bearer " + unknown, false, 401},
		{"bad checksum: no lookup", "Bearer " + badChecksum(r.key), false, 401},
		{"cached key while the store is down", "Bearer " + r.key, true, 200},
	}
	for _, s := range steps {
		r.store.mu.Lock()
		r.store.down = s.down
		r.store.mu.Unlock()
		require.Equal(t, s.want, r.do(s.auth), s.name)
	}
	// A new key while the store is down: a miss, a failed load, a 503.
	other, _, err := apikey.Issue(context.Background(), r.store.KeyStore, r.format, nil,
		apikey.Params{Name: "k2", OwnerID: "user_2", Scopes: []string{"read"}})
	require.NoError(t, err)
	r.store.mu.Lock()
	r.store.down = true
	r.store.mu.Unlock()
	require.Equal(t, http.StatusServiceUnavailable, r.do("Bearer "+other))

	got := r.counters.Snapshot()
	assert.EqualValues(t, 3, got.Authenticated)
	assert.Equal(t, map[string]uint64{"unauthenticated": 1, "invalid_token": 3, "unavailable": 1}, got.Refused)
	assert.EqualValues(t, 2, got.Hits, "the second use and the use while down")
	assert.EqualValues(t, 1, got.NegativeHits)
	assert.EqualValues(t, 3, got.Misses, "first use, unknown key, key while down")
	assert.EqualValues(t, 3, got.Loads)
	assert.EqualValues(t, 1, got.LoadErrors, "an unknown key is not a failed load")

	logs := r.logs.String()
	for _, event := range []string{"gatehouse.auth.ok", "gatehouse.auth.refused", "gatehouse.cache.lookup", "gatehouse.store.load"} {
		assert.Contains(t, logs, `"msg":"`+event+`"`)
	}
	assert.Contains(t, logs, `"cause":`, "a 503 logs its internal cause for operators")
	assert.Contains(t, logs, `"key_id":"key_`)
	for _, secret := range []string{r.key, other, unknown, r.key[len("obs_test."):]} {
		assert.NotContains(t, logs, secret, "no credential is ever logged")
	}
}

func TestSlogLevels(t *testing.T) {
	var buf bytes.Buffer
	s := observe.NewSlog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)
	s.SlowLoad = 50 * time.Millisecond
	s.CacheLookup(store.CacheHit)
	s.StoreLoad(time.Millisecond, nil)
	s.StoreLoad(time.Millisecond, store.ErrNotFound)
	assert.Empty(t, buf.String(), "routine events are Debug")
	s.StoreLoad(60*time.Millisecond, nil)
	assert.Contains(t, buf.String(), "level=WARN msg=gatehouse.store.load elapsed=60ms")
	buf.Reset()
	s.StoreLoad(time.Millisecond, errors.New("boom"))
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), "error=boom")
}

func TestCacheOutcomeString(t *testing.T) {
	for o, want := range map[store.CacheOutcome]string{
		store.CacheHit: "hit", store.CacheNegativeHit: "negative_hit", store.CacheMiss: "miss", 9: "unknown",
	} {
		assert.Equal(t, want, o.String())
	}
}

func TestCountersConcurrent(t *testing.T) {
	var c observe.Counters
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.CacheLookup(store.CacheHit)
				c.StoreLoad(time.Microsecond, nil)
				c.Refused(httptest.NewRequest("GET", "/", nil), errors.New("not a gatehouse error"))
			}
		})
	}
	wg.Wait()
	s := c.Snapshot()
	assert.EqualValues(t, 8000, s.Hits)
	assert.EqualValues(t, 8000, s.Loads)
	assert.Equal(t, 8*time.Millisecond, s.LoadTime)
	var total uint64
	for _, n := range s.Refused {
		total += n
	}
	assert.EqualValues(t, 8000, total)
	assert.False(t, strings.Contains(strings.Join(keys(s.Refused), ","), "invalid"), "an unknown error is not classified as a bad token")
}

func keys(m map[string]uint64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// badChecksum changes the last character of key, so that its checksum no
// longer matches whatever that character was.
func badChecksum(key string) string {
	last := byte('0')
	if key[len(key)-1] == '0' {
		last = '1'
	}
	return key[:len(key)-1] + string(last)
}

// TestCountersKeyControls: refusals by the per-key controls are counted
// under their own codes, not as "other".
func TestCountersKeyControls(t *testing.T) {
	var c observe.Counters
	r := httptest.NewRequest("GET", "/", nil)
	c.Refused(r, &gatehouse.Error{Err: gatehouse.ErrCreditsExhausted, Reason: gatehouse.ReasonCreditsExhausted})
	c.Refused(r, &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonNetwork})
	assert.Equal(t, map[string]uint64{"credits_exhausted": 1, "forbidden": 1}, c.Snapshot().Refused)
}
