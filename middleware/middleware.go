package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// ErrorHandler writes the response for a refused request. err wraps one of
// the gatehouse sentinel errors; use errors.Is and errors.As on it. An
// ErrorHandler must never write err.Error() to the client.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// ErrUnsupportedScheme is the cause of the refusal of a header credential
// that no authenticator accepts, in a scheme other than Bearer and the
// schemes of [Challenger]s: an authentication method the service does not
// support. The refusal wraps [gatehouse.ErrNoCredentials] too, and the
// default error handler answers it as it answers a request without
// credentials (RFC 6750 section 3.1): 401, code "unauthenticated", the
// challenges without an error code, and a detail naming the schemes
// accepted. [Middleware.Optional] still refuses it: the client sent a
// credential, and it was not used.
var ErrUnsupportedScheme = errors.New("middleware: unsupported authorization scheme")

// Config holds the optional settings of a [Middleware]. The zero value is
// usable.
type Config struct {
	// Realm is the realm of WWW-Authenticate challenges. It may hold only
	// visible ASCII and spaces, without '"' or '\'. Default "api".
	Realm string
	// ErrorHandler writes refusals. Default: a [ProblemWriter] for Realm.
	ErrorHandler ErrorHandler
	// Matcher matches granted scopes against the ones RequireScopes and
	// RequireAnyScope ask for. Default [scopes.Plain] (exact and wildcard
	// matches, no implications).
	Matcher *scopes.Matcher
	// CrossOrigin checks requests with unsafe methods that are
	// authenticated by a cookie (requests authenticated by a header are
	// not subject to it). Default: a new http.CrossOriginProtection, which
	// allows same-origin requests and requests without Origin or
	// Sec-Fetch-Site (non-browser clients).
	CrossOrigin *http.CrossOriginProtection
	// Observer, when set, is told of every decision. Default none.
	Observer Observer
	// KeyHeaders names request headers, such as "X-API-Key", that may
	// carry an API key (the bare key, no scheme) instead of the
	// Authorization header. A credential in two places (Authorization and a
	// key header, or two key headers, or one twice) is a 400
	// invalid_request; a session cookie beside one is not a conflict (the
	// header wins). The value is handed to the authenticators as a Bearer
	// credential. Names are case-insensitive; Authorization and Cookie are
	// refused. Default none.
	KeyHeaders []string
	// ResourceMetadata, when set, is the URL of the protected resource's
	// metadata (RFC 9728; see [NewResourceMetadata]), given in every Bearer
	// challenge as resource_metadata="...", so that a client can find the
	// authorization servers and scopes. It is checked as in
	// [ProblemConfig] (https, or http only on a loopback host). Default none. With a custom ErrorHandler,
	// pass it in that handler's [ProblemConfig] instead.
	ResourceMetadata string
	// After, when set, wraps every handler passed to Handler and
	// Optional, so that it runs after authentication, with the principal
	// in the context, on every route this Middleware guards: a per-key
	// rate limit, say. It is applied once, when the handler is built.
	// Default none.
	After func(http.Handler) http.Handler
	// ClientAddr returns the client's address, which must be in a
	// credential's allowed networks ([gatehouse.Principal.AllowedNetworks])
	// when it has any: a request from elsewhere, or whose address is not
	// known, is refused with 403 (reason network_not_allowed, detail
	// [DetailNetwork]) by [Middleware.Check], before any handler runs.
	// Behind reverse proxies pass the Addr method of a ratelimit.ClientIP
	// that trusts them, the address the rate limits use. It must not
	// allocate, to keep cached keys free of allocations. Default: the
	// connection's peer (RemoteAddr), no header believed.
	ClientAddr func(*http.Request) (netip.Addr, bool)
	// Credits spends the usage credits of credentials that have them
	// ([gatehouse.Principal.Credits]): one for each request served, after
	// authentication, After (a per-key rate limit) and the scope guard the
	// handler passed to Handler or Optional is wrapped in, so that a
	// request refused by any of them spends nothing. (A scope guard deeper
	// inside, behind a router, runs after the spending.) The count left is
	// sent in the [HeaderCreditsRemaining] header; a credential with none
	// left is refused with 429 credits_exhausted and Retry-After until its
	// refill. Default none: a credential with credits is refused with 503
	// (fail closed).
	Credits store.CreditSpender
	// CreditsTimeout bounds one call to Credits; a call that takes longer
	// fails the request with 503. Default [DefaultStoreTimeout].
	CreditsTimeout time.Duration
	// Now is the clock credits are spent on. Default time.Now.
	Now func() time.Time
}

