package session

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/store"
)

// LimiterThrottle is a [Throttle] over ratelimit throttles, so that login
// failures are counted in a shared limiter (ratelimit/redisrate) and every
// instance of a service sees the same counts. Keys are hashed before they
// reach the limiter: no e-mail address is written to Redis.
//
// The ratelimit throttle's policy gives the free attempts and the refill
// (a policy of 5 per 15 minutes allows 5 failures at once, then one every
// 3 minutes). HardCap, when set, is a second throttle with a long window
// (100 per 30 days, say) that bounds the consecutive failures an account
// can ever see, as MemoryThrottle's MaxFailures does; both are reset by a
// success. Its delays grow linearly with the refill rather than doubling:
// the price of sharing counts through one atomic script per decision.
type LimiterThrottle struct {
	t, cap *ratelimit.Throttle
	scope  string
	refund bool
}

var _ Throttle = (*LimiterThrottle)(nil)

// LimiterThrottleConfig holds the settings of a [LimiterThrottle].
type LimiterThrottleConfig struct {
	// Scope names the counts in the limiter ("login-account",
	// "login-ip"); it must not contain ':'. Required.
	Scope string
	// HardCap is an optional second throttle counted alongside.
	HardCap *ratelimit.Throttle
	// RefundOnSuccess makes Succeeded give back only the attempt it ends,
	// for per-address throttles (see ThrottleConfig.RefundOnSuccess).
	RefundOnSuccess bool
}

// NewLimiterThrottle returns a Throttle counting in t.
func NewLimiterThrottle(t *ratelimit.Throttle, cfg LimiterThrottleConfig) (*LimiterThrottle, error) {
	if t == nil {
		return nil, errors.New("session: limiter throttle: a ratelimit.Throttle is required")
	}
	if cfg.Scope == "" || strings.Contains(cfg.Scope, ":") || !ratelimit.NewKey(cfg.Scope, "x").Valid() {
		return nil, errors.New("session: limiter throttle: Scope must be a non-empty name without ':'")
	}
	return &LimiterThrottle{t: t, cap: cfg.HardCap, scope: cfg.Scope, refund: cfg.RefundOnSuccess}, nil
}

func (l *LimiterThrottle) key(k string) ratelimit.Key {
	sum := (*store.Hasher)(nil).Sum(k)
	return ratelimit.NewKey(l.scope, hex.EncodeToString(sum[:16]))
}

// Attempt implements [Throttle]: it reserves one unit of the hard cap (if
// any) and of the throttle; a refusal by the second gives the first back.
func (l *LimiterThrottle) Attempt(ctx context.Context, k string) error {
	key := l.key(k)
	if l.cap != nil {
		if _, err := l.cap.Reserve(ctx, key); err != nil {
			return err
		}
	}
	if _, err := l.t.Reserve(ctx, key); err != nil {
		if l.cap != nil {
			_ = l.cap.Release(ctx, key) // the attempt did not happen
		}
		return err
	}
	return nil
}

// Succeeded implements [Throttle].
func (l *LimiterThrottle) Succeeded(ctx context.Context, k string) error {
	key := l.key(k)
	var errs []error
	for _, t := range []*ratelimit.Throttle{l.t, l.cap} {
		if t == nil {
			continue
		}
		if l.refund {
			errs = append(errs, t.Release(ctx, key))
		} else {
			errs = append(errs, t.Succeed(ctx, key))
		}
	}
	return errors.Join(errs...)
}
