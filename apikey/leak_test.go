package apikey_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// everything that starts one must end it (Close, or its context). The
// caches' coarse clock is the one exception: it stops on its own 100 ms
// after its last read (store's TestCoarseNow checks that it does).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/gatehouse-go/gatehouse/store.runCoarseClock"))
}
