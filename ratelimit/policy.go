package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Bounds of a [Policy].
const (
	// MaxLimit is the largest quota and the largest burst of a policy.
	MaxLimit = 1_000_000_000
	// MaxWindow is the longest window of a policy.
	MaxWindow = 366 * 24 * time.Hour
	// MinInterval is the shortest time one unit may take to refill: a
	// policy allows at most one million units per second.
	MinInterval = time.Microsecond
	// maxNameLen is the longest policy name.
	maxNameLen = 64
)

// Policy is a rate limit: Limit units per Window, of which at most Burst
// may be spent at once. Units refill continuously, one every Window/Limit
// (the generic cell rate algorithm, GCRA), so over any span d a key is
// allowed at most Burst + d*Limit/Window units. The name identifies the
// policy in the RateLimit-Policy and RateLimit response headers and, with
// the key, the bucket: two policies with different names never share a
// bucket.
//
// Build a Policy with [NewPolicy], [MustPolicy] or [ParsePolicy]; the zero
// value is not usable. A Policy is immutable and safe for concurrent use.
type Policy struct {
	name     string
	limit    int
	window   time.Duration
	burst    int
	nameHash uint64 // fnv64(name), for the in-memory limiter's index
	interval int64  // nanoseconds one unit takes to refill
	tau      int64  // interval * burst: the bucket's depth in time
	// header is the precomputed RateLimit-Policy field value.
	header string
}

// NewPolicy returns the policy name: limit units per window, burst at once.
// A burst of 0 means limit.
//
// name is 1 to 64 characters among A-Z a-z 0-9 '_' '-' '.'; limit and burst
// are at most [MaxLimit]; window is a whole number of seconds between one
// second and [MaxWindow]; window/limit is at least [MinInterval].
func NewPolicy(name string, limit int, window time.Duration, burst int) (*Policy, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: a name is 1 to %d letters, digits, '_', '-' or '.' characters", ErrInvalidPolicy, maxNameLen)
	}
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: the limit must be between 1 and %d", ErrInvalidPolicy, MaxLimit)
	}
	if window < time.Second || window > MaxWindow || window%time.Second != 0 {
		return nil, fmt.Errorf("%w: the window must be a whole number of seconds between 1s and %s", ErrInvalidPolicy, MaxWindow)
	}
	if burst == 0 {
		burst = limit
	}
	if burst < 1 || burst > MaxLimit {
		return nil, fmt.Errorf("%w: the burst must be between 1 and %d", ErrInvalidPolicy, MaxLimit)
	}
	interval := int64(window) / int64(limit)
	if interval < int64(MinInterval) {
		return nil, fmt.Errorf("%w: more than one unit per microsecond", ErrInvalidPolicy)
	}
	// Keep headroom so that tat + cost*interval cannot overflow.
	if int64(burst) > math.MaxInt64/4/interval {
		return nil, fmt.Errorf("%w: the burst is too deep for the window", ErrInvalidPolicy)
	}
	p := &Policy{
		name:     name,
		nameHash: fnv64(name),
		limit:    limit,
		window:   window,
		burst:    burst,
		interval: interval,
		tau:      interval * int64(burst),
	}
	p.header = string(p.appendPolicyItem(nil, nil))
	return p, nil
}

// MustPolicy is [NewPolicy] for constant arguments; it panics on an invalid
// policy.
func MustPolicy(name string, limit int, window time.Duration, burst int) *Policy {
	p, err := NewPolicy(name, limit, window, burst)
	if err != nil {
		panic(err)
	}
	return p
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Limit returns the quota: how many units the policy allows per window.
func (p *Policy) Limit() int { return p.limit }

// Window returns the window the quota is counted over.
func (p *Policy) Window() time.Duration { return p.window }

// Burst returns how many units may be spent at once.
func (p *Policy) Burst() int { return p.burst }

// Interval returns the time one unit takes to refill: Window/Limit.
func (p *Policy) Interval() time.Duration { return time.Duration(p.interval) }

// String returns the policy in the form [ParsePolicy] reads, without the
// name: "100/1m", or "100/1m;burst=20" when the burst is not the limit.
func (p *Policy) String() string {
	b := strconv.AppendInt(nil, int64(p.limit), 10)
	b = append(b, '/')
	b = appendWindow(b, p.window)
	if p.burst != p.limit {
		b = append(b, ";burst="...)
		b = strconv.AppendInt(b, int64(p.burst), 10)
	}
	return string(b)
}

// appendWindow writes w with the largest unit that divides it.
func appendWindow(b []byte, w time.Duration) []byte {
	for _, u := range windowUnits {
		if w%u.d == 0 {
			b = strconv.AppendInt(b, int64(w/u.d), 10)
			return append(b, u.c)
		}
	}
	return b // unreachable: windows are whole seconds
}

var windowUnits = [...]struct {
	c byte
	d time.Duration
}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}}

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			continue
		}
		return false
	}
	return true
}
