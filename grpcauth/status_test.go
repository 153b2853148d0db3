package grpcauth_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/grpcauth"
)

func TestStatus(t *testing.T) {
	internal := errors.New("dial tcp 10.0.0.5:5432: connection refused")
	tests := []struct {
		name      string
		err       error
		code      codes.Code
		msg       string
		retryInfo time.Duration // 0: no RetryInfo expected
	}{
		{"no credentials", gatehouse.ErrNoCredentials, codes.Unauthenticated,
			"Authentication required: send a credential in the authorization metadata", 0},
		{"invalid request", gatehouse.ErrInvalidRequest, codes.InvalidArgument, "The request's credentials are malformed", 0},
		{"invalid request with a detail", gatehouse.Malformed("Send one"), codes.InvalidArgument, "Send one", 0},
		{"invalid token", gatehouse.ErrInvalidToken, codes.Unauthenticated, "Invalid or expired credentials", 0},
		{"invalid token with a detail", gatehouse.Invalid(gatehouse.ReasonRevoked, "Invalid or expired API key"),
			codes.Unauthenticated, "Invalid or expired API key", 0},
		{"wrapped with %w", fmt.Errorf("verify: %w", gatehouse.Invalid(gatehouse.ReasonExpired, "Expired")),
			codes.Unauthenticated, "Expired", 0},
		{"insufficient scope", &gatehouse.ScopeError{Required: []string{"a", "b"}}, codes.PermissionDenied,
			"The credential lacks a required scope: a b", 0},
		{"insufficient scope, any", &gatehouse.ScopeError{Required: []string{"a", "b"}, Any: true}, codes.PermissionDenied,
			"The credential lacks a required scope: one of a b", 0},
		{"insufficient scope, bare sentinel", gatehouse.ErrInsufficientScope, codes.PermissionDenied,
			"The credential lacks a required scope", 0},
		{"forbidden", gatehouse.ErrForbidden, codes.PermissionDenied, "You are not allowed to do this", 0},
		{"rate limited", &gatehouse.RateLimitError{RetryAfter: 1500 * time.Millisecond}, codes.ResourceExhausted,
			"Too many requests: retry after 2 seconds", 1500 * time.Millisecond},
		{"rate limited with a detail", &gatehouse.RateLimitError{RetryAfter: time.Second, Detail: "Slow down"},
			codes.ResourceExhausted, "Slow down", time.Second},
		{"rate limited without a delay", gatehouse.ErrRateLimited, codes.ResourceExhausted,
			"Too many requests: retry after 1 second", time.Second},
		{"rate limited, zero delay", &gatehouse.RateLimitError{}, codes.ResourceExhausted,
			"Too many requests: retry after 1 second", time.Second},
		{"unavailable", gatehouse.Unavailable(internal), codes.Unavailable, "Authentication is temporarily unavailable; retry later", 0},
		{"no sentinel", internal, codes.Unavailable, "Authentication is temporarily unavailable; retry later", 0},
		{"no sentinel, with a detail", &gatehouse.Error{Err: internal, Detail: "do not show"}, codes.Unavailable,
			"Authentication is temporarily unavailable; retry later", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := grpcauth.Status(tt.err)
			assert.Equal(t, tt.code, st.Code())
			assert.Equal(t, tt.msg, st.Message())
			assert.NotContains(t, st.Message(), "10.0.0.5")
			if tt.retryInfo == 0 {
				assert.Empty(t, st.Details())
				return
			}
			require.Len(t, st.Details(), 1)
			ri, ok := st.Details()[0].(*errdetails.RetryInfo)
			require.True(t, ok)
			assert.Equal(t, tt.retryInfo, ri.GetRetryDelay().AsDuration())
		})
	}
	assert.Equal(t, codes.OK, grpcauth.Status(nil).Code())
	assert.NoError(t, grpcauth.StatusError(nil))
}