// Observer receives authentication events. Implementations must be fast and
// safe for concurrent use; they run on the request path.
type Observer interface {
	// Authenticated is called with the principal of an accepted request.
	Authenticated(r *http.Request, p *gatehouse.Principal)
	// Refused is called with the error of a refused request before the
	// error handler runs.
	Refused(r *http.Request, err error)
}

// Middleware authenticates requests. Build one with [New]; it is immutable
// and safe for concurrent use.
type Middleware struct {
	auths      Authenticators
	cookies    []string
	onError    ErrorHandler
	matcher    *scopes.Matcher
	cop        *http.CrossOriginProtection
	observer   Observer
	after      func(http.Handler) http.Handler // Config.After
	keyHeaders []string                        // Config.KeyHeaders, canonical

	clientAddr     func(*http.Request) (netip.Addr, bool) // Config.ClientAddr
	credits        store.CreditSpender
	creditsTimeout time.Duration
	now            func() time.Time
}

// CookieAuthenticator is implemented by authenticators that read a cookie
// (sessions). The middleware looks for that cookie when a request has no
// Authorization header.
type CookieAuthenticator interface {
	gatehouse.Authenticator
	CookieName() string
}

// Challenger is implemented by authenticators of a scheme other than Bearer
// (Basic), so that 401 responses also offer their challenge.
type Challenger interface {
	gatehouse.Authenticator
	// Challenge returns the scheme's challenge for realm, for example
	// `Basic realm="api", charset="UTF-8"`. It must hold only safe
	// characters.
	Challenge(realm string) string
}

// StrictSyntax is implemented by authenticators that accept a header
// credential only in an exact shape of their own whose every byte is a
// token68 character (RFC 9110 section 11.4): an API key with its checksum,
// for one. Every header credential must be a token68; for such an
// authenticator the middleware checks this only when it refuses the
// credential, so that the accepted requests, the frequent ones, skip a pass
// over the bytes. The refusal is then the same as for any other
// authenticator. Accepts of a StrictSyntax authenticator may see a
// credential holding any bytes; Authenticate must refuse it.
//
// Go promotes the marker through embedding: a type that embeds a
// StrictSyntax authenticator and changes what Accepts or Authenticate
// lets through inherits the promise without keeping it. Wrap such an
// authenticator in a field instead of embedding it.
type StrictSyntax interface {
	gatehouse.Authenticator
	// StrictSyntax is a marker; it is never called.
	StrictSyntax()
}

