package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// Counting says which requests spend units.
type Counting uint8

const (
	// CountAll spends the request's cost before it is served. The default.
	CountAll Counting = iota

	// CountFailures spends only for requests that fail: a request is let
	// through while the bucket has a unit left, and its cost is spent
	// after the response when Config.IsFailure says its status is a
	// failure (by default 401 and 403). Use it in front of the
	// authentication middleware to slow down callers who send bad
	// credentials without limiting those who send good ones. Requests
	// already in flight when the bucket runs out still complete, so a
	// caller can overshoot by as many requests as it has in flight; use
	// CountFailuresStrict where that matters.
	CountFailures

	// CountFailuresStrict spends the cost before the request is served,
	// as CountAll does, and gives it back after the response unless its
	// status is a failure. It never overshoots, but a key's requests in
	// flight at once are bounded by its remaining units. Use it for login
	// endpoints, where every guess counts.
	CountFailuresStrict
)

// PolicyFunc picks the policy of a request: def, the middleware's policy, or
// another one, such as the principal's own limit ([MetadataPolicy]). A nil
// result means def. It runs on every request and should not allocate.
type PolicyFunc func(r *http.Request, def *Policy) *Policy

// Config holds the optional settings of a [Middleware]. The zero value is
// usable.
type Config struct {
	// Cost returns how many units a request spends, for routes that cost
	// more than others; values below 1 count as 1. A cost above the
	// policy's burst is refused with 429. Default: 1 per request.
	Cost func(r *http.Request) int
	// Policy picks a policy per request. Default: always the middleware's
	// policy.
	Policy PolicyFunc
	// Count says which requests spend units. Default [CountAll].
	Count Counting
	// IsFailure says which response statuses are failures under
	// [CountFailures] and [CountFailuresStrict]. Default: 401 and 403.
	IsFailure func(status int) bool
	// HeadersOnAllowed adds the RateLimit-Policy and RateLimit headers
	// (see [SetHeaders]) to allowed responses too; it costs three small
	// allocations per request (the field values), and a digest with
	// PartitionKeySecret. Default false: only 429 responses carry them.
	HeadersOnAllowed bool
	// PartitionKeySecret, when set, adds to both headers the pk parameter:
	// a digest of the bucket's key under this secret (HMAC-SHA-256,
	// truncated to 16 bytes), never the key itself. Give every instance
	// the same secret so that clients see one pk. At least 16 bytes.
	// Default: no pk.
	PartitionKeySecret []byte
	// MaxJitter bounds a random delay added to the Retry-After of 429
	// responses, so that refused clients do not all come back at once.
	// Retry-After is never earlier than the RateLimit header's t.
	// Default 1 second; negative means none.
	MaxJitter time.Duration
	// ErrorHandler writes 429 and 503 responses, and the refusals of the
	// KeyFunc. A middleware.ProblemWriter's WriteError fits. Default
	// [WriteError], which writes the same problem+json as a ProblemWriter
	// with its default configuration and sets Retry-After from the
	// *gatehouse.RateLimitError.
	ErrorHandler ErrorHandler
}

// Middleware limits the rate of requests: each request spends units from
// the bucket its [KeyFunc] names, under a [Policy], through a [Limiter].
// Refusals are 429 with Retry-After and the RateLimit headers; a limiter
// that cannot answer gives 503 (the limiter decides whether it can answer
// from a fallback instead; see package redisrate). Nothing is let through
// unlimited: a request that cannot be keyed is refused.
//
// The same type serves before authentication (keyed by [ClientIP.Key])
// and after it (keyed by [ByPrincipal], [ByKeyID], [ByTenant]), so one
// chain can hold both:
//
//	perIP := ratelimit.New(mem, ipPolicy, ip.Key, ratelimit.Config{})
//	perKey := ratelimit.New(mem, keyPolicy, ratelimit.ByKeyID, ratelimit.Config{})
//	h := perIP.Handler(auth.Handler(perKey.Handler(api)))
//
// A Middleware is immutable and safe for concurrent use. With the in-memory
// limiter and the default configuration, serving a request on a warm key
// allocates nothing.
type Middleware struct {
	limiter   Limiter
	policy    *Policy
	key       KeyFunc
	cost      func(*http.Request) int
	policyFn  PolicyFunc
	count     Counting
	isFailure func(int) bool
	always    bool
	pk        *store.Hasher // HMAC under PartitionKeySecret; nil: no pk
	jitter    time.Duration
	onError   ErrorHandler
}

