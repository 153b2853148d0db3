package grpcauth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// every server, client connection and stream must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
