package redisrate

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// FailurePolicy says what a [Limiter] answers while Redis cannot.
type FailurePolicy uint8

const (
	// FailClosed refuses every decision while Redis is unreachable: Allow
	// returns an error wrapping gatehouse.ErrUnavailable, which the
	// ratelimit middleware answers with 503. Nothing is let through
	// uncounted. The default.
	FailClosed FailurePolicy = iota

	// FailOpen answers from a local fallback limiter while Redis is
	// unreachable. Each instance then counts on its own: with n instances
	// behind a load balancer a key may get up to n times its limit until
	// Redis is back, and the counts of the outage are not carried over.
	FailOpen
)

// String returns "fail_closed" or "fail_open", as in log events.
func (f FailurePolicy) String() string {
	switch f {
	case FailClosed:
		return "fail_closed"
	case FailOpen:
		return "fail_open"
	}
	return "unknown"
}

// Config holds the optional settings of a [Limiter]. The zero value is
// usable: it fails closed.
type Config struct {
	// Prefix is put before every Redis key the limiter writes. Give each
	// application (and each test) its own. Default "gatehouse:rl:".
	Prefix string
	// Timeout bounds one decision's round trip to Redis; a decision that
	// takes longer is a failure (see OnFailure). Default 100ms.
	Timeout time.Duration
	// OnFailure says what to answer while Redis cannot: [FailClosed] or
	// [FailOpen]. Default FailClosed.
	OnFailure FailurePolicy
	// Fallback is the limiter [FailOpen] answers from. Default: a
	// ratelimit.Memory with its default configuration. Ignored under
	// FailClosed.
	Fallback ratelimit.Limiter
	// RetryInterval is how long after a failure the limiter answers by
	// OnFailure without asking Redis, so that an outage does not cost every
	// request a Timeout. Default 1 second; negative means that every
	// decision asks Redis.
	RetryInterval time.Duration
	// Logger receives one warning when Redis stops answering (with the
	// failure policy in force) and one notice when it answers again.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of RetryInterval. Decisions use the Redis server's
	// clock, which all instances share. Default time.Now.
	Now func() time.Time
}

// Limiter is a [ratelimit.Limiter] whose buckets live in Redis, shared by
// every instance that uses the same Redis and Prefix. Each decision is one
// round trip: a Lua script that applies the GCRA to one key atomically on
// the server's clock, so instances with skewed clocks or concurrent
// requests for one key never overshoot: together they allow what one
// in-memory limiter would (the tests check it, with no tolerance beyond
// what refills while they run).
//
// Redis keys are Prefix + policy name + ":" + key scope + ":" + key value;
// values are IDs and addresses (ratelimit.Key holds no secret). A key
// lives only while its bucket is not full.
//
// A Limiter is safe for concurrent use, starts no goroutine and needs no
// Close; closing the Redis client is the caller's business.
type Limiter struct {
	client    redis.Scripter
	prefix    string
	timeout   time.Duration
	onFailure FailurePolicy
	fallback  ratelimit.Limiter
	retry     time.Duration
	log       *slog.Logger
	now       func() time.Time

	downUntil atomic.Int64 // Unix nanoseconds before which Redis is not asked
	down      atomic.Bool  // Redis failed last time it was asked
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a limiter that keeps its buckets in Redis through client
// (a *redis.Client, *redis.ClusterClient or *redis.Ring). Without
// ContextTimeoutEnabled in its options, go-redis ignores the deadline of
// a request's context and waits for its ReadTimeout (3 seconds by
// default), so New refuses such a client: a Redis that hangs must cost a
// request Config.Timeout, not seconds. A client of another type is
// trusted to honour the context's deadline.
func New(client redis.Scripter, cfg Config) (*Limiter, error) {
	if err := checkClient(client); err != nil {
		return nil, err
	}
	if cfg.OnFailure > FailOpen {
		return nil, errors.New("redisrate: unknown failure policy")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("redisrate: the timeout must not be negative")
	}
	l := &Limiter{
		client:    client,
		prefix:    cfg.Prefix,
		timeout:   cfg.Timeout,
		onFailure: cfg.OnFailure,
		retry:     cfg.RetryInterval,
		log:       cfg.Logger,
		now:       cfg.Now,
	}
	if l.prefix == "" {
		l.prefix = "gatehouse:rl:"
	}
	if l.timeout == 0 {
		l.timeout = 100 * time.Millisecond
	}
	if l.retry == 0 {
		l.retry = time.Second
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.onFailure == FailOpen {
		l.fallback = cfg.Fallback
		if l.fallback == nil {
			m, err := ratelimit.NewMemory(ratelimit.MemoryConfig{})
			if err != nil {
				return nil, err
			}
			l.fallback = m
		}
	}
	return l, nil
}

// Allow implements [ratelimit.Limiter]. While Redis cannot answer, it
// answers as Config.OnFailure says: from the fallback limiter, or with an
// error wrapping gatehouse.ErrUnavailable. A request whose own context is
// cancelled or past its deadline gets that error, wrapped as unavailable,
// and does not count as a Redis failure.
func (l *Limiter) Allow(ctx context.Context, key ratelimit.Key, p *ratelimit.Policy, cost int) (ratelimit.Decision, error) {
	if err := ratelimit.CheckArgs(key, p, cost); err != nil {
		return ratelimit.Decision{}, err
	}
	if l.skipRedis() {
		return l.failed(ctx, key, p, cost, errRecentFailure)
	}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	res, err := gcraScript.Run(rctx, l.client, []string{l.redisKey(key, p)},
		int64(p.Interval()), int64(p.Interval())*int64(p.Burst()), cost).Int64Slice()
	cancel()
	if err == nil && len(res) != 4 {
		err = errors.New("redisrate: unexpected reply from the script")
	}
	if err != nil {
		if ctx.Err() != nil { // the caller gave up; Redis may be fine
			return ratelimit.Decision{}, gatehouse.Unavailable(ctx.Err())
		}
		l.markDown(err)
		return l.failed(ctx, key, p, cost, err)
	}
	l.markUp()
	return ratelimit.Decision{
		Allowed:    res[0] == 1,
		Policy:     p,
		Limit:      p.Limit(),
		Remaining:  int(res[1]),
		Reset:      time.Duration(res[2]),
		RetryAfter: time.Duration(res[3]),
	}, nil
}

// Reset implements [ratelimit.Limiter]. Under [FailOpen] it resets the
// fallback's bucket too, and a Redis failure is not an error (it is
// logged as for Allow); under [FailClosed] it is one, wrapping
// gatehouse.ErrUnavailable.
func (l *Limiter) Reset(ctx context.Context, key ratelimit.Key, p *ratelimit.Policy) error {
	if err := ratelimit.CheckArgs(key, p, 0); err != nil {
		return err
	}
	if l.fallback != nil {
		if err := l.fallback.Reset(ctx, key, p); err != nil {
			return err
		}
	}
	if l.skipRedis() {
		return l.resetFailed(errRecentFailure)
	}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	err := resetScript.Run(rctx, l.client, []string{l.redisKey(key, p)}).Err()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return gatehouse.Unavailable(ctx.Err())
		}
		l.markDown(err)
		return l.resetFailed(err)
	}
	l.markUp()
	return nil
}

