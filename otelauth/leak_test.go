package otelauth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// test servers and the SDK providers are shut down by each test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
