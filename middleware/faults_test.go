package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/storetest"
)

// TestFaultSchedule drives the full middleware over a store that fails,
// stalls past the load deadline, returns corrupt or no records and panics,
// in phases, under concurrent requests with keys the cache has not seen:
// no fault ever yields a 200, each yields a 503 problem+json, and the
// same process serves again once the fault clears.
func TestFaultSchedule(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	faulty := storetest.NewFaulty(mem)
	keys, err := store.NewKeyCache(faulty, store.CacheConfig{LoadTimeout: 50 * time.Millisecond, NegativeTTL: time.Millisecond})
	require.NoError(t, err)
	format := apikey.MustFormat("flt_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(t, err)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))

	// Keys issued straight into the store, so that none is cached yet.
	issue := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i], _, err = apikey.Issue(ctx, mem, format, nil, apikey.Params{Name: fmt.Sprint(i), OwnerID: "u"})
			require.NoError(t, err)
		}
		return out
	}
	phases := []struct {
		fault storetest.Fault
		want  int
	}{
		{storetest.FaultNone, 200},
		{storetest.FaultError, 503},
		{storetest.FaultNone, 200},
		{storetest.FaultStall, 503},
		{storetest.FaultCorrupt, 503},
		{storetest.FaultNil, 503},
		{storetest.FaultPanic, 503},
		{storetest.FaultNone, 200},
	}
	for i, ph := range phases {
		t.Run(fmt.Sprintf("%d-%s", i, ph.fault), func(t *testing.T) {
			faulty.Set(ph.fault)
			batch := issue(16)
			var wg sync.WaitGroup
			codes := make([]int, 0, 64)
			var mu sync.Mutex
			for w := range 4 {
				wg.Go(func() {
					for j := w; j < len(batch); j += 4 {
						req := httptest.NewRequest("GET", "/", nil)
						req.Header.Set("Authorization", "Bearer "+batch[j])
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != 200 {
							assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
							assert.NotContains(t, rec.Body.String(), "injected", "internal errors stay internal")
						}
						mu.Lock()
						codes = append(codes, rec.Code)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			require.Len(t, codes, len(batch))
			for _, c := range codes {
				assert.Equal(t, ph.want, c, "fault %s", ph.fault)
			}
		})
	}
	seen := faulty.Seen()
	for _, f := range []storetest.Fault{storetest.FaultError, storetest.FaultStall, storetest.FaultCorrupt, storetest.FaultNil, storetest.FaultPanic} {
		assert.Positive(t, seen[f], "the %s phase reached the store", f)
	}
}

// TestFaultMixedSchedule interleaves faults and healthy lookups call by
// call: every request gets 200 or 503, never anything else, and every 200
// was a healthy lookup.
func TestFaultMixedSchedule(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	faulty := storetest.NewFaulty(mem, storetest.FaultNone, storetest.FaultError, storetest.FaultCorrupt, storetest.FaultNone, storetest.FaultPanic, storetest.FaultNil)
	// A clock that moves a second per reading, past the TTLs: every
	// request is a lookup.
	var mu sync.Mutex
	clock := time.Now()
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	keys, err := store.NewKeyCache(faulty, store.CacheConfig{TTL: time.Millisecond, NegativeTTL: time.Millisecond, Now: tick})
	require.NoError(t, err)
	format := apikey.MustFormat("flt_test.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{}, auth)
	require.NoError(t, err)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	key, _, err := apikey.Issue(ctx, mem, format, nil, apikey.Params{Name: "k", OwnerID: "u"})
	require.NoError(t, err)

	ok, refused := 0, 0
	for range 60 {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			ok++
		case 503:
			refused++
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	}
	seen := faulty.Seen()
	assert.Equal(t, seen[storetest.FaultNone], ok, "every 200 came from a healthy lookup")
	assert.Equal(t, 60-ok, refused)
	assert.Positive(t, refused)
}
