package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// DefaultVerifyPath is where a [Verifier] is mounted unless
// [VerifyConfig.Path] says otherwise.
const DefaultVerifyPath = "/api/auth/verify"

// The headers a trusted proxy names the request to decide on with.
const (
	HeaderForwardedMethod = "X-Forwarded-Method"
	HeaderForwardedURI    = "X-Forwarded-Uri"
	HeaderForwardedHost   = "X-Forwarded-Host"
)

// maxMethod bounds the length of a forwarded method.
const maxMethod = 32

// VerifyConfig holds the settings of a [Verifier].
type VerifyConfig struct {
	// Routes is the route table, the same as the proxy's
	// ([Config.Routes]). Default none: every request needs an
	// authenticated principal, and no scope.
	Routes []Route
	// TrustedProxies lists the addresses and CIDR prefixes ("10.0.0.0/8",
	// "::1") of the reverse proxies that may ask for decisions, in the
	// syntax of ratelimit.ClientIPConfig.TrustedProxies. Default none:
	// every request is refused, since nobody may name the request to
	// decide on.
	TrustedProxies []string
	// Path is the path the Verifier is mounted at. A request for Path
	// names the request to decide on in X-Forwarded-Method and
	// X-Forwarded-Uri (nginx, Traefik, Caddy); a request for Path followed
	// by a path ("/api/auth/verify/v1/items") names it with its own method
	// and the rest of its path (Envoy's ext_authz with path_prefix).
	// Default [DefaultVerifyPath].
	Path string
}

// Errors of [Verifier.Target]. The Verifier answers each with 400
// invalid_request: none is about the credential, and each means that the
// proxy in front is misconfigured or that someone else is calling.
var (
	// ErrUntrustedPeer: the connection does not come from one of
	// [VerifyConfig.TrustedProxies]. The forwarded headers are not read.
	ErrUntrustedPeer = errors.New("proxy: verify: the peer is not a trusted proxy")
	// ErrNoTarget: the request does not name the request to decide on:
	// X-Forwarded-Method or X-Forwarded-Uri is missing, repeated or
	// malformed (a method that is not a token, a URI that is not a path).
	ErrNoTarget = errors.New("proxy: verify: the forwarded request is missing or malformed")
	// ErrNonCanonicalPath: the path of the request to decide on has ".",
	// ".." or empty segments (after percent-decoding), which the route
	// table could match differently from the upstream.
	ErrNonCanonicalPath = errors.New("proxy: the path is not in canonical form")
)

// Target is the request a reverse proxy asks a [Verifier] about.
type Target struct {
	Method string // as sent by the client, e.g. "POST"
	Path   string // percent-decoded and canonical, e.g. "/v1/items"
	Host   string // X-Forwarded-Host when the proxy sent it, else empty
}

// Verifier is the forward-auth decision endpoint: a reverse proxy (nginx
// auth_request, Traefik ForwardAuth, Caddy forward_auth, Envoy's HTTP
// ext_authz) asks it, for each request it is about to pass on, whether
// the request's credential may reach the route it names. The answer is
// the proxy's ([New]) without the upstream: 200 with the principal's
// X-Gatehouse- headers and an empty body when the request may pass (200
// and no headers for a public route); otherwise the middleware's 401,
// 403, 429 or 503 with the challenge and problem+json; 400 when the
// request to decide on cannot be known ([Verifier.Target]).
//
// It authenticates with the middleware the proxy mode uses, so
// [middleware.Config.After] (a per-key limit, say) applies. The
// middleware sees a copy of the request with the forwarded method, path
// and host, so that its cross-origin check of cookie-authenticated unsafe
// methods judges the client's request, not the proxy's.
//
// A Verifier is immutable and safe for concurrent use.
type Verifier struct {
	routes  table
	authed  http.Handler
	trusted []netip.Prefix
	path    string
}

// NewVerifier returns a Verifier that authenticates with m.
func NewVerifier(m *middleware.Middleware, cfg VerifyConfig) (*Verifier, error) {
	if m == nil {
		return nil, errors.New("proxy: verify: a middleware is required")
	}
	v := &Verifier{path: cfg.Path}
	if v.path == "" {
		v.path = DefaultVerifyPath
	}
	if !strings.HasPrefix(v.path, "/") || strings.HasSuffix(v.path, "/") || !canonical(v.path) {
		return nil, errors.New("proxy: verify: the path must start with / and be canonical, without a trailing /")
	}
	var err error
	if v.trusted, err = ratelimit.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("proxy: verify: %w", err)
	}
	if v.routes, err = compileRoutes(m, cfg.Routes); err != nil {
		return nil, err
	}
	v.authed = v.routes.build(m, http.HandlerFunc(granted))
	return v, nil
}

