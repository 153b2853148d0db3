package ratelimit_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// TestWriteError checks the default error handler's responses: the
// status, code and headers of each error a rate limit produces, and that
// no internal error text reaches the client.
func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantRetry  string
		wantDetail string
	}{
		{"rate limited", &gatehouse.RateLimitError{RetryAfter: 2500 * time.Millisecond}, 429, "rate_limited", "3", "retry after 3 seconds"},
		{"rate limited, under a second", &gatehouse.RateLimitError{RetryAfter: time.Millisecond}, 429, "rate_limited", "1", "retry after 1 second"},
		{"rate limited, custom detail", &gatehouse.RateLimitError{RetryAfter: time.Minute, Detail: "This request costs more than the rate limit allows at once"}, 429, "rate_limited", "60", "costs more"},
		{"bare sentinel", gatehouse.ErrRateLimited, 429, "rate_limited", "1", "retry after 1 second"},
		{"unavailable", gatehouse.Unavailable(errors.New("dial tcp 10.0.0.1:6379: i/o timeout")), 503, "unavailable", "", "temporarily unavailable"},
		{"no key", ratelimit.ErrNoKey, 503, "unavailable", "", "temporarily unavailable"},
		{"other error", errors.New("boom"), 503, "unavailable", "", "temporarily unavailable"},
		{"no credentials", gatehouse.ErrNoCredentials, 401, "unauthenticated", "", "Authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			ratelimit.WriteError(w, httptest.NewRequest("GET", "/", nil), tt.err)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			assert.Equal(t, tt.wantRetry, w.Header().Get("Retry-After"))
			var body struct {
				Status       int
				Code, Detail string
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, tt.wantStatus, body.Status)
			assert.Equal(t, tt.wantCode, body.Code)
			assert.Contains(t, body.Detail, tt.wantDetail)
			assert.NotContains(t, w.Body.String(), "10.0.0.1")
			assert.NotContains(t, w.Body.String(), "boom")
		})
	}
}

// TestProblemWriterPlugsIn checks that a middleware.ProblemWriter can be
// the middleware's error handler as it is.
func TestProblemWriterPlugsIn(t *testing.T) {
	pw, err := middleware.NewProblemWriter(middleware.ProblemConfig{TypeBase: "https://example.com/problems/"})
	require.NoError(t, err)
	mem, err := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	require.NoError(t, err)
	var eh middleware.ErrorHandler = pw.WriteError
	m := ratelimit.MustNew(mem, ratelimit.MustPolicy("p", 1, time.Minute, 0), ratelimit.ByRemoteAddr,
		ratelimit.Config{ErrorHandler: eh})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Contains(t, w.Body.String(), `"type":"https://example.com/problems/rate_limited"`)
}
