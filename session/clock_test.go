package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// TestBasicDefaultClockIsTheRealClock checks that Basic's default clock,
// which ends its verification cache's entries, reads the system clock on
// every call: never earlier than a time.Now taken just before the call,
// never later than one taken just after.
func TestBasicDefaultClockIsTheRealClock(t *testing.T) {
	b, err := NewBasic(store.NewMemory(), BasicConfig{})
	require.NoError(t, err)
	for i := range 1000 {
		before := time.Now()
		got := b.now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("read %d: %v, outside [%v, %v]", i, got, before, after)
		}
	}
}
