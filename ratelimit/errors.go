package ratelimit

import "errors"

// Sentinel errors of the package. Test with errors.Is.
var (
	// ErrInvalidPolicy means a policy, or the text it was parsed from, is
	// not valid: a bad name, a limit or burst out of range, a window that is
	// not a whole number of seconds, a rate finer than one unit per
	// microsecond.
	ErrInvalidPolicy = errors.New("ratelimit: invalid policy")

	// ErrNoKey means there is nothing to key a bucket on: an empty [Key],
	// or a request that a [KeyFunc] cannot key (a route without a
	// pattern, a connection whose peer is not an IP address). The
	// middleware answers 503: a request it cannot count is not let
	// through.
	ErrNoKey = errors.New("ratelimit: no key")

	// ErrCostTooHigh means a request costs more units than the policy's
	// burst: it could never be allowed. The middleware refuses it with
	// 429.
	ErrCostTooHigh = errors.New("ratelimit: cost exceeds the policy's burst")
)
