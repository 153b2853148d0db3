package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse"
)

// Authenticator verifies JWS compact tokens (signed JWTs) presented as
// Bearer credentials or handed over by a worker. It is immutable and safe
// for concurrent use.
type Authenticator struct {
	single   *issuer            // the issuer, when there is one
	byName   map[string]*issuer // issuers by "iss", when there are several
	parser   *jwt.Parser
	leeway   time.Duration
	typ      string
	mapFn    PrincipalFunc // nil: the default mapping (fillPrincipal)
	tenant   string        // Config.TenantClaim, for the default mapping
	deny     Denylist
	cache    *tokenCache // nil when disabled
	now      func() time.Time
	maxLen   int
	excluded []string
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// New returns an authenticator for tokens of the given issuers. At least one
// issuer is required; with several, each needs a distinct Issuer name.
func New(cfg Config, issuers ...Issuer) (*Authenticator, error) {
	if len(issuers) == 0 {
		return nil, errors.New("jwtauth: at least one issuer is required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		leeway:   cfg.Leeway,
		typ:      cfg.Type,
		mapFn:    cfg.Principal,
		tenant:   cfg.TenantClaim,
		deny:     cfg.Denylist,
		now:      cfg.Now,
		maxLen:   cfg.MaxTokenLength,
		excluded: cfg.ExcludePrefixes,
	}
	var methods []string
	many := len(issuers) > 1
	for i, in := range issuers {
		is, err := compileIssuer(in, many)
		if err != nil {
			return nil, fmt.Errorf("%w (issuer %d)", err, i)
		}
		if many {
			if a.byName == nil {
				a.byName = make(map[string]*issuer, len(issuers))
			}
			if _, dup := a.byName[is.name]; dup {
				return nil, fmt.Errorf("jwtauth: issuer %d repeats an Issuer name", i)
			}
			a.byName[is.name] = is
		} else {
			a.single = is
		}
		for _, m := range is.algs {
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
	}
	// Claims are validated after the signature, per issuer: the parser
	// checks only the algorithm list, the framing and the signature.
	a.parser = jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	if cfg.CacheSize > 0 {
		if a.cache, err = newTokenCache(cfg.CacheSize); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Accepts reports whether c is a Bearer credential shaped as a JWS compact
// token: at most MaxTokenLength bytes with exactly two dots, and no
// excluded prefix. It does not decode anything.
func (a *Authenticator) Accepts(c gatehouse.Credential) bool {
	if c.Scheme != gatehouse.SchemeBearer || len(c.Value) > a.maxLen || compactDots(c.Value) < 0 {
		return false
	}
	for _, p := range a.excluded {
		if strings.HasPrefix(c.Value, p) {
			return false
		}
	}
	return true
}

// compactDots returns the index of the last dot of s when s has exactly
// two dots, and -1 otherwise. Each of its three scans stops at a dot, so a
// string of dots costs no more than a short one.
func compactDots(s string) int {
	i := strings.IndexByte(s, '.')
	j := strings.LastIndexByte(s, '.')
	if i < 0 || i == j || strings.IndexByte(s[i+1:j], '.') >= 0 {
		return -1
	}
	return j
}

// StrictSyntax marks a as refusing every credential that is not a token68
// by itself ([github.com/gatehouse-go/gatehouse/middleware.StrictSyntax]):
// a verified token holds only base64url characters and dots, and a cache
// hit is byte for byte a token verified before. The middleware then skips
// its own pass over the token's bytes on accepted requests.
func (a *Authenticator) StrictSyntax() {}

// Authenticate implements [gatehouse.Authenticator]: it verifies c.Value
// with [Authenticator.Verify].
func (a *Authenticator) Authenticate(ctx context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	return a.Verify(ctx, c.Value)
}

// Verify verifies a token string and returns its principal, shared and
// read-only. It is the whole check, usable without HTTP: a worker calls it
// on a token taken from a message. Pass the token exactly: surrounding
// whitespace, or a CR or LF anywhere in it (which golang-jwt's base64
// decoding would skip), makes it malformed.
//
// A token seen before is answered from the cache while it is unexpired,
// its key is still valid and the denylist does not refuse it. Refusals wrap
// [gatehouse.ErrInvalidToken] with a reason and a fixed detail; a key
// source that cannot answer gives an error wrapping
// [gatehouse.ErrUnavailable].
func (a *Authenticator) Verify(ctx context.Context, token string) (*gatehouse.Principal, error) {
	if len(token) > a.maxLen {
		return nil, errTooLong
	}
	dot := compactDots(token)
	if dot < 0 {
		return nil, errMalformed
	}
	now := a.now()
	if a.cache == nil {
		e, err := a.verify(ctx, token, now)
		if err != nil {
			return nil, err
		}
		if err := a.denied(ctx, &e.ref); err != nil {
			return nil, err
		}
		return e.p, nil
	}
	// The cache is keyed by the SHA-256 of the signature, the one part of
	// a token that cannot be made up, and an entry answers only for the
	// very token it was verified from: its signing input (header and
	// payload) must be equal too. Hashing the signature alone keeps a hit
	// cheap; keeping the signing input, never the signature, keeps bearer
	// credentials out of the cache's memory.
	input, d := token[:dot], digest(token[dot+1:])
	if e, ok := a.cache.get(d); ok && e.input == input {
		if ns := now.UnixNano(); ns < e.exp && e.key.usableAt(ns) {
			if err := a.denied(ctx, &e.ref); err != nil {
				return nil, err
			}
			return e.p, nil
		}
		// Expired, or its key was revoked or is due for a new look: verify
		// the token again, which refuses it or renews the entry.
		a.cache.remove(d)
	}
	e, err := a.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if err := a.denied(ctx, &e.ref); err != nil {
		return nil, err
	}
	e.input = strings.Clone(input)
	a.cache.add(d, e)
	return e.p, nil
}

func (a *Authenticator) denied(ctx context.Context, ref *TokenRef) error {
	if a.deny == nil {
		return nil
	}
	switch no, err := a.deny.Denied(ctx, *ref); {
	case err != nil:
		return gatehouse.Unavailable(fmt.Errorf("jwtauth: denylist: %w", err))
	case no:
		return errRevoked
	}
	return nil
}

// verification is the state of one token's verification, shared with
// golang-jwt's key function.
type verification struct {
	a      *Authenticator
	ctx    context.Context
	now    time.Time // the verification's one clock reading
	iss    *issuer
	key    *Key
	looked bool // the key function ran: the algorithm was on the list
}

// keyfunc picks the issuer (by "iss" when there are several, before any
// key lookup), checks the algorithm against the issuer's list, looks the
// kid up in the issuer's key source and binds the key to its algorithm.
// The jku, x5u and jwk headers are never read.
func (v *verification) keyfunc(t *jwt.Token) (any, error) {
	v.looked = true
	if _, present := t.Header["crit"]; present {
		// RFC 7515 section 4.1.11: a token that relies on header
		// extensions the verifier does not understand must be refused,
		// and Gatehouse understands none.
		return nil, &keyfuncError{errMalformed}
	}
	claims, _ := t.Claims.(jwt.MapClaims)
	iss := v.a.single
	if iss == nil {
		name, _ := claims["iss"].(string)
		if iss = v.a.byName[name]; iss == nil {
			return nil, &keyfuncError{errBadIssuer}
		}
	} else if iss.name != "" {
		if name, _ := claims["iss"].(string); name != iss.name {
			return nil, &keyfuncError{errBadIssuer}
		}
	}
	v.iss = iss
	alg := t.Method.Alg()
	if !slices.Contains(iss.algs, alg) {
		return nil, &keyfuncError{errAlgorithm}
	}
	var kid string
	if h, present := t.Header["kid"]; present {
		s, ok := h.(string)
		if !ok || s == "" {
			return nil, &keyfuncError{errMalformed}
		}
		if len(s) > MaxKeyIDLength {
			return nil, &keyfuncError{errUnknownKey}
		}
		kid = s
	}
	key, err := iss.keys.Key(v.ctx, kid)
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, &keyfuncError{errUnknownKey}
	case err != nil:
		var ge *gatehouse.Error
		if errors.As(err, &ge) && ge != nil {
			return nil, &keyfuncError{err}
		}
		return nil, &keyfuncError{gatehouse.Unavailable(err)}
	case key == nil || key.Revoked():
		return nil, &keyfuncError{errUnknownKey}
	case key.alg != alg:
		// An HS256 token naming an RSA key, or any other confusion.
		return nil, &keyfuncError{errAlgorithm}
	case key.expiredAt(v.now):
		return nil, &keyfuncError{errKeyExpired}
	}
	v.key = key
	return key.material, nil
}

// verify does the full verification of a token not answered by the cache.
func (a *Authenticator) verify(ctx context.Context, token string, now time.Time) (*entry, error) {
	// golang-jwt decodes every segment as strict base64url, which skips CR
	// and LF: they are the only bytes besides base64url and "." that a
	// token it accepts may hold. Refusing them here makes every accepted
	// token a token68 (see StrictSyntax).
	if strings.IndexByte(token, '\r') >= 0 || strings.IndexByte(token, '\n') >= 0 {
		return nil, errMalformed
	}
	// Header and claims must be UTF-8 JSON that encoding/json reads as it
	// is (see textOK), checked before any key is looked up.
	if !textOK(token) {
		return nil, errMalformed
	}
	// One allocation holds the verification's state, the principal of the
	// default mapping and the cache entry.
	e := &entry{v: verification{a: a, ctx: ctx, now: now}}
	v := &e.v
	t, err := a.parser.ParseWithClaims(token, jwt.MapClaims{}, v.keyfunc)
	if err != nil {
		var kf *keyfuncError
		if errors.As(err, &kf) {
			return nil, kf.err
		}
		return nil, parseError(err, v.looked)
	}
	claims := t.Claims.(jwt.MapClaims)
	if a.typ != "" && !typeOK(t.Header["typ"], a.typ) {
		return nil, errBadType
	}
	exp, err := validateTimes(claims, now, a.leeway)
	if err != nil {
		return nil, err
	}
	// aud must be a string or an array of strings whether or not the
	// issuer checks it.
	switch ok, malformed := audienceOK(claims["aud"], v.iss.aud); {
	case malformed:
		return nil, errBadClaims
	case !ok && len(v.iss.aud) > 0:
		return nil, errBadAudience
	}
	if v.iss.maxLife > 0 && exp.Sub(now) > v.iss.maxLife+a.leeway {
		return nil, errTooLongLived
	}
	sub, _ := claims["sub"].(string)
	if reg := v.key.reg; reg != nil && sub != reg.OwnerID {
		// A registered key speaks only for its owner.
		return nil, errBadClaims
	}
	p, err := a.principal(claims, v.key, &e.pv)
	if err != nil {
		return nil, err
	}
	iss, _ := claims["iss"].(string)
	jti, _ := claims["jti"].(string)
	iat := claimTime(claims, "iat")
	e.p, e.exp, e.key = p, exp.UnixNano(), v.key
	e.ref = TokenRef{Issuer: iss, Subject: sub, ID: jti, IssuedAt: iat, ExpiresAt: exp}
	e.v = verification{} // the entry may be cached: keep no request context
	return e, nil
}

// principal runs the mapping and enforces what it may not change. The
// default mapping fills dst.
func (a *Authenticator) principal(claims map[string]any, key *Key, dst *gatehouse.Principal) (p *gatehouse.Principal, err error) {
	if a.mapFn == nil {
		if err := fillPrincipal(dst, claims, key, a.tenant); err != nil {
			return nil, err
		}
		if key.reg != nil {
			return bindRegistration(dst, key), nil
		}
		return dst, nil
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, gatehouse.Unavailable(fmt.Errorf("jwtauth: principal mapping panicked: %v", r))
		}
	}()
	p, err = a.mapFn(claims, key)
	if err != nil {
		var ge *gatehouse.Error
		if errors.As(err, &ge) && ge != nil {
			return nil, err
		}
		e := *errBadClaims
		e.Cause = err
		return nil, &e
	}
	if p == nil {
		return nil, gatehouse.Unavailable(errors.New("jwtauth: principal mapping returned nil"))
	}
	if key.reg != nil {
		p = bindRegistration(p, key)
	}
	return p, nil
}

// parseError maps an error of golang-jwt's parser to a refusal. looked
// tells whether the key function ran, that is whether the algorithm was on
// the list: after it, a signature error is a bad signature.
func parseError(err error, looked bool) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && looked:
		return errBadSignature
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		// An algorithm off the list, "none" in any case, or a name
		// golang-jwt does not know.
		return errAlgorithm
	}
	return errMalformed
}

// Len returns the number of tokens in the verified-token cache.
func (a *Authenticator) Len() int {
	if a.cache == nil {
		return 0
	}
	return a.cache.len()
}

// Forget empties the verified-token cache, for example after a denylist
// feed reconnects. Tokens are verified again on their next use.
func (a *Authenticator) Forget() {
	if a.cache != nil {
		a.cache.purge()
	}
}
