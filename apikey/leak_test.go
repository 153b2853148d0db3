package apikey_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// everything that starts one must end it (Close, or its context).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
