package jwtauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDefaultClockIsTheRealClock checks that the default clock reads the
// system clock on every call, so that a token is refused from the instant
// it expires: never earlier than a time.Now taken just before the call,
// never later than one taken just after.
func TestDefaultClockIsTheRealClock(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	require.NoError(t, err)
	for i := range 1000 {
		before := time.Now()
		got := cfg.Now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("read %d: %v, outside [%v, %v]", i, got, before, after)
		}
	}
}
