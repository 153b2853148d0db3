package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownKey is returned by a [KeySource] that has no key for a token's
// kid. The authenticator refuses such a token with 401 invalid_token; any
// other error from a source means the source could not answer, and the
// authenticator fails closed with 503.
var ErrUnknownKey = errors.New("jwtauth: unknown key")

// MaxKeyIDLength is the longest kid header looked up; longer ones are
// unknown without asking the key source.
const MaxKeyIDLength = 256

// KeySource finds the key that verifies a token. Implementations must be
// safe for concurrent use.
//
// Key returns the key named kid, or, for a token without a kid (kid == ""),
// the source's only key when it has exactly one. It returns [ErrUnknownKey]
// when there is none and another error when it cannot tell (its backend is
// down and it holds nothing usable). kid comes from an unverified header: a
// source uses it only as a lookup key.
//
// Algorithms lists every algorithm the source's keys may be bound to; the
// authenticator refuses other algorithms before it looks a key up.
type KeySource interface {
	Algorithms() []string
	Key(ctx context.Context, kid string) (*Key, error)
}

// StaticKeys is a fixed set of keys: HMAC secrets of the service's own
// login, or public keys configured from PEM or JWK. It is immutable and
// safe for concurrent use.
type StaticKeys struct {
	byID map[string]*Key
	only *Key // the single key, when there is exactly one
	algs []string
}

var _ KeySource = (*StaticKeys)(nil)

// NewStaticKeys returns a source holding keys. Key IDs must be unique; a key
// without an ID is allowed only as the sole key. A token without a kid is
// verified with the sole key, and refused when there are several.
func NewStaticKeys(keys ...*Key) (*StaticKeys, error) {
	if len(keys) == 0 {
		return nil, errors.New("jwtauth: static keys: at least one key is required")
	}
	s := &StaticKeys{byID: make(map[string]*Key, len(keys))}
	for i, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("jwtauth: static keys: key %d is nil", i)
		}
		if k.id == "" && len(keys) > 1 {
			return nil, fmt.Errorf("jwtauth: static keys: key %d has no ID; only a sole key may go without one", i)
		}
		if _, dup := s.byID[k.id]; dup {
			return nil, fmt.Errorf("jwtauth: static keys: key ID %q appears twice", safeForError(k.id))
		}
		s.byID[k.id] = k
		if !slices.Contains(s.algs, k.alg) {
			s.algs = append(s.algs, k.alg)
		}
	}
	if len(keys) == 1 {
		s.only = keys[0]
	}
	return s, nil
}

// MustStaticKeys is [NewStaticKeys] for keys built at startup; it panics on
// an error.
func MustStaticKeys(keys ...*Key) *StaticKeys {
	s, err := NewStaticKeys(keys...)
	if err != nil {
		panic(err)
	}
	return s
}

// Algorithms implements [KeySource].
func (s *StaticKeys) Algorithms() []string { return slices.Clone(s.algs) }

// Key implements [KeySource].
func (s *StaticKeys) Key(_ context.Context, kid string) (*Key, error) {
	if kid == "" {
		if s.only != nil {
			return s.only, nil
		}
		return nil, ErrUnknownKey
	}
	if k, ok := s.byID[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
