package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// ThrottleConfig holds the optional settings of a [Throttle]. The zero value
// is usable.
type ThrottleConfig struct {
	// MaxJitter bounds a random delay added to the RetryAfter of refusals.
	// Default 1 second; negative means none.
	MaxJitter time.Duration
}

// Throttle counts failures per key for handlers that see the outcome
// themselves, such as a login handler: per submitted account (existing or
// not) and per client address. Each failure spends one unit of the policy;
// a key with no unit left is blocked until one refills, so a policy of
// 5/15m blocks after 5 failures and then allows one attempt every 3
// minutes.
//
// Two ways to use it:
//
//	// Strict: an attempt is counted before the password is checked, so that
//	// concurrent guesses cannot slip past the check. Use this for logins.
//	if _, err := t.Reserve(ctx, key); err != nil {
//		return err // *gatehouse.RateLimitError (429) or unavailable (503)
//	}
//	if !passwordOK {
//		return invalid // the reserved unit stays spent: it was a failure
//	}
//	_ = t.Succeed(ctx, key) // the bucket is full again
//
//	// Simple: check, then record failures. Requests in flight at the same
//	// time all pass the check.
//	if _, err := t.Check(ctx, key); err != nil { return err }
//	if !ok { t.Fail(ctx, key) }
//
// A Throttle is immutable and safe for concurrent use.
type Throttle struct {
	l      Limiter
	p      *Policy
	jitter time.Duration
}

// NewThrottle returns a throttle that counts failures in l under p.
func NewThrottle(l Limiter, p *Policy, cfg ThrottleConfig) (*Throttle, error) {
	if l == nil {
		return nil, errors.New("ratelimit: throttle: the limiter is nil")
	}
	if p == nil || p.interval == 0 {
		return nil, errors.New("ratelimit: throttle: the policy is nil or was not built by NewPolicy")
	}
	t := &Throttle{l: l, p: p, jitter: cfg.MaxJitter}
	if t.jitter == 0 {
		t.jitter = time.Second
	}
	return t, nil
}

// Policy returns the throttle's policy.
func (t *Throttle) Policy() *Policy { return t.p }

// Check reports whether key is blocked, without counting anything. A
// blocked key gets a *gatehouse.RateLimitError; a limiter that cannot
// answer an error wrapping gatehouse.ErrUnavailable.
func (t *Throttle) Check(ctx context.Context, key Key) (Decision, error) {
	return t.do(ctx, key, 0)
}

// Reserve counts one attempt before its outcome is known, and refuses it
// when key is blocked (a *gatehouse.RateLimitError, nothing counted). An
// attempt that fails needs nothing more; one that succeeds calls
// [Throttle.Succeed]; one that was neither (a malformed request) may call
// [Throttle.Release] to give the unit back.
func (t *Throttle) Reserve(ctx context.Context, key Key) (Decision, error) {
	return t.do(ctx, key, 1)
}

// Release gives back a unit taken by [Throttle.Reserve].
func (t *Throttle) Release(ctx context.Context, key Key) error {
	_, err := t.do(ctx, key, -1)
	return err
}

// Fail records one failure for key. The decision says what is left; when
// key was already blocked, nothing more is counted and Allowed is false.
// The error is only for a limiter that cannot answer (wrapping
// gatehouse.ErrUnavailable) or an invalid key ([ErrNoKey]).
func (t *Throttle) Fail(ctx context.Context, key Key) (Decision, error) {
	d, err := t.l.Allow(ctx, key, t.p, 1)
	return d, backendErr(err)
}

// Succeed forgets key's failures: its bucket is full again.
func (t *Throttle) Succeed(ctx context.Context, key Key) error {
	return backendErr(t.l.Reset(ctx, key, t.p))
}

func (t *Throttle) do(ctx context.Context, key Key, cost int) (Decision, error) {
	d, err := t.l.Allow(ctx, key, t.p, cost)
	if err != nil {
		return Decision{}, backendErr(err)
	}
	if !d.Allowed {
		ra := d.RetryAfter
		if t.jitter > 0 {
			ra += rand.N(t.jitter)
		}
		return d, &gatehouse.RateLimitError{RetryAfter: ra}
	}
	return d, nil
}

// backendErr makes a limiter's error one that fails closed: errors that do
// not already say the backend is unavailable are wrapped so that they do,
// except the package's argument errors, which are the caller's.
func backendErr(err error) error {
	if err == nil || errors.Is(err, gatehouse.ErrUnavailable) ||
		errors.Is(err, ErrNoKey) || errors.Is(err, ErrInvalidPolicy) || errors.Is(err, ErrCostTooHigh) {
		return err
	}
	return gatehouse.Unavailable(err)
}
