package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// TestNilGatehouseError: an authenticator that returns a typed nil
// *gatehouse.Error (directly or wrapped) is refused with 503, without a
// panic while classifying it.
func TestNilGatehouseError(t *testing.T) {
	var nilErr *gatehouse.Error
	for _, err := range []error{nilErr, fmt.Errorf("wrapped: %w", nilErr)} {
		assert.NotPanics(t, func() { _ = err.Error() })
		assert.False(t, errors.Is(err, gatehouse.ErrInvalidToken))
		status, code := middleware.Classify(err)
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, "unavailable", code)
	}
	f := newFixture(t, withAuthenticators([]gatehouse.Authenticator{&stubAuth{scheme: "Bearer", err: nilErr}}, nil))
	w := get(f.mw.Handler(echo), bearer("anything"))
	requireProblem(t, w, http.StatusServiceUnavailable, "unavailable")
}
