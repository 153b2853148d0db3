package scopes

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits applied by [Parse] and [ParseJSON] to untrusted input.
const (
	// MaxInputLength is the longest scope string accepted, in bytes.
	MaxInputLength = 4096
	// MaxScopes is the largest number of scopes in one set.
	MaxScopes = 128
	// MaxScopeLength is the longest single scope, in bytes.
	MaxScopeLength = 128
)

// ErrInvalid is wrapped by every error that [Parse], [ParseJSON] and
// [Validate] return.
var ErrInvalid = errors.New("scopes: invalid scope")

// Valid reports whether s is a well-formed scope token: 1 to
// [MaxScopeLength] bytes of %x21 / %x23-5B / %x5D-7E, and no comma (the
// comma separates scopes in Gatehouse's string form).
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxScopeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

// Validate checks every scope of list with [Valid] and the [MaxScopes] bound.
func Validate(list []string) error {
	if len(list) > MaxScopes {
		return fmt.Errorf("%w: more than %d scopes", ErrInvalid, MaxScopes)
	}
	for i, s := range list {
		if !Valid(s) {
			return fmt.Errorf("%w: scope %d is empty, too long or has a character outside %%x21-7E (or one of \" \\ ,)", ErrInvalid, i+1)
		}
	}
	return nil
}

// Parse splits s on spaces and commas, validates every scope, and returns
// them sorted with duplicates removed. An empty or blank string is an empty
// set. Errors never echo the input.
func Parse(s string) ([]string, error) {
	if len(s) > MaxInputLength {
		return nil, fmt.Errorf("%w: input longer than %d bytes", ErrInvalid, MaxInputLength)
	}
	var out []string
	for s != "" {
		var tok string
		i := strings.IndexAny(s, " ,")
		if i < 0 {
			tok, s = s, ""
		} else {
			tok, s = s[:i], s[i+1:]
		}
		if tok == "" {
			continue
		}
		if len(out) == MaxScopes {
			return nil, fmt.Errorf("%w: more than %d scopes", ErrInvalid, MaxScopes)
		}
		out = append(out, tok)
	}
	if err := Validate(out); err != nil {
		return nil, err
	}
	return Normalize(out), nil
}

// ParseJSON parses a JSON array of strings, or a single JSON string holding
// a space- or comma-separated list, as [Parse] does. JSON null is an empty
// set.
func ParseJSON(b []byte) ([]string, error) {
	if len(b) > MaxInputLength {
		return nil, fmt.Errorf("%w: input longer than %d bytes", ErrInvalid, MaxInputLength)
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON array or string", ErrInvalid)
	}
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		return Parse(v)
	case []any:
		if len(v) > MaxScopes {
			return nil, fmt.Errorf("%w: more than %d scopes", ErrInvalid, MaxScopes)
		}
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: array element is not a string", ErrInvalid)
			}
			out = append(out, s)
		}
		if err := Validate(out); err != nil {
			return nil, err
		}
		return Normalize(out), nil
	default:
		return nil, fmt.Errorf("%w: not a JSON array or string", ErrInvalid)
	}
}

// Normalize returns list sorted with duplicates removed, in a new slice.
func Normalize(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// Format returns the scopes separated by single spaces, the form of the
// OAuth "scope" parameter and of the WWW-Authenticate scope attribute.
func Format(list []string) string {
	return strings.Join(list, " ")
}
