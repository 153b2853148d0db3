package admin

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLeakSeenBounded: the memory of flagged keys holds at most its
// capacity, forgetting the key reported least recently first.
func TestLeakSeenBounded(t *testing.T) {
	t0 := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	s := newLeakSeen(24*time.Hour, 3)
	for _, id := range []string{"a", "b", "c"} {
		assert.True(t, s.due(id, t0), id)
	}
	assert.False(t, s.due("a", t0.Add(time.Hour)), "a remembered, and now the most recent")
	assert.True(t, s.due("d", t0), "d pushes out b, the least recently reported")
	tests := []struct {
		id  string
		due bool
	}{
		{"a", false},
		{"c", false},
		{"d", false},
		{"b", true}, // forgotten: due again (and pushes out a)
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.due, s.due(tt.id, t0.Add(2*time.Hour)))
		})
	}
	for i := range 1000 {
		s.due("flood_"+strconv.Itoa(i), t0)
	}
	assert.Equal(t, 3, s.len(), "a flood stays within the bound")
}
