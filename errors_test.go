package gatehouse_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

var sentinels = []error{
	gatehouse.ErrNoCredentials,
	gatehouse.ErrInvalidRequest,
	gatehouse.ErrInvalidToken,
	gatehouse.ErrInsufficientScope,
	gatehouse.ErrForbidden,
	gatehouse.ErrRateLimited,
	gatehouse.ErrUnavailable,
}

// wrapsOnly asserts that err matches want and no other sentinel.
func wrapsOnly(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range sentinels {
		assert.Equal(t, s == want, errors.Is(err, s), "errors.Is(%v, %v)", err, s)
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range sentinels {
		msg := s.Error()
		assert.False(t, seen[msg], "duplicate message %q", msg)
		seen[msg] = true
		assert.Regexp(t, `^gatehouse: [a-z ]+$`, msg)
	}
}

func TestErrorHelpers(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:5432: connection refused")
	tests := []struct {
		name       string
		err        error
		sentinel   error
		reason     gatehouse.Reason
		detail     string
		message    string
		causeMatch error
	}{
		{
			name:     "invalid",
			err:      gatehouse.Invalid(gatehouse.ReasonRevoked, "Invalid or expired API key"),
			sentinel: gatehouse.ErrInvalidToken,
			reason:   gatehouse.ReasonRevoked,
			detail:   "Invalid or expired API key",
			message:  "gatehouse: invalid token (revoked)",
		},
		{
			name:     "malformed",
			err:      gatehouse.Malformed("Send exactly one Authorization header"),
			sentinel: gatehouse.ErrInvalidRequest,
			reason:   gatehouse.ReasonMalformed,
			detail:   "Send exactly one Authorization header",
			message:  "gatehouse: invalid request (malformed)",
		},
		{
			name:       "unavailable",
			err:        gatehouse.Unavailable(cause),
			sentinel:   gatehouse.ErrUnavailable,
			reason:     gatehouse.ReasonBackend,
			message:    "gatehouse: unavailable (backend): dial tcp 10.0.0.1:5432: connection refused",
			causeMatch: cause,
		},
		{
			name:       "unavailable context",
			err:        gatehouse.Unavailable(context.DeadlineExceeded),
			sentinel:   gatehouse.ErrUnavailable,
			reason:     gatehouse.ReasonBackend,
			message:    "gatehouse: unavailable (backend): context deadline exceeded",
			causeMatch: context.DeadlineExceeded,
		},
		{
			name:     "bare error",
			err:      &gatehouse.Error{Err: gatehouse.ErrForbidden},
			sentinel: gatehouse.ErrForbidden,
			message:  "gatehouse: forbidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapsOnly(t, tt.err, tt.sentinel)
			var ge *gatehouse.Error
			require.ErrorAs(t, tt.err, &ge)
			assert.Equal(t, tt.reason, ge.Reason)
			assert.Equal(t, tt.detail, ge.Detail)
			assert.Equal(t, tt.message, tt.err.Error())
			if tt.causeMatch != nil {
				assert.ErrorIs(t, tt.err, tt.causeMatch)
			}
			// Wrapping keeps every match.
			wrapped := fmt.Errorf("outer: %w", tt.err)
			wrapsOnly(t, wrapped, tt.sentinel)
			require.ErrorAs(t, wrapped, &ge)
		})
	}
}

func TestScopeError(t *testing.T) {
	err := error(&gatehouse.ScopeError{Required: []string{"projects:read", "projects:write"}, Any: true})
	wrapsOnly(t, err, gatehouse.ErrInsufficientScope)
	assert.Equal(t, "gatehouse: insufficient scope: requires projects:read projects:write", err.Error())
	var se *gatehouse.ScopeError
	require.ErrorAs(t, fmt.Errorf("guard: %w", err), &se)
	assert.Equal(t, []string{"projects:read", "projects:write"}, se.Required)
	assert.True(t, se.Any)
}

func TestRateLimitError(t *testing.T) {
	err := error(&gatehouse.RateLimitError{RetryAfter: 1500 * time.Millisecond})
	wrapsOnly(t, err, gatehouse.ErrRateLimited)
	assert.Equal(t, "gatehouse: rate limited: retry after 1.5s", err.Error())
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, fmt.Errorf("limiter: %w", err), &rl)
	assert.Equal(t, 1500*time.Millisecond, rl.RetryAfter)
}
