package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
)

// TestHotPathAllocations guards the performance budget: a cached API key
// through Handler and a scope guard costs the two allocations of
// context.WithValue and r.WithContext, and a refusal of a malformed header
// costs none in the middleware before the error handler runs.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	f := newFixture(t)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	served := 0
	h := f.mw.Handler(f.mw.MustRequireScopes("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ })))
	r := httptest.NewRequest(http.MethodGet, "/?page=2&sort=name%20asc&access%5Fx=1", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)

	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	assert.LessOrEqual(t, allocs, 2.0, "allocations per cached request")
	t.Logf("%v allocations per cached request", allocs)
	assert.Equal(t, 202, served)

	// Check, the pure half, does not allocate for a cached key.
	allocs = testing.AllocsPerRun(200, func() {
		if _, err := f.mw.Check(r); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "allocations per Check of a cached key")
}
