package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse-go/gatehouse/middleware"
)

func TestTimeout(t *testing.T) {
	tests := []struct {
		name         string
		d            time.Duration
		wantDeadline bool
	}{
		{"a deadline d from the start", 3 * time.Second, true},
		{"zero: unchanged", 0, false},
		{"negative: unchanged", -time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Time
			var ok bool
			h := middleware.Timeout(tc.d)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, ok = r.Context().Deadline()
			}))
			start := time.Now()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, tc.wantDeadline, ok)
			if tc.wantDeadline {
				assert.WithinDuration(t, start.Add(tc.d), got, time.Second)
			}
		})
	}
}