// New returns a middleware that tries auths in order. At least one
// authenticator is required.
func New(cfg Config, auths ...gatehouse.Authenticator) (*Middleware, error) {
	if len(auths) == 0 {
		return nil, errors.New("middleware: at least one authenticator is required")
	}
	m := &Middleware{
		onError:  cfg.ErrorHandler,
		matcher:  cfg.Matcher,
		cop:      cfg.CrossOrigin,
		observer: cfg.Observer,
		after:    cfg.After,

		clientAddr:     cfg.ClientAddr,
		credits:        cfg.Credits,
		creditsTimeout: cfg.CreditsTimeout,
		now:            cfg.Now,
	}
	if m.clientAddr == nil {
		m.clientAddr = remoteAddr
	}
	if m.creditsTimeout <= 0 {
		m.creditsTimeout = DefaultStoreTimeout
	}
	if m.now == nil {
		m.now = time.Now
	}
	for i, a := range auths {
		if a == nil {
			return nil, fmt.Errorf("middleware: authenticator %d is nil", i)
		}
		if c, ok := a.(CookieAuthenticator); ok {
			name := c.CookieName()
			if !validCookieName(name) {
				return nil, fmt.Errorf("middleware: authenticator %d has an invalid cookie name", i)
			}
			m.cookies = append(m.cookies, name)
		}
	}
	realm := cfg.Realm
	if realm == "" {
		realm = "api"
	}
	var extra, schemes []string
	for _, a := range auths {
		if c, ok := a.(Challenger); ok {
			ch := c.Challenge(realm)
			extra = append(extra, ch)
			scheme, _, _ := strings.Cut(ch, " ")
			if isToken(scheme) && !strings.EqualFold(scheme, gatehouse.SchemeBearer) && !slices.ContainsFunc(schemes,
				func(s string) bool { return strings.EqualFold(s, scheme) }) {
				schemes = append(schemes, scheme)
			}
		}
	}
	m.auths = NewAuthenticators(&gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonUnsupported,
		Detail: unsupportedDetail(schemes), Cause: ErrUnsupportedScheme}, schemes, auths...)
	for _, h := range cfg.KeyHeaders {
		name := http.CanonicalHeaderKey(h)
		if name == "" || !isToken(name) || name == "Authorization" || name == "Cookie" || slices.Contains(m.keyHeaders, name) {
			return nil, fmt.Errorf("middleware: key header %q is not a header name, is Authorization or Cookie, or is named twice", h)
		}
		m.keyHeaders = append(m.keyHeaders, name)
	}
	if m.onError == nil {
		pw, err := NewProblemWriter(ProblemConfig{Realm: cfg.Realm, ExtraChallenges: extra, ResourceMetadata: cfg.ResourceMetadata})
		if err != nil {
			return nil, err
		}
		m.onError = pw.WriteError
	} else if cfg.Realm != "" && !safeHeaderText(cfg.Realm) {
		return nil, errors.New("middleware: realm holds characters not allowed in a header")
	} else if cfg.ResourceMetadata != "" {
		return nil, errors.New("middleware: ResourceMetadata goes in the custom ErrorHandler's ProblemConfig")
	}
	if m.matcher == nil {
		m.matcher = scopes.Plain
	}
	if m.cop == nil {
		m.cop = http.NewCrossOriginProtection()
	}
	return m, nil
}

// Check authenticates r without serving it: it returns the principal, or an
// error wrapping a gatehouse sentinel. It is the pure half of
// [Middleware.Handler].
func (m *Middleware) Check(r *http.Request) (*gatehouse.Principal, error) {
	c, err := m.extract(r)
	if err != nil {
		return nil, err
	}
	if c.Source == gatehouse.SourceCookie && !safeMethod(r.Method) {
		if err := m.cop.Check(r); err != nil {
			return nil, errCrossOrigin
		}
	}
	p, err := m.auths.Authenticate(r.Context(), c)
	if err == nil && len(p.AllowedNetworks) > 0 {
		if err := m.checkNetwork(r, p); err != nil {
			return nil, err
		}
	}
	return p, err
}

// Authenticators tries authenticators in order, as the middleware does:
// it is the part of [Middleware] that the gRPC interceptor (grpcauth)
// shares. Build one with [NewAuthenticators]; it is immutable and safe for
// concurrent use.
type Authenticators struct {
	auths  []gatehouse.Authenticator
	strict []bool // auths[i] implements StrictSyntax
	// schemes are the Authorization schemes offered besides Bearer, and
	// unsupported the refusal of any other scheme that no authenticator
	// accepts.
	schemes     []string
	unsupported *gatehouse.Error
}

// NewAuthenticators returns the authenticators auths, tried in order.
// They must not be nil. schemes are the header schemes offered besides
// Bearer; unsupported is the refusal of a header credential of any other
// scheme that no authenticator accepts.
func NewAuthenticators(unsupported *gatehouse.Error, schemes []string, auths ...gatehouse.Authenticator) Authenticators {
	as := Authenticators{
		auths:       append([]gatehouse.Authenticator(nil), auths...),
		strict:      make([]bool, len(auths)),
		schemes:     schemes,
		unsupported: unsupported,
	}
	for i, a := range auths {
		_, as.strict[i] = a.(StrictSyntax)
	}
	return as
}