// Path returns the path the Verifier answers at; it answers below it too
// (Path + "/...").
func (v *Verifier) Path() string { return v.path }

// Target returns the request r asks about. The forwarded headers are read
// only when r comes from a trusted proxy; from anyone else r is refused
// with [ErrUntrustedPeer] rather than answered for some default route:
// a proxy left out of the trusted list would otherwise get decisions for
// the wrong route, allowing a key through to a route whose scopes it
// lacks.
func (v *Verifier) Target(r *http.Request) (Target, error) {
	if !v.fromTrusted(r) {
		return Target{}, ErrUntrustedPeer
	}
	rest, ok := strings.CutPrefix(r.URL.Path, v.path)
	if ok && rest != "" {
		// Envoy: the client's method, and its path after the prefix.
		if rest[0] != '/' {
			return Target{}, ErrNoTarget
		}
		if !canonical(rest) {
			return Target{}, ErrNonCanonicalPath
		}
		return Target{Method: r.Method, Path: rest}, nil
	}
	if !ok {
		return Target{}, ErrNoTarget
	}
	method, ok1 := single(r.Header, HeaderForwardedMethod)
	uri, ok2 := single(r.Header, HeaderForwardedURI)
	if !ok1 || !ok2 || !validMethod(method) || !strings.HasPrefix(uri, "/") {
		return Target{}, ErrNoTarget
	}
	raw, _, _ := strings.Cut(uri, "?")
	p, err := url.PathUnescape(raw)
	if err != nil {
		return Target{}, ErrNoTarget
	}
	if !canonical(p) {
		return Target{}, ErrNonCanonicalPath
	}
	t := Target{Method: method, Path: p}
	if hs := r.Header[HeaderForwardedHost]; len(hs) > 0 {
		if t.Host, ok = single(r.Header, HeaderForwardedHost); !ok {
			return Target{}, ErrNoTarget
		}
	}
	return t, nil
}

func (v *Verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t, err := v.Target(r)
	if err != nil {
		refuseTarget(w, err)
		return
	}
	// The middleware judges the client's request: its method and host for
	// the cross-origin check, its path in the observer's log.
	fwd := *r
	fwd.Method = t.Method
	fwd.URL = &url.URL{Path: t.Path}
	if t.Host != "" {
		fwd.Host = t.Host
	}
	// Methods are case-sensitive, route methods upper-case: "post" is
	// matched as POST, so that a lower-case spelling cannot slip past a
	// method rule to a laxer catch-all.
	if c := v.routes.match(strings.ToUpper(t.Method), t.Path); c != nil {
		c.h.ServeHTTP(w, &fwd)
		return
	}
	v.authed.ServeHTTP(w, &fwd)
}

// granted answers a request that may pass: 200, the principal's headers
// (none on a public route), no body.
func granted(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if pr, ok := gatehouse.FromContext(r.Context()); ok {
		setPrincipal(h, pr)
	}
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func refuseTarget(w http.ResponseWriter, err error) {
	detail := "The reverse proxy did not name the request to verify: send X-Forwarded-Method and X-Forwarded-Uri (one each, a method and a path)"
	switch {
	case errors.Is(err, ErrNonCanonicalPath):
		refuseNonCanonical(w)
		return
	case errors.Is(err, ErrUntrustedPeer):
		detail = "Only a trusted reverse proxy may ask for a decision here"
	}
	middleware.WriteProblem(w, middleware.Problem{
		Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest, Code: "invalid_request", Detail: detail,
	})
}

// fromTrusted reports whether r's connection comes from a trusted proxy.
func (v *Verifier) fromTrusted(r *http.Request) bool {
	if len(v.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap().WithZone("")
	for _, p := range v.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// single returns the one value of header name, and false when there is
// none or more than one.
func single(h http.Header, name string) (string, bool) {
	vs := h[name]
	if len(vs) != 1 || vs[0] == "" {
		return "", false
	}
	return vs[0], true
}

// validMethod reports whether m is an RFC 9110 token of reasonable length.
func validMethod(m string) bool {
	if m == "" || len(m) > maxMethod {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
