package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{name: "no credentials", err: gatehouse.ErrNoCredentials, status: 401, code: "unauthenticated"},
		{name: "invalid request", err: gatehouse.Malformed("x"), status: 400, code: "invalid_request"},
		{name: "invalid token", err: gatehouse.Invalid(gatehouse.ReasonExpired, "x"), status: 401, code: "invalid_token"},
		{name: "wrapped invalid token", err: fmt.Errorf("jwt: %w", gatehouse.ErrInvalidToken), status: 401, code: "invalid_token"},
		{name: "scope", err: &gatehouse.ScopeError{Required: []string{"a"}}, status: 403, code: "insufficient_scope"},
		{name: "forbidden", err: gatehouse.ErrForbidden, status: 403, code: "forbidden"},
		{name: "rate limited", err: &gatehouse.RateLimitError{RetryAfter: time.Second}, status: 429, code: "rate_limited"},
		{name: "unavailable", err: gatehouse.Unavailable(errors.New("x")), status: 503, code: "unavailable"},
		{name: "unknown error fails closed", err: errors.New("something else"), status: 503, code: "unavailable"},
		{name: "context cancelled fails closed", err: context.Canceled, status: 503, code: "unavailable"},
		{name: "nil fails closed", err: nil, status: 503, code: "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := middleware.Classify(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.code, code)
		})
	}
}

