package jwtauth

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Issuer is one party whose tokens an [Authenticator] accepts: an identity
// provider, the service's own login, or the users' registered keys. Each
// issuer has its own key source and audience.
type Issuer struct {
	// Issuer is the "iss" a token must carry. With several issuers it is
	// required and selects the issuer (before any key is looked up, so
	// that a token naming an unknown issuer costs no key fetch). With a
	// single issuer, empty means "iss" is not checked.
	Issuer string
	// Audience lists the audiences accepted: the token's "aud" must hold
	// at least one of them. Default: "aud" is not checked.
	Audience []string
	// Keys finds the key that verifies a token. Required.
	Keys KeySource
	// Algorithms narrows the algorithms accepted from this issuer.
	// Default: Keys.Algorithms(). Every key is bound to one algorithm in
	// any case; this list is checked first.
	Algorithms []string
	// MaxLifetime, when set, refuses tokens that expire further than this
	// (plus the leeway) in the future, so that a user who holds a signing
	// key cannot mint a token for years. Default: no limit.
	MaxLifetime time.Duration
}

// issuer is an Issuer checked and compiled by the authenticator.
type issuer struct {
	name    string
	aud     []string
	keys    KeySource
	algs    []string
	maxLife time.Duration
}

func compileIssuer(in Issuer, many bool) (*issuer, error) {
	if in.Keys == nil {
		return nil, errors.New("jwtauth: issuer has no key source")
	}
	if many && in.Issuer == "" {
		return nil, errors.New("jwtauth: with several issuers every issuer needs its Issuer name")
	}
	if in.MaxLifetime < 0 {
		return nil, errors.New("jwtauth: issuer MaxLifetime must not be negative")
	}
	for _, a := range in.Audience {
		if a == "" {
			return nil, errors.New("jwtauth: issuer audience must not be empty")
		}
	}
	algs := in.Algorithms
	if len(algs) == 0 {
		algs = in.Keys.Algorithms()
	}
	if len(algs) == 0 {
		return nil, errors.New("jwtauth: issuer accepts no algorithm")
	}
	for _, a := range algs {
		if _, ok := algorithms[a]; !ok {
			return nil, fmt.Errorf("jwtauth: unsupported algorithm %q", safeForError(a))
		}
	}
	return &issuer{
		name:    in.Issuer,
		aud:     slices.Clone(in.Audience),
		keys:    in.Keys,
		algs:    slices.Clone(algs),
		maxLife: in.MaxLifetime,
	}, nil
}

// audienceOK reports whether the aud claim v holds one of want, and
// whether it is malformed. RFC 7519 section 4.1.3 allows a string or an
// array of strings, nothing else: every element is read, also after a
// match, so that the verdict does not depend on their order. An absent or
// null aud holds no audience and is not malformed.
func audienceOK(v any, want []string) (ok, malformed bool) {
	switch a := v.(type) {
	case nil:
		return false, false
	case string:
		return slices.Contains(want, a), false
	case []any:
		for _, e := range a {
			s, isStr := e.(string)
			if !isStr {
				return false, true
			}
			ok = ok || slices.Contains(want, s)
		}
		return ok, false
	}
	return false, true
}
