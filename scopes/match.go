package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// Implications maps a scope to the scopes it directly implies, for example
// {"admin": {"write"}, "write": {"read"}}. Implication is transitive.
type Implications map[string][]string

// Matcher matches granted scopes against required ones under a fixed set of
// implications. The zero value is not usable; build one with [NewMatcher].
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	// impliedBy maps a scope to every scope that implies it, transitively,
	// itself excluded.
	impliedBy map[string][]string
	// implies maps a scope to every scope it implies, transitively.
	implies map[string][]string
}

// Plain is a [Matcher] with no implications: only exact matches and
// wildcards.
var Plain = &Matcher{}

// NewMatcher validates impl and precomputes its transitive closure.
func NewMatcher(impl Implications) (*Matcher, error) {
	m := &Matcher{impliedBy: map[string][]string{}, implies: map[string][]string{}}
	for from, tos := range impl {
		if !Valid(from) {
			return nil, fmt.Errorf("%w: implication source is not a valid scope", ErrInvalid)
		}
		if err := Validate(tos); err != nil {
			return nil, err
		}
	}
	for from := range impl {
		seen := map[string]bool{from: true}
		stack := slices.Clone(impl[from])
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[s] {
				continue
			}
			seen[s] = true
			m.implies[from] = append(m.implies[from], s)
			m.impliedBy[s] = append(m.impliedBy[s], from)
			stack = append(stack, impl[s]...)
		}
	}
	for k := range m.impliedBy {
		slices.Sort(m.impliedBy[k])
	}
	for k := range m.implies {
		slices.Sort(m.implies[k])
	}
	return m, nil
}

// MustMatcher is [NewMatcher] for constant tables; it panics on an error.
func MustMatcher(impl Implications) *Matcher {
	m, err := NewMatcher(impl)
	if err != nil {
		panic(err)
	}
	return m
}

// Expand returns granted plus every scope it implies, sorted, deduplicated.
func (m *Matcher) Expand(granted []string) []string {
	out := slices.Clone(granted)
	for _, g := range granted {
		out = append(out, m.implies[g]...)
	}
	return Normalize(out)
}

// Satisfies reports whether the single granted scope g satisfies the
// required scope q.
func (m *Matcher) Satisfies(g, q string) bool {
	if g == q {
		return true
	}
	if wildcardCovers(g, q) {
		return true
	}
	for _, s := range m.impliedBy[q] {
		if s == g {
			return true
		}
	}
	return false
}

// wildcardCovers reports whether g is "prefix:*" and q starts with
// "prefix:".
func wildcardCovers(g, q string) bool {
	n := len(g)
	if n < 3 || g[n-1] != '*' || g[n-2] != ':' {
		return false
	}
	return len(q) >= n && q[:n-1] == g[:n-1]
}

// Covers reports whether every scope in requested is satisfied by some scope
// in granted. Use it to refuse escalation: a key may only be given scopes its
// creator covers.
func (m *Matcher) Covers(granted, requested []string) bool {
	for _, q := range requested {
		if !m.any(granted, q) {
			return false
		}
	}
	return true
}

func (m *Matcher) any(granted []string, q string) bool {
	for _, g := range granted {
		if m.Satisfies(g, q) {
			return true
		}
	}
	return false
}

// Requirement is a compiled scope check. Build one with [Matcher.AllOf] or
// [Matcher.AnyOf]; checking it does not allocate. A Requirement is immutable
// and safe for concurrent use.
type Requirement struct {
	any      bool
	required []string
	// satisfiers[i] lists the exact granted scopes that satisfy
	// required[i]: itself and everything that implies it.
	satisfiers [][]string
	// prefixes[i] lists the wildcard prefixes ("res:") that satisfy
	// required[i].
	prefixes [][]string
}

// AllOf compiles a requirement that every scope in required be granted.
func (m *Matcher) AllOf(required ...string) (*Requirement, error) {
	return m.compile(false, required)
}

// AnyOf compiles a requirement that at least one scope in required be
// granted.
func (m *Matcher) AnyOf(required ...string) (*Requirement, error) {
	return m.compile(true, required)
}

// AllOf compiles an all-of requirement with the [Plain] matcher.
func AllOf(required ...string) (*Requirement, error) { return Plain.AllOf(required...) }

// AnyOf compiles an any-of requirement with the [Plain] matcher.
func AnyOf(required ...string) (*Requirement, error) { return Plain.AnyOf(required...) }

func (m *Matcher) compile(anyOf bool, required []string) (*Requirement, error) {
	if len(required) == 0 {
		return nil, fmt.Errorf("%w: a requirement needs at least one scope", ErrInvalid)
	}
	if err := Validate(required); err != nil {
		return nil, err
	}
	req := &Requirement{any: anyOf, required: Normalize(required)}
	for _, q := range req.required {
		sat := append([]string{q}, m.impliedBy[q]...)
		var pre []string
		// Every "a:", "a:b:" prefix of q: a granted "a:*" covers it.
		for i := 0; i < len(q)-1; i++ {
			if q[i] == ':' {
				pre = append(pre, q[:i+1])
			}
		}
		req.satisfiers = append(req.satisfiers, sat)
		req.prefixes = append(req.prefixes, pre)
	}
	return req, nil
}

// Scopes returns the required scopes, sorted. The caller must not modify
// the slice.
func (r *Requirement) Scopes() []string { return r.required }

// Any reports whether the requirement is satisfied by any one of its scopes.
func (r *Requirement) Any() bool { return r.any }

// String returns the required scopes separated by spaces.
func (r *Requirement) String() string { return strings.Join(r.required, " ") }

// SatisfiedBy reports whether granted meets the requirement. It does not
// allocate.
func (r *Requirement) SatisfiedBy(granted []string) bool {
	for i := range r.required {
		ok := r.one(i, granted)
		if r.any && ok {
			return true
		}
		if !r.any && !ok {
			return false
		}
	}
	return !r.any
}

func (r *Requirement) one(i int, granted []string) bool {
	for _, g := range granted {
		for _, s := range r.satisfiers[i] {
			if g == s {
				return true
			}
		}
		n := len(g)
		if n >= 3 && g[n-1] == '*' && g[n-2] == ':' {
			for _, p := range r.prefixes[i] {
				if len(p) == n-1 && g[:n-1] == p {
					return true
				}
			}
		}
	}
	return false
}
