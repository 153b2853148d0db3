package gatehouse

import (
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Every error an authenticator, a scope check or a limiter
// returns wraps exactly one of them; the middleware maps them to responses
// (see the middleware package). Test with errors.Is.
var (
	// ErrNoCredentials means the request carried no credential at all.
	// Response: 401 with a challenge that has no error attribute.
	ErrNoCredentials = errors.New("gatehouse: no credentials")

	// ErrInvalidRequest means the request was malformed: two Authorization
	// headers, a credential in two places, bad Basic encoding, a scheme
	// without a value. Response: 400 invalid_request.
	ErrInvalidRequest = errors.New("gatehouse: invalid request")

	// ErrInvalidToken means the credential is unknown, malformed, has a bad
	// checksum or signature, is revoked or expired. Response: 401
	// invalid_token.
	ErrInvalidToken = errors.New("gatehouse: invalid token")

	// ErrInsufficientScope means the credential is valid but lacks a scope
	// the route requires. Response: 403 insufficient_scope.
	ErrInsufficientScope = errors.New("gatehouse: insufficient scope")

	// ErrForbidden means the principal may not perform the action for a
	// reason other than a missing scope (for example acting in another
	// tenant). Response: 403 forbidden.
	ErrForbidden = errors.New("gatehouse: forbidden")

	// ErrRateLimited means the caller exceeded a rate limit. Response: 429
	// with Retry-After.
	ErrRateLimited = errors.New("gatehouse: rate limited")

	// ErrUnavailable means a backend needed for the decision (store, key
	// set, limiter) could not answer. Gatehouse fails closed. Response: 503.
	ErrUnavailable = errors.New("gatehouse: unavailable")
)

// Reason is a short machine-readable code for why a credential was refused,
// used in logs and audit events. It never carries user input.
type Reason string

// Reasons used by the built-in authenticators.
const (
	ReasonMissing      Reason = "missing"
	ReasonMalformed    Reason = "malformed"
	ReasonTooLong      Reason = "too_long"
	ReasonUnsupported  Reason = "unsupported"
	ReasonBadChecksum  Reason = "bad_checksum"
	ReasonUnknown      Reason = "unknown"
	ReasonRevoked      Reason = "revoked"
	ReasonExpired      Reason = "expired"
	ReasonNotYetValid  Reason = "not_yet_valid"
	ReasonBadSignature Reason = "bad_signature"
	ReasonUnknownKeyID Reason = "unknown_kid"
	ReasonBadIssuer    Reason = "bad_issuer"
	ReasonBadAudience  Reason = "bad_audience"
	ReasonBadClaims    Reason = "bad_claims"
	ReasonBackend      Reason = "backend"
)

// Error is a refusal with the safe details the error handler needs. Err is
// the sentinel (ErrInvalidToken, ErrInvalidRequest, ...); Detail is a fixed
// sentence written by Gatehouse for the client, never containing the
// credential or an internal error string; Cause is the internal error, for
// logs only.
type Error struct {
	Err    error
	Reason Reason
	Detail string
	Cause  error
	// KeyID and TenantID identify the credential's record when it was
	// found (a revoked or expired key), for audit logs. Never sent to the
	// client.
	KeyID    string
	TenantID string
}

// Error returns the message for logs: the sentinel, the reason and the cause.
func (e *Error) Error() string {
	if e == nil || e.Err == nil {
		return "gatehouse: unknown refusal"
	}
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(string(e.Reason))
		b.WriteString(")")
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause, so that errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e == nil {
		return nil
	}
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// Invalid returns an [*Error] wrapping [ErrInvalidToken] with a reason and a
// fixed client-facing detail.
func Invalid(reason Reason, detail string) error {
	return &Error{Err: ErrInvalidToken, Reason: reason, Detail: detail}
}

// Malformed returns an [*Error] wrapping [ErrInvalidRequest].
func Malformed(detail string) error {
	return &Error{Err: ErrInvalidRequest, Reason: ReasonMalformed, Detail: detail}
}

// Unavailable returns an [*Error] wrapping [ErrUnavailable] and the internal
// cause. The cause is logged, never sent to the client.
func Unavailable(cause error) error {
	return &Error{Err: ErrUnavailable, Reason: ReasonBackend, Cause: cause}
}

// ScopeError is returned when a valid principal lacks scopes a route
// requires. Required lists the scopes the route needs, which the error
// handler puts in the challenge's scope attribute.
type ScopeError struct {
	Required []string
	// Any is true when any one of Required would have been enough.
	Any bool
}

func (e *ScopeError) Error() string {
	return "gatehouse: insufficient scope: requires " + strings.Join(e.Required, " ")
}

// Unwrap returns [ErrInsufficientScope].
func (e *ScopeError) Unwrap() error { return ErrInsufficientScope }

// RateLimitError is returned when a request is over a limit. RetryAfter is
// how long the caller should wait before the next attempt.
type RateLimitError struct {
	RetryAfter time.Duration
	// Detail is a fixed client-facing sentence; empty for the default.
	Detail string
}

func (e *RateLimitError) Error() string {
	return "gatehouse: rate limited: retry after " + e.RetryAfter.String()
}

// Unwrap returns [ErrRateLimited].
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
