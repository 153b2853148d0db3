package ratelimit

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-go/gatehouse"
)

// Key names whose units a request spends: a client address, a principal, an
// API key, a tenant, a route, an account at login. It is a small comparable
// value; building one does not allocate (unless [NewKey] digests a long
// value), and neither does the in-memory limiter's lookup of a key it has
// seen, so that a decision on a warm key allocates nothing.
//
// A Key has a scope, a short constant naming the kind of key ("ip",
// "principal", "account", ...), so that a principal and a tenant with the
// same ID never share a bucket. Keys hold IDs, never secrets: key a bucket
// by a key's record ID, never by the key itself.
type Key struct {
	scope string
	value string
	addr  netip.Addr
}

// Scopes of the keys built by this package.
const (
	ScopeIP        = "ip"
	ScopePrincipal = "principal"
	ScopeKeyID     = "key"
	ScopeTenant    = "tenant"
	ScopeRoute     = "route"
)

// MaxKeyValue is the longest key value kept as it is. [NewKey] replaces a
// longer value (an account name typed into a login form, say) by its
// SHA-256 digest, so that a bucket's memory does not grow with what a
// client sends.
const MaxKeyValue = 128

// NewKey returns the key value in scope. scope must not contain ':'; an
// empty value gives an invalid key (see [Key.Valid]), so that requests
// without an ID never share one bucket. A value longer than [MaxKeyValue]
// bytes is replaced by "sha256:" and the base64url digest of it.
func NewKey(scope, value string) Key {
	if len(value) > MaxKeyValue {
		sum := sha256.Sum256([]byte(value))
		value = "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return Key{scope: scope, value: value}
}

// AddrKey returns the key of a client address, in scope [ScopeIP]. Mask the
// address first when clients own whole prefixes ([ClientIP] does).
func AddrKey(a netip.Addr) Key { return Key{scope: ScopeIP, addr: a} }

// Scope returns the key's scope.
func (k Key) Scope() string { return k.scope }

// Value returns the key's value: the ID, or the address in text form.
func (k Key) Value() string {
	if k.addr.IsValid() {
		return k.addr.String()
	}
	return k.value
}

// Addr returns the address of a key built by [AddrKey].
func (k Key) Addr() (netip.Addr, bool) { return k.addr, k.addr.IsValid() }

// Valid reports whether k names a bucket: it has a non-empty value or a
// valid address, and its scope has no ':'.
func (k Key) Valid() bool {
	return (k.value != "" || k.addr.IsValid()) && strings.IndexByte(k.scope, ':') < 0
}

// String returns "scope:value", the form shared backends key on.
func (k Key) String() string { return k.scope + ":" + k.Value() }

// KeyFunc returns the key a request spends from. An error goes to the
// middleware's error handler as it is: wrap a gatehouse sentinel to choose
// the response (the built-in functions return a gatehouse.ErrNoCredentials
// refusal, 401, when there is no principal); any other error is answered
// 503. A KeyFunc runs on every request: it should not allocate.
type KeyFunc func(r *http.Request) (Key, error)

// errNoPrincipal is the refusal of the principal key functions when no
// principal is in the context: the rate limiter was put before the
// authentication middleware, or the route allows anonymous callers.
var errNoPrincipal = &gatehouse.Error{
	Err:    gatehouse.ErrNoCredentials,
	Reason: gatehouse.ReasonMissing,
	Detail: "Authentication required: send a credential in the Authorization header",
}

// ByPrincipal keys a request by the ID of its principal
// (gatehouse.FromContext), in scope [ScopePrincipal]. It refuses requests
// without one (401), so that it fails closed when put before the
// authentication middleware; use [FirstOf] to fall back to the client
// address on routes open to anonymous callers.
func ByPrincipal(r *http.Request) (Key, error) {
	p, ok := gatehouse.FromContext(r.Context())
	if !ok || p.ID == "" {
		return Key{}, errNoPrincipal
	}
	return Key{scope: ScopePrincipal, value: p.ID}, nil
}

// ByKeyID keys a request by the record ID of the credential that
// authenticated it (Principal.KeyID: the API key, session or registered
// JWT key), in scope [ScopeKeyID], so that each key has its own bucket. A
// principal without a key ID (a JWT) is keyed as [ByPrincipal] keys it.
func ByKeyID(r *http.Request) (Key, error) {
	p, ok := gatehouse.FromContext(r.Context())
	if !ok {
		return Key{}, errNoPrincipal
	}
	if p.KeyID != "" {
		return Key{scope: ScopeKeyID, value: p.KeyID}, nil
	}
	if p.ID == "" {
		return Key{}, errNoPrincipal
	}
	return Key{scope: ScopePrincipal, value: p.ID}, nil
}

// ByTenant keys a request by its principal's tenant, in scope
// [ScopeTenant], so that a tenant's principals share one bucket. A
// principal without a tenant is keyed as [ByPrincipal] keys it.
func ByTenant(r *http.Request) (Key, error) {
	p, ok := gatehouse.FromContext(r.Context())
	if !ok {
		return Key{}, errNoPrincipal
	}
	if p.TenantID != "" {
		return Key{scope: ScopeTenant, value: p.TenantID}, nil
	}
	if p.ID == "" {
		return Key{}, errNoPrincipal
	}
	return Key{scope: ScopePrincipal, value: p.ID}, nil
}

// errNoPattern is returned by ByRoute outside a ServeMux route.
var errNoPattern = &wrapped{"ratelimit: the request has no route pattern: use ByRoute on a handler registered in an http.ServeMux", ErrNoKey}

// ByRoute keys a request by the ServeMux pattern that matched it
// (http.Request.Pattern, such as "GET /search"), in scope [ScopeRoute]:
// every caller of the route shares one bucket. The middleware must run
// inside the route's handler (mux.Handle(pattern, m.Handler(h))), where the
// pattern is set; elsewhere ByRoute returns [ErrNoKey] and the request is
// refused with 503. To limit each caller per route, give the route its own
// middleware with its own policy name and key by principal or address.
func ByRoute(r *http.Request) (Key, error) {
	if r.Pattern == "" {
		return Key{}, errNoPattern
	}
	return Key{scope: ScopeRoute, value: r.Pattern}, nil
}

// ByRemoteAddr keys a request by the address of the connection's peer
// (http.Request.RemoteAddr), IPv6 addresses by their /64. It reads no
// header: use it when clients connect directly, and a [ClientIP] with the
// proxies' addresses behind a reverse proxy.
func ByRemoteAddr(r *http.Request) (Key, error) { return remoteOnly.Key(r) }

var remoteOnly = &ClientIP{v4bits: 32, v6bits: 64}

// FirstOf returns a KeyFunc that tries fns in order and returns the first
// key one of them gives. When all fail it returns the last error. For
// example FirstOf(ByKeyID, ip.Key) limits authenticated callers by key and
// anonymous ones by address.
func FirstOf(fns ...KeyFunc) KeyFunc {
	fns = append([]KeyFunc(nil), fns...)
	return func(r *http.Request) (Key, error) {
		err := error(errNoKey)
		for _, f := range fns {
			k, e := f(r)
			if e == nil {
				return k, nil
			}
			err = e
		}
		return Key{}, err
	}
}

var errNoKey = &wrapped{"ratelimit: no key function", ErrNoKey}

// wrapped is a fixed error wrapping a sentinel, shared so that refusing
// does not allocate.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
