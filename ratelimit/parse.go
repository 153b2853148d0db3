package ratelimit

import (
	"fmt"
	"strings"
	"time"
)

// MaxPolicyText is the longest text [ParsePolicy] reads.
const MaxPolicyText = 64

// ParsePolicy reads a policy written as LIMIT/WINDOW with an optional
// ";burst=N" and names it name. WINDOW is an optional count and a unit
// among s, m, h and d:
//
//	100/1m           100 per minute, 100 at once
//	100/m            the same
//	5/15m;burst=3    5 per quarter hour, 3 at once
//	10000/1d         10,000 per day
//
// Spaces and tabs around the text are ignored; nothing else is. The text
// comes from configuration or a key record ([MetadataKey]), so ParsePolicy
// is strict, allocates only for its result or its error, reads at most
// [MaxPolicyText] bytes, and never puts the text in its errors. Errors
// wrap [ErrInvalidPolicy].
func ParsePolicy(name, s string) (*Policy, error) {
	limit, window, burst, err := parsePolicyText(s)
	if err != nil {
		return nil, err
	}
	return NewPolicy(name, limit, window, burst)
}

func parsePolicyText(s string) (limit int, window time.Duration, burst int, err error) {
	if len(s) > MaxPolicyText+16 {
		return 0, 0, 0, fmt.Errorf("%w: the text is longer than %d bytes", ErrInvalidPolicy, MaxPolicyText)
	}
	s = strings.Trim(s, " \t")
	if len(s) > MaxPolicyText {
		return 0, 0, 0, fmt.Errorf("%w: the text is longer than %d bytes", ErrInvalidPolicy, MaxPolicyText)
	}
	rate, opts, hasOpts := strings.Cut(s, ";")
	l, w, ok := strings.Cut(rate, "/")
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: want LIMIT/WINDOW, as in 100/1m", ErrInvalidPolicy)
	}
	if limit, ok = parseCount(l); !ok {
		return 0, 0, 0, fmt.Errorf("%w: the limit is not a positive decimal number", ErrInvalidPolicy)
	}
	if window, ok = parseWindow(w); !ok {
		return 0, 0, 0, fmt.Errorf("%w: the window is not a count and a unit among s, m, h, d", ErrInvalidPolicy)
	}
	if hasOpts {
		v, found := strings.CutPrefix(opts, "burst=")
		if !found {
			return 0, 0, 0, fmt.Errorf("%w: the only option is ;burst=N", ErrInvalidPolicy)
		}
		if burst, ok = parseCount(v); !ok {
			return 0, 0, 0, fmt.Errorf("%w: the burst is not a positive decimal number", ErrInvalidPolicy)
		}
	}
	return limit, window, burst, nil
}

// parseCount reads 1 to 10 decimal digits whose value is 1 to MaxLimit.
func parseCount(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= MaxLimit
}

// parseWindow reads an optional count of up to 6 digits and a unit.
func parseWindow(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, false
	}
	digits := s[:len(s)-1]
	if digits == "" {
		return unit, true
	}
	if len(digits) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
