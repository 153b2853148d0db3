package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// Throttle counts password attempts per key (a normalised e-mail address,
// a client address) and locks a key out after failures. The login and
// password handlers use two: one per submitted account, whether it exists
// or not, and one per client address.
//
// Attempt is called before the password is checked and counts the attempt
// as a failure at once, so that concurrent guesses cannot slip past the
// check; when the key is locked out it counts nothing and returns a
// [*gatehouse.RateLimitError] (429 with Retry-After), or an error wrapping
// [gatehouse.ErrUnavailable] when its backend cannot answer (503: the
// handlers fail closed). Succeeded is called after a correct password and
// undoes what the implementation's policy says (forget every failure of an
// account, or give back the one attempt of an address).
//
// Implementations are safe for concurrent use. [MemoryThrottle] is the
// in-process one; an adapter over a shared limiter (Redis) fits the same
// interface.
type Throttle interface {
	Attempt(ctx context.Context, key string) error
	Succeeded(ctx context.Context, key string) error
}

// ThrottleConfig holds the optional settings of a [MemoryThrottle]. The
// zero value suits a per-account throttle.
type ThrottleConfig struct {
	// FreeFailures is how many consecutive failures a key may have before
	// it must wait between attempts. Default 5.
	FreeFailures int
	// BaseDelay is the wait after failure FreeFailures+1; each further
	// failure doubles it. Default 1 second.
	BaseDelay time.Duration
	// MaxDelay caps the wait. Default 15 minutes.
	MaxDelay time.Duration
	// MaxFailures is the hard cap: a key with this many consecutive
	// failures is locked until [MemoryThrottle.Reset] (an operator) or
	// Succeeded is called for it, so that an account never sees more
	// than this many. At most 100 (NIST SP 800-63B); negative means no
	// cap (for per-address throttles). Default 100.
	MaxFailures int
	// ForgetAfter is how long a key without a failure keeps its count;
	// then it starts again from zero. A key at the hard cap is never
	// forgotten this way. Default 24 hours.
	ForgetAfter time.Duration
	// RefundOnSuccess makes Succeeded give back only the attempt it ends
	// instead of forgetting every failure: use it for per-address
	// throttles, so that one account an attacker owns does not clear the
	// address's record. Default false.
	RefundOnSuccess bool
	// Size bounds how many keys are remembered (least recently used go
	// first). Default 100,000.
	Size int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// MaxConsecutiveFailures is the largest [ThrottleConfig.MaxFailures].
const MaxConsecutiveFailures = 100

// Details of throttle refusals.
const (
	detailThrottled = "Too many failed attempts: wait before trying again"
	detailLocked    = "Too many failed attempts: this account is locked until an administrator unlocks it or its password is reset"
)

// MemoryThrottle is a [Throttle] kept in this process: consecutive
// failures per key, growing delays (BaseDelay doubling up to MaxDelay after
// FreeFailures), and a hard lock at MaxFailures. Keys are kept as SHA-256
// digests in a bounded LRU, so that memory does not grow with what clients
// send. Note that an evicted key starts again from zero: size it above the
// number of accounts under attack at once, or use a shared limiter. It is
// safe for concurrent use.
type MemoryThrottle struct {
	cfg ThrottleConfig

	mu      sync.Mutex
	entries *simplelru.LRU[[32]byte, *throttleEntry]
}

type throttleEntry struct {
	failures int
	last     time.Time
}

var _ Throttle = (*MemoryThrottle)(nil)

// NewMemoryThrottle validates cfg and returns a throttle.
func NewMemoryThrottle(cfg ThrottleConfig) (*MemoryThrottle, error) {
	if cfg.FreeFailures < 0 || cfg.BaseDelay < 0 || cfg.MaxDelay < 0 || cfg.ForgetAfter < 0 || cfg.Size < 0 {
		return nil, errors.New("session: throttle: counts and durations must not be negative")
	}
	if cfg.FreeFailures == 0 {
		cfg.FreeFailures = 5
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = time.Second
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 15 * time.Minute
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		return nil, errors.New("session: throttle: MaxDelay is below BaseDelay")
	}
	switch {
	case cfg.MaxFailures == 0:
		cfg.MaxFailures = MaxConsecutiveFailures
	case cfg.MaxFailures > MaxConsecutiveFailures:
		return nil, errors.New("session: throttle: MaxFailures above 100")
	case cfg.MaxFailures > 0 && cfg.MaxFailures <= cfg.FreeFailures:
		return nil, errors.New("session: throttle: MaxFailures must be above FreeFailures")
	}
	if cfg.ForgetAfter == 0 {
		cfg.ForgetAfter = 24 * time.Hour
	}
	if cfg.Size == 0 {
		cfg.Size = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l, err := simplelru.NewLRU[[32]byte, *throttleEntry](cfg.Size, nil)
	if err != nil {
		return nil, err
	}
	return &MemoryThrottle{cfg: cfg, entries: l}, nil
}

// delay is how long a key with n consecutive failures waits after the last
// one.
func (t *MemoryThrottle) delay(n int) time.Duration {
	if n < t.cfg.FreeFailures {
		return 0
	}
	d := t.cfg.BaseDelay
	for i := t.cfg.FreeFailures; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

func (t *MemoryThrottle) locked(e *throttleEntry) bool {
	return t.cfg.MaxFailures > 0 && e.failures >= t.cfg.MaxFailures
}

// Attempt implements [Throttle].
func (t *MemoryThrottle) Attempt(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return gatehouse.Unavailable(err)
	}
	now := t.cfg.Now()
	k := (*store.Hasher)(nil).Sum(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries.Get(k)
	if ok && !t.locked(e) && !now.Before(e.last.Add(t.cfg.ForgetAfter)) {
		e.failures = 0
	}
	if ok && t.locked(e) {
		return &gatehouse.RateLimitError{RetryAfter: t.cfg.MaxDelay, Detail: detailLocked}
	}
	if ok {
		if until := e.last.Add(t.delay(e.failures)); now.Before(until) {
			return &gatehouse.RateLimitError{RetryAfter: until.Sub(now), Detail: detailThrottled}
		}
	} else {
		e = &throttleEntry{}
		t.entries.Add(k, e)
	}
	e.failures++
	e.last = now
	return nil
}

// Succeeded implements [Throttle]: it forgets the key's failures, or with
// RefundOnSuccess gives back one.
func (t *MemoryThrottle) Succeeded(ctx context.Context, key string) error {
	k := (*store.Hasher)(nil).Sum(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries.Peek(k)
	if !ok {
		return nil
	}
	if t.cfg.RefundOnSuccess && e.failures > 1 {
		e.failures--
		return nil
	}
	t.entries.Remove(k)
	return nil
}

// Reset forgets every failure of key, unlocking it: for an operator, or
// after a password reset done by other means.
func (t *MemoryThrottle) Reset(key string) {
	k := (*store.Hasher)(nil).Sum(key)
	t.mu.Lock()
	t.entries.Remove(k)
	t.mu.Unlock()
}

// Failures returns the key's current count of consecutive failures.
func (t *MemoryThrottle) Failures(key string) int {
	k := (*store.Hasher)(nil).Sum(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.entries.Peek(k); ok {
		return e.failures
	}
	return 0
}

// Len returns how many keys are remembered.
func (t *MemoryThrottle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.entries.Len()
}