// Authenticate hands c to the first authenticator that accepts it and
// returns its answer. A header credential (c.Source is
// [gatehouse.SourceHeader]) must be a token68 (see [StrictSyntax]); the
// check is made here, where it is needed, so c may come from
// ParseAuthorization or from a parse that skips it. An authenticator that
// panics, or returns neither a principal nor an error, fails closed: the
// error is [gatehouse.ErrUnavailable]; so is a panic in Accepts. No
// authenticator taking c is refused as unsupported, or as not accepted
// when its scheme is offered.
func (as *Authenticators) Authenticate(ctx context.Context, c gatehouse.Credential) (p *gatehouse.Principal, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, gatehouse.Unavailable(fmt.Errorf("middleware: authenticator panicked: %v", v))
		}
	}()
	// A header credential must be a token68. The check is made before the
	// first authenticator that does not refuse other bytes by itself sees
	// the credential; a StrictSyntax authenticator's refusal is explained
	// by it after the fact, so that every bad credential gets the same
	// answer whichever authenticator claimed it.
	checked := c.Source != gatehouse.SourceHeader
	for i, a := range as.auths {
		if !checked && !as.strict[i] {
			if !isToken68(c.Value) {
				return nil, errBadChars
			}
			checked = true
		}
		if a.Accepts(c) {
			p, err = a.Authenticate(ctx, c)
			if err == nil && p == nil {
				return nil, errNoPrincipal
			}
			if err != nil && !checked && !isToken68(c.Value) {
				return nil, errBadChars
			}
			return p, err
		}
	}
	if c.Source == gatehouse.SourceHeader && !as.offers(c.Scheme) {
		// Nobody took it, and the challenges do not offer its scheme: an
		// unsupported authentication method, whatever its bytes.
		return nil, as.unsupported
	}
	if !checked && !isToken68(c.Value) {
		return nil, errBadChars
	}
	return nil, errNotAccepted
}

// offers reports whether scheme is Bearer or the scheme of a Challenger.
func (as *Authenticators) offers(scheme string) bool {
	if scheme == gatehouse.SchemeBearer {
		return true
	}
	for _, s := range as.schemes {
		if strings.EqualFold(s, scheme) {
			return true
		}
	}
	return false
}

// unsupportedDetail is the detail of the unsupported-scheme refusal:
// Bearer, then the other schemes offered.
func unsupportedDetail(schemes []string) string {
	d := "The Authorization scheme is not supported: use " + gatehouse.SchemeBearer
	for i, s := range schemes {
		if i == len(schemes)-1 {
			d += " or " + s
		} else {
			d += ", " + s
		}
	}
	return d
}

// errNoPrincipal refuses the request of an authenticator that returned no
// principal and no error: a broken authenticator fails closed.
var errNoPrincipal = gatehouse.Unavailable(errors.New("middleware: authenticator returned no principal and no error"))

// Handler requires every request to be authenticated and serves next with
// the principal in the request context ([gatehouse.FromContext]).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return m.handler(next, false)
}

// Optional serves requests without any credential as they are (no principal
// in the context) and authenticates the others as [Middleware.Handler]
// does: a bad credential is still refused.
func (m *Middleware) Optional(next http.Handler) http.Handler {
	return m.handler(next, true)
}

func (m *Middleware) handler(next http.Handler, optional bool) http.Handler {
	// Credits are spent last, right before the application's handler: by
	// a scope guard of this middleware wrapped directly, after its check;
	// else by the spender layer, inside After if any.
	if g, ok := next.(*guard); ok && g.m == m && !g.spend {
		c := *g
		c.spend = true
		next = &c
	} else {
		next = spender{m: m, next: next}
	}
	if m.after != nil {
		next = m.after(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2, _, err := m.authenticateRequest(r, optional)
		if err != nil {
			m.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r2)
	})
}

// Error writes err through the middleware's error handler, for handlers
// that refuse a request themselves.
func (m *Middleware) Error(w http.ResponseWriter, r *http.Request, err error) {
	m.refuse(w, r, err)
}

func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if m.observer != nil {
		m.observer.Refused(r, err)
	}
	m.onError(w, r, err)
}

func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
