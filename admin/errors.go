package admin

import (
	"errors"
	"sort"
	"strings"
)

// Errors returned by the [Manager]. The handler maps them to responses.
var (
	// ErrNotFound means the key or user does not exist or is not visible
	// to the actor (another tenant's records are reported missing, not
	// forbidden). Response: 404.
	ErrNotFound = errors.New("admin: not found")
	// ErrForbidden means the actor may see the record but not act on it.
	// Response: 403.
	ErrForbidden = errors.New("admin: forbidden")
	// ErrInvalid is wrapped by every [*ValidationError]. Response: 422.
	ErrInvalid = errors.New("admin: invalid request")
)

// ValidationError lists what is wrong with a request, by field.
type ValidationError struct {
	Fields map[string]string
}

func invalid(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("admin: invalid request:")
	for _, n := range names {
		b.WriteString(" " + n + ": " + e.Fields[n] + ";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns [ErrInvalid].
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// forbidden is an ErrForbidden with a fixed client-facing sentence.
type forbidden struct{ detail string }

func (e *forbidden) Error() string { return "admin: forbidden: " + e.detail }
func (e *forbidden) Unwrap() error { return ErrForbidden }
