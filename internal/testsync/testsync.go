// Package testsync helps tests wait for concurrent callers without
// sleeping: a context that counts how many callers are blocked on it, and a
// yielding wait for a condition.
package testsync

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// WaitCountingCtx counts calls to Done. Code under test that calls Done
// only where a caller blocks (waiting for a shared load, say) makes the
// count tell a test how many callers are waiting.
type WaitCountingCtx struct {
	context.Context
	Waiting *atomic.Int64
}

// Done implements context.Context and counts the call.
func (c WaitCountingCtx) Done() <-chan struct{} {
	c.Waiting.Add(1)
	return c.Context.Done()
}

// Until spins, yielding and never sleeping, until cond holds, and fails the
// test if it does not within a generous bound (30 s, for loaded machines
// under -race).
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		runtime.Gosched()
	}
}
