package store

import (
	"sync/atomic"
	"time"
)

// The default clock of the caches is read on every request (expiry and
// revocation are checked on every hit), so it is on the hot path, where
// time.Now costs tens of nanoseconds on virtual machines (two clock reads
// through the vDSO). coarseNow instead returns a time kept by a ticking
// goroutine, at most coarseTick old: one atomic load. The goroutine runs
// only while the clock is read: it stops after coarseIdle without a read,
// and the next read starts it again (and reads the real clock meanwhile).
// A key is thus refused at most coarseTick after its expiry, well inside
// the precision anyone sets expiries with.

const (
	coarseTick = time.Millisecond
	coarseIdle = 100 * time.Millisecond
)

var coarse struct {
	nanos   atomic.Int64 // Unix nanoseconds of the last tick; 0: not running
	running atomic.Bool
	read    atomic.Bool // set by readers, cleared by the ticker
}

// CoarseNow returns the current time to within a millisecond, from one
// atomic load: the default clock of the caches, and of other per-request
// checks (JWT expiry, Basic's verification cache). See the comment above
// for how it is kept.
func CoarseNow() time.Time { return coarseNow() }

// coarseNow returns the current time to within coarseTick.
func coarseNow() time.Time {
	v := coarse.nanos.Load()
	if v == 0 {
		startCoarse()
		return time.Now()
	}
	if !coarse.read.Load() {
		coarse.read.Store(true)
	}
	return time.Unix(0, v)
}

func startCoarse() {
	if !coarse.running.CompareAndSwap(false, true) {
		return
	}
	coarse.read.Store(true)
	coarse.nanos.Store(time.Now().UnixNano())
	go runCoarseClock()
}

// runCoarseClock ticks until nobody has read the clock for coarseIdle.
func runCoarseClock() {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	lastRead := time.Now()
	for range t.C {
		now := time.Now()
		coarse.nanos.Store(now.UnixNano())
		if coarse.read.Load() {
			coarse.read.Store(false)
			lastRead = now
			continue
		}
		if now.Sub(lastRead) >= coarseIdle {
			break
		}
	}
	// Readers that see 0 use time.Now until a new ticker runs.
	coarse.nanos.Store(0)
	coarse.running.Store(false)
}