func TestProblemWriter(t *testing.T) {
	pw, err := middleware.NewProblemWriter(middleware.ProblemConfig{})
	require.NoError(t, err)
	tests := []struct {
		name      string
		err       error
		status    int
		code      string
		detail    string
		challenge map[string]string // nil: no WWW-Authenticate
		retry     string
	}{
		{name: "invalid token, default detail", err: fmt.Errorf("jwt: %w", gatehouse.ErrInvalidToken),
			status: 401, code: "invalid_token", detail: "Invalid or expired credentials",
			challenge: map[string]string{"realm": "api", "error": "invalid_token", "error_description": "Invalid or expired credentials"}},
		{name: "invalid request, default detail", err: gatehouse.ErrInvalidRequest,
			status: 400, code: "invalid_request", detail: "The request's credentials are malformed",
			challenge: map[string]string{"realm": "api", "error": "invalid_request", "error_description": "The request's credentials are malformed"}},
		{name: "detail unsafe for a header stays in the body only",
			err:    gatehouse.Invalid(gatehouse.ReasonExpired, `Le jeton a expiré`),
			status: 401, code: "invalid_token", detail: `Le jeton a expiré`,
			challenge: map[string]string{"realm": "api", "error": "invalid_token"}},
		{name: "detail with a quote stays in the body only",
			err:    gatehouse.Invalid(gatehouse.ReasonExpired, `Token "expired"`),
			status: 401, code: "invalid_token", detail: `Token "expired"`,
			challenge: map[string]string{"realm": "api", "error": "invalid_token"}},
		{name: "scope any of", err: &gatehouse.ScopeError{Required: []string{"a", "b"}, Any: true},
			status: 403, code: "insufficient_scope", detail: "The credential lacks a required scope: one of a b",
			challenge: map[string]string{"realm": "api", "error": "insufficient_scope", "scope": "a b"}},
		{name: "scope with unsafe characters is left out", err: &gatehouse.ScopeError{Required: []string{"a\r\nX-Evil: 1"}},
			status: 403, code: "insufficient_scope", detail: "The credential lacks a required scope",
			challenge: map[string]string{"realm": "api", "error": "insufficient_scope"}},
		{name: "scope error without scopes", err: gatehouse.ErrInsufficientScope,
			status: 403, code: "insufficient_scope", detail: "The credential lacks a required scope",
			challenge: map[string]string{"realm": "api", "error": "insufficient_scope"}},
		{name: "forbidden", err: gatehouse.ErrForbidden, status: 403, code: "forbidden", detail: "You are not allowed to do this"},
		{name: "rate limited, rounded up", err: &gatehouse.RateLimitError{RetryAfter: 2001 * time.Millisecond},
			status: 429, code: "rate_limited", detail: "Too many requests: retry after 3 seconds", retry: "3"},
		{name: "rate limited, whole seconds", err: &gatehouse.RateLimitError{RetryAfter: 2 * time.Second},
			status: 429, code: "rate_limited", detail: "Too many requests: retry after 2 seconds", retry: "2"},
		{name: "rate limited, at least 1s", err: &gatehouse.RateLimitError{RetryAfter: time.Nanosecond},
			status: 429, code: "rate_limited", detail: "Too many requests: retry after 1 second", retry: "1"},
		{name: "rate limited, negative", err: &gatehouse.RateLimitError{RetryAfter: -time.Hour},
			status: 429, code: "rate_limited", detail: "Too many requests: retry after 1 second", retry: "1"},
		{name: "rate limited, own detail", err: &gatehouse.RateLimitError{RetryAfter: time.Minute, Detail: "Too many login attempts"},
			status: 429, code: "rate_limited", detail: "Too many login attempts", retry: "60"},
		{name: "rate limited sentinel", err: gatehouse.ErrRateLimited,
			status: 429, code: "rate_limited", detail: "Too many requests: retry after 1 second", retry: "1"},
		{name: "unavailable with an internal cause", err: gatehouse.Unavailable(errors.New("pq: secret host 10.0.0.1")),
			status: 503, code: "unavailable", detail: detailUnavailable},
		{name: "unavailable with its own detail", err: &gatehouse.Error{Err: gatehouse.ErrUnavailable, Detail: "Key set unreachable"},
			status: 503, code: "unavailable", detail: "Key set unreachable"},
		{name: "an unknown error never shows its text", err: errors.New("runtime error: index out of range"),
			status: 503, code: "unavailable", detail: detailUnavailable},
		{name: "a gatehouse.Error around no sentinel keeps the default detail",
			err:    &gatehouse.Error{Err: errors.New("weird"), Detail: "leaky detail"},
			status: 503, code: "unavailable", detail: detailUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			pw.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			p := requireProblem(t, w, tt.status, tt.code)
			assert.Equal(t, tt.detail, p.Detail)
			assert.Equal(t, strconv.Itoa(w.Body.Len()), w.Header().Get("Content-Length"))
			if tt.challenge == nil {
				assert.Empty(t, w.Header().Values("WWW-Authenticate"))
			} else {
				assert.Equal(t, tt.challenge, bearerChallenge(t, w).Params)
			}
			assert.Equal(t, tt.retry, w.Header().Get("Retry-After"))
			if tt.err != nil {
				assertNoLeak(t, w, "10.0.0.1", "runtime error", "weird", "leaky")
			}
		})
	}
}

func TestProblemWriterTypeBase(t *testing.T) {
	pw, err := middleware.NewProblemWriter(middleware.ProblemConfig{Realm: "billing", TypeBase: "https://example.com/problems/"})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	pw.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), gatehouse.ErrInvalidToken)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	assert.JSONEq(t, `{"type":"https://example.com/problems/invalid_token","title":"invalid token","status":401,
		"detail":"Invalid or expired credentials","code":"invalid_token"}`, w.Body.String())
	assert.Equal(t, `Bearer realm="billing", error="invalid_token", error_description="Invalid or expired credentials"`,
		w.Header().Get("WWW-Authenticate"))
}

func TestWriteProblem(t *testing.T) {
	w := httptest.NewRecorder()
	middleware.WriteProblem(w, middleware.Problem{Type: "about:blank", Title: "Bad Request", Status: 400,
		Detail: "name is required", Code: "validation", Errors: map[string]string{"name": "required"}})
	require.Equal(t, 400, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"type":"about:blank","title":"Bad Request","status":400,"detail":"name is required",
		"code":"validation","errors":{"name":"required"}}`, w.Body.String())
}