// New returns a middleware that spends from l under p, keyed by key.
func New(l Limiter, p *Policy, key KeyFunc, cfg Config) (*Middleware, error) {
	switch {
	case l == nil:
		return nil, errors.New("ratelimit: the limiter is nil")
	case p == nil || p.interval == 0:
		return nil, errors.New("ratelimit: the policy is nil or was not built by NewPolicy")
	case key == nil:
		return nil, errors.New("ratelimit: the key function is nil")
	case cfg.Count > CountFailuresStrict:
		return nil, errors.New("ratelimit: unknown counting mode")
	}
	m := &Middleware{
		limiter:   l,
		policy:    p,
		key:       key,
		cost:      cfg.Cost,
		policyFn:  cfg.Policy,
		count:     cfg.Count,
		isFailure: cfg.IsFailure,
		always:    cfg.HeadersOnAllowed,
		jitter:    cfg.MaxJitter,
		onError:   cfg.ErrorHandler,
	}
	if len(cfg.PartitionKeySecret) > 0 {
		if len(cfg.PartitionKeySecret) < store.MinPepperLength {
			return nil, fmt.Errorf("ratelimit: PartitionKeySecret must be at least %d bytes", store.MinPepperLength)
		}
		var err error
		if m.pk, err = store.NewHasher(cfg.PartitionKeySecret); err != nil {
			return nil, fmt.Errorf("ratelimit: PartitionKeySecret: %w", err)
		}
	}
	if m.isFailure == nil {
		m.isFailure = defaultIsFailure
	}
	if m.jitter == 0 {
		m.jitter = time.Second
	}
	if m.onError == nil {
		m.onError = WriteError
	}
	return m, nil
}

// MustNew is [New] for arguments known to be valid; it panics otherwise.
func MustNew(l Limiter, p *Policy, key KeyFunc, cfg Config) *Middleware {
	m, err := New(l, p, key, cfg)
	if err != nil {
		panic(err)
	}
	return m
}

func defaultIsFailure(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// Check decides on r without serving it: it spends the request's cost (for
// [CountFailures], it only looks whether a unit is left) and returns the
// decision, or the refusal. A refusal is a *gatehouse.RateLimitError
// (429), the KeyFunc's error, or an error wrapping gatehouse.ErrUnavailable
// (503). It is the pure half of [Middleware.Handler], for handlers that
// decide themselves; it writes no header.
func (m *Middleware) Check(r *http.Request) (Decision, error) {
	_, _, _, d, err := m.check(r)
	return d, err
}

// check returns what the handler needs to finish: the key, the policy and
// the cost spent.
func (m *Middleware) check(r *http.Request) (Key, *Policy, int, Decision, error) {
	key, err := m.key(r)
	if err != nil {
		return Key{}, nil, 0, Decision{}, err
	}
	p := m.policy
	if m.policyFn != nil {
		if q := m.policyFn(r, p); q != nil {
			p = q
		}
	}
	cost := 1
	if m.cost != nil {
		cost = max(1, m.cost(r))
	}
	spend := cost
	if m.count == CountFailures {
		spend = 0 // peek
	}
	d, err := m.limiter.Allow(r.Context(), key, p, spend)
	switch {
	case err == nil && !d.Allowed:
		return key, p, cost, d, &gatehouse.RateLimitError{RetryAfter: m.withJitter(d.RetryAfter)}
	case err == nil:
		return key, p, cost, d, nil
	case errors.Is(err, ErrCostTooHigh):
		return key, p, cost, Decision{Policy: p, Limit: p.limit, RetryAfter: p.window},
			&gatehouse.RateLimitError{RetryAfter: p.window, Detail: detailTooCostly}
	case errors.Is(err, gatehouse.ErrUnavailable):
		return key, p, cost, Decision{}, err
	default:
		return key, p, cost, Decision{}, gatehouse.Unavailable(err)
	}
}

// detailTooCostly is the detail of a request whose cost exceeds the burst:
// it will never be allowed, so Retry-After is the whole window.
const detailTooCostly = "This request costs more than the rate limit allows at once"

func (m *Middleware) withJitter(d time.Duration) time.Duration {
	if m.jitter > 0 {
		d += rand.N(m.jitter)
	}
	return d
}

// Handler serves next when the request is within its limit, and refuses it
// otherwise (see [Middleware]).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, p, cost, d, err := m.check(r)
		if err != nil {
			if d.Policy != nil && errors.Is(err, gatehouse.ErrRateLimited) {
				m.setHeaders(w.Header(), key, d)
			}
			m.onError(w, r, err)
			return
		}
		if m.always {
			m.setHeaders(w.Header(), key, d)
		}
		if m.count == CountAll {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		failed := m.isFailure(sw.status())
		// The client may be gone; the count must still be made.
		ctx := context.WithoutCancel(r.Context())
		switch {
		case m.count == CountFailures && failed:
			// Spend what is left when the cost is more: a refused spend
			// takes nothing, and a failure must always count.
			_, _ = m.limiter.Allow(ctx, key, p, max(1, min(cost, d.Remaining)))
		case m.count == CountFailuresStrict && !failed:
			_, _ = m.limiter.Allow(ctx, key, p, -cost)
		}
	})
}

func (m *Middleware) setHeaders(h http.Header, key Key, d Decision) {
	if m.pk == nil {
		setHeaders(h, d, nil)
		return
	}
	pk := partitionKey(m.pk, d.Policy, key)
	setHeaders(h, d, pk[:])
}

// statusWriter remembers the status of the response it passes on.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes a flush on when the underlying writer supports it.
func (s *statusWriter) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
