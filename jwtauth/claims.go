package jwtauth

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
)

// PrincipalFunc builds the principal of a verified token. claims are the
// verified claims, which the principal may keep (Principal.Claims) but
// nobody may modify; key is the key that verified the token. It runs once
// per verified token: the result is cached with the token and shared by
// every request that presents it.
//
// An error refuses the token with 401 invalid_token; return a
// *gatehouse.Error to choose its reason and detail, any other error is
// reported as malformed claims (and logged as the cause, never sent).
//
// Whatever the function returns, tokens verified by a registered key (see
// [RegisteredKeys]) act as the key's owner, in its tenant, with at most its
// scopes: the authenticator enforces that after the function runs.
type PrincipalFunc func(claims map[string]any, key *Key) (*gatehouse.Principal, error)

// DefaultPrincipal returns the default [PrincipalFunc]: ID from "sub"
// (required), scopes from [ScopesOf], TenantID from the string claim named
// tenantClaim (none when tenantClaim is empty or the claim is absent), KeyID
// from the key's ID, ExpiresAt from "exp", and the claims themselves.
func DefaultPrincipal(tenantClaim string) PrincipalFunc {
	return func(claims map[string]any, key *Key) (*gatehouse.Principal, error) {
		return principalOf(claims, key, tenantClaim)
	}
}

func principalOf(claims map[string]any, key *Key, tenantClaim string) (*gatehouse.Principal, error) {
	p := new(gatehouse.Principal)
	if err := fillPrincipal(p, claims, key, tenantClaim); err != nil {
		return nil, err
	}
	return p, nil
}

// fillPrincipal is the default mapping, into p: the authenticator uses it
// with a principal kept in the cache entry, which saves an allocation per
// verified token.
func fillPrincipal(p *gatehouse.Principal, claims map[string]any, key *Key, tenantClaim string) error {
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return errBadClaims
	}
	sc, err := ScopesOf(claims)
	if err != nil {
		return errBadClaims
	}
	var tenant string
	if tenantClaim != "" {
		if v, present := claims[tenantClaim]; present {
			if tenant, ok = v.(string); !ok {
				return errBadClaims
			}
		}
	}
	exp := claimTime(claims, "exp")
	*p = gatehouse.Principal{
		ID:        sub,
		Kind:      gatehouse.KindJWT,
		TenantID:  tenant,
		Scopes:    sc,
		KeyID:     key.ID(),
		ExpiresAt: exp,
		Claims:    claims,
	}
	return nil
}

// ScopesOf returns the scopes a token grants: the "scope" claim, a
// space-separated string (RFC 8693, RFC 9068), or, when it is absent, the
// "scp" claim, a string or an array of strings. Scopes come back sorted and
// unique. A claim of another type, more than scopes.MaxScopes scopes, or a
// scope that scopes.Valid refuses is an error: the token is refused rather
// than half read.
func ScopesOf(claims map[string]any) ([]string, error) {
	v, ok := claims["scope"]
	if !ok {
		v = claims["scp"]
	}
	var out []string
	switch s := v.(type) {
	case nil:
		return nil, nil
	case string:
		if len(s) > scopes.MaxInputLength {
			return nil, scopes.ErrInvalid
		}
		for s != "" {
			var tok string
			tok, s, _ = strings.Cut(s, " ")
			if tok == "" {
				continue
			}
			if out == nil {
				// This token and at most one per remaining space.
				out = make([]string, 0, 2+strings.Count(s, " "))
			}
			out = append(out, tok)
		}
	case []any:
		if len(s) > 0 {
			out = make([]string, 0, len(s))
		}
		for _, e := range s {
			str, ok := e.(string)
			if !ok {
				return nil, scopes.ErrInvalid
			}
			out = append(out, str)
		}
	default:
		return nil, scopes.ErrInvalid
	}
	if err := scopes.Validate(out); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// validateTimes checks the time claims of a token at now, with leeway, as
// golang-jwt's validator does with WithExpirationRequired and
// WithIssuedAt, but without allocating: "exp" is required and now must be
// before exp+leeway; "nbf" and "iat", when present, must not be after
// now+leeway. A zero claim counts as absent and dates are whole seconds
// (rounded down), as golang-jwt reads them. A claim that is not a number,
// or a date more than 2^40 seconds from 1970, is malformed, and that
// refusal comes first; then expiry; then not-yet-valid. It returns the
// expiry as read, which is what the cache and the principal use too, so
// that a cached token lapses by the same reading that verified it.
func validateTimes(claims map[string]any, now time.Time, leeway time.Duration) (time.Time, error) {
	exp, expOK, expBad := claimSeconds(claims, "exp")
	nbf, nbfOK, nbfBad := claimSeconds(claims, "nbf")
	iat, iatOK, iatBad := claimSeconds(claims, "iat")
	expiry := time.Unix(exp, 0).UTC()
	switch {
	case expBad || nbfBad || iatBad || !expOK:
		return time.Time{}, errBadClaims
	case !now.Before(expiry.Add(leeway)):
		return time.Time{}, errExpired
	case nbfOK && now.Before(time.Unix(nbf, 0).Add(-leeway)),
		iatOK && now.Before(time.Unix(iat, 0).Add(-leeway)):
		return time.Time{}, errNotYetValid
	}
	return expiry, nil
}

// claimSeconds reads the NumericDate claim name: its whole seconds, whether
// it is present (and not zero), and whether it is malformed.
func claimSeconds(claims map[string]any, name string) (sec int64, present, bad bool) {
	v, ok := claims[name]
	if !ok {
		return 0, false, false
	}
	f, ok := v.(float64)
	switch {
	case !ok || math.IsNaN(f) || f > 1<<40 || f < -(1<<40):
		return 0, false, true
	case f == 0:
		return 0, false, false
	}
	return int64(math.Floor(f)), true, false
}

// claimTime is the NumericDate claim name as a time, read as claimSeconds
// reads it; the zero time when it is absent, zero, malformed or before 1970.
func claimTime(claims map[string]any, name string) time.Time {
	sec, ok, bad := claimSeconds(claims, name)
	if !ok || bad || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// bindRegistration makes p act as the registered key's owner, in its
// tenant, with at most its scopes: a token scope is kept when the
// registration's scopes cover it (exactly or by a wildcard). It returns a copy: p may be shared by
// the application's PrincipalFunc.
func bindRegistration(p *gatehouse.Principal, key *Key) *gatehouse.Principal {
	reg := key.reg
	c := *p
	c.Kind = gatehouse.KindJWT
	c.ID = reg.OwnerID
	c.TenantID = reg.TenantID
	c.KeyID = reg.KID
	var sc []string
	for _, s := range p.Scopes {
		if scopes.Plain.Covers(reg.Scopes, []string{s}) {
			sc = append(sc, s)
		}
	}
	c.Scopes = sc
	return &c
}
