package outbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoff(t *testing.T) {
	base, cap := 5*time.Second, time.Hour
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 2500 * time.Millisecond, 5 * time.Second},
		{2, 5 * time.Second, 10 * time.Second},
		{3, 10 * time.Second, 20 * time.Second},
		{10, 21*time.Minute + 20*time.Second, 42*time.Minute + 40*time.Second},
		{11, 30 * time.Minute, time.Hour},
		{1000, 30 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		t.Run(time.Duration(tt.n).String(), func(t *testing.T) {
			assert.Equal(t, tt.min, backoff(tt.n, base, cap, func() float64 { return 0 }))
			assert.LessOrEqual(t, backoff(tt.n, base, cap, func() float64 { return 0.999999999 }), tt.max)
			assert.Greater(t, backoff(tt.n, base, cap, func() float64 { return 0.999999999 }), tt.max-time.Millisecond)
		})
	}
}
