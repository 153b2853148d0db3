package ratelimit

import (
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
