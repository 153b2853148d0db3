package ratelimit

import (
	"context"
	"time"
)

// Limiter decides whether a key may spend units under a policy.
//
// Allow spends cost units of key's bucket under p when that many are
// available and reports the decision. A cost of 0 spends nothing: the
// decision says whether a request of cost 1 would be allowed now (a peek).
// A negative cost gives units back (a refund, never beyond a full bucket)
// and is always allowed. A refused request spends nothing. A cost above
// p.Burst() returns [ErrCostTooHigh]; an invalid key [ErrNoKey]; a nil
// policy [ErrInvalidPolicy]. When the limiter's backend cannot answer, the
// error wraps gatehouse.ErrUnavailable and the caller must fail closed.
//
// Reset forgets what key has spent under p, so that its bucket is full
// again (a successful login, for example).
//
// A bucket is identified by p.Name() and key: several policies can apply to
// the same key without sharing units, and a bucket keeps its state when the
// policy of a given name changes its numbers (a key whose limit was
// raised). Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key Key, p *Policy, cost int) (Decision, error)
	Reset(ctx context.Context, key Key, p *Policy) error
}

// Decision is the outcome of [Limiter.Allow]. It is a small value: making
// one does not allocate.
type Decision struct {
	// Allowed reports whether the units were spent (for a peek: whether a
	// request of cost 1 would be allowed now).
	Allowed bool
	// Policy is the policy that decided.
	Policy *Policy
	// Limit is the policy's quota per window, as in Policy.Limit.
	Limit int
	// Remaining is how many units the key may spend right now, after this
	// decision; at most the policy's burst.
	Remaining int
	// Reset is how long until the bucket is full again if nothing more is
	// spent.
	Reset time.Duration
	// RetryAfter is, for a refusal, how long until the same cost would be
	// allowed; zero when Allowed.
	RetryAfter time.Duration
}