// errRecentFailure is the cause of a decision made without asking Redis,
// within RetryInterval of a failure.
var errRecentFailure = errors.New("redisrate: redis failed within the retry interval; not asked")

func (l *Limiter) failed(ctx context.Context, key ratelimit.Key, p *ratelimit.Policy, cost int, cause error) (ratelimit.Decision, error) {
	if l.onFailure == FailOpen {
		return l.fallback.Allow(ctx, key, p, cost)
	}
	return ratelimit.Decision{}, gatehouse.Unavailable(cause)
}

func (l *Limiter) resetFailed(cause error) error {
	if l.onFailure == FailOpen {
		return nil
	}
	return gatehouse.Unavailable(cause)
}

func (l *Limiter) skipRedis() bool {
	return l.retry > 0 && l.down.Load() && l.now().UnixNano() < l.downUntil.Load()
}

// markDown records a failure and logs it when Redis was up until now.
func (l *Limiter) markDown(err error) {
	if l.retry > 0 {
		l.downUntil.Store(l.now().Add(l.retry).UnixNano())
	}
	if l.down.CompareAndSwap(false, true) {
		l.log.Warn("redisrate: Redis is unavailable; rate limit decisions follow the failure policy",
			slog.String("failure_policy", l.onFailure.String()),
			slog.String("error", err.Error()))
	}
}

// markUp logs that Redis answers again after a failure.
func (l *Limiter) markUp() {
	if l.down.Load() && l.down.CompareAndSwap(true, false) {
		l.log.Info("redisrate: Redis answers again; rate limits are shared again",
			slog.String("failure_policy", l.onFailure.String()))
	}
}

// redisKey is Prefix + policy name + ":" + scope + ":" + value.
func (l *Limiter) redisKey(key ratelimit.Key, p *ratelimit.Policy) string {
	name, scope, value := p.Name(), key.Scope(), key.Value()
	b := make([]byte, 0, len(l.prefix)+len(name)+len(scope)+len(value)+2)
	b = append(b, l.prefix...)
	b = append(b, name...)
	b = append(b, ':')
	b = append(b, scope...)
	b = append(b, ':')
	b = append(b, value...)
	return string(b)
}

// checkClient refuses a nil client and one that would not let a context's
// deadline bound a command.
func checkClient(c redis.Scripter) error {
	honours := true
	switch c := c.(type) {
	case nil:
		return errNilClient
	case *redis.Client:
		if c == nil {
			return errNilClient
		}
		honours = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		if c == nil {
			return errNilClient
		}
		honours = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		if c == nil {
			return errNilClient
		}
		honours = c.Options().ContextTimeoutEnabled
	}
	if !honours {
		return errors.New("redisrate: set ContextTimeoutEnabled in the client's options, so that Config.Timeout bounds a decision")
	}
	return nil
}

var errNilClient = errors.New("redisrate: the client is nil")
