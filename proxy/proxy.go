// Package proxy puts Gatehouse in front of an existing HTTP service: it
// authenticates each request with a [middleware.Middleware], checks the
// scopes its route needs, and passes it to the upstream through
// net/http/httputil.ReverseProxy with the principal in headers that only
// the proxy sets.
//
//	routes, _ := proxy.LoadRoutes("routes.json")
//	h, err := proxy.New(m, upstreamURL, proxy.Config{Routes: routes})
//	http.ListenAndServe(":8080", h)
//
// The upstream receives, on every request it gets:
//
//	X-Gatehouse-Principal  the principal's ID
//	X-Gatehouse-Kind       api_key, jwt or session
//	X-Gatehouse-Tenant     the tenant, when there is one
//	X-Gatehouse-Scopes     the granted scopes, space-separated
//	X-Gatehouse-Key-Id     the record ID of the key or session, when known
//
// Any header of the client's whose name starts with X-Gatehouse- is
// removed first, so that a client cannot pose as another principal; the
// upstream may trust these headers as long as only the proxy can reach
// it. The credential itself (the Authorization header and the session
// cookies) is removed too, unless Config.PassCredential is set.
//
// Routes map path prefixes, optionally per method, to the scopes they
// need; the longest matching prefix wins. A public route skips
// authentication (its requests still lose any X-Gatehouse- header the
// client sent). A path no route matches needs an authenticated principal
// and no particular scope.
//
// A [Verifier] gives the same decisions to a reverse proxy that forwards
// the requests itself (nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth, Envoy's HTTP ext_authz): it answers 200 with these
// headers, for the proxy to copy onto the request it forwards, or the
// refusal, for the proxy to pass to the client.
//
//	v, err := proxy.NewVerifier(m, proxy.VerifyConfig{Routes: routes, TrustedProxies: []string{"10.0.0.5"}})
//	mux.Handle(v.Path(), v)
//	mux.Handle(v.Path()+"/", v)
package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
)

// HeaderPrefix starts the name of every header the proxy sets upstream.
const HeaderPrefix = "X-Gatehouse-"

// The headers set upstream.
const (
	HeaderPrincipal = HeaderPrefix + "Principal"
	HeaderKind      = HeaderPrefix + "Kind"
	HeaderTenant    = HeaderPrefix + "Tenant"
	HeaderScopes    = HeaderPrefix + "Scopes"
	HeaderKeyID     = HeaderPrefix + "Key-Id"
)

// Route is one rule of the route table.
type Route struct {
	// Prefix is a path prefix, starting with "/". "/api/" matches
	// "/api/x"; "/api" matches "/api" and "/api/x" but not "/apix".
	Prefix string `json:"prefix"`
	// Methods limits the rule to these methods; empty means any.
	Methods []string `json:"methods,omitempty"`
	// Scopes are required, all of them (or any of them with AnyScope).
	Scopes   []string `json:"scopes,omitempty"`
	AnyScope bool     `json:"any_scope,omitempty"`
	// Public serves the route without authentication.
	Public bool `json:"public,omitempty"`
}

// Config holds the proxy's settings.
type Config struct {
	// Routes is the route table. Default none: every path needs an
	// authenticated principal, and no scope.
	Routes []Route
	// PassCredential keeps the Authorization header and the session
	// cookies on the request sent upstream. Default false: they are
	// removed, so the upstream never sees a credential it has no use for.
	PassCredential bool
	// Transport sends requests upstream. Default http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives upstream errors. Default slog.Default().
	Logger *slog.Logger
}

type compiled struct {
	prefix  string
	methods []string
	req     *scopes.Requirement
	public  bool
	h       http.Handler // the chain that serves the route, built once
}

type proxy struct {
	m       *middleware.Middleware
	routes  table
	cookies []string
	pass    bool
	rp      *httputil.ReverseProxy
	authed  http.Handler // paths no route matches: authentication only
}

// New returns a handler that authenticates requests with m, checks their
// route's scopes and passes them to upstream.
func New(m *middleware.Middleware, upstream *url.URL, cfg Config) (http.Handler, error) {
	if m == nil {
		return nil, errors.New("proxy: a middleware is required")
	}
	if upstream == nil || (upstream.Scheme != "http" && upstream.Scheme != "https") || upstream.Host == "" {
		return nil, errors.New("proxy: the upstream must be an http(s) URL with a host")
	}
	routes, err := compileRoutes(m, cfg.Routes)
	if err != nil {
		return nil, err
	}
	p := &proxy{m: m, routes: routes, cookies: m.CookieNames(), pass: cfg.PassCredential}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			p.setHeaders(pr.Out)
		},
		Transport: cfg.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.LogAttrs(r.Context(), slog.LevelError, "gatehouse.proxy.upstream_error",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			middleware.WriteProblem(w, middleware.Problem{
				Status: http.StatusBadGateway, Code: "bad_gateway",
				Detail: "The upstream service did not answer; try again later",
			})
		},
	}
	p.authed = p.routes.build(m, p.rp)
	return p, nil
}

// table is a compiled route table, longest prefix first.
type table []compiled

// compileRoutes compiles and orders routes.
func compileRoutes(m *middleware.Middleware, routes []Route) (table, error) {
	var t table
	for i, r := range routes {
		c, err := compile(m, r)
		if err != nil {
			return nil, fmt.Errorf("proxy: route %d (%q): %w", i, r.Prefix, err)
		}
		t = append(t, c)
	}
	// Longest prefix first; among equal prefixes, method-specific rules
	// before catch-alls; otherwise keep the file's order.
	slices.SortStableFunc(t, func(a, b compiled) int {
		if len(a.prefix) != len(b.prefix) {
			return len(b.prefix) - len(a.prefix)
		}
		return len(b.methods) - len(a.methods)
	})
	return t, nil
}

// build gives each route the chain that serves it with next (next alone
// for a public route) and returns the chain for paths no route matches:
// authentication only.
func (t table) build(m *middleware.Middleware, next http.Handler) http.Handler {
	authed := m.Handler(next)
	for i := range t {
		c := &t[i]
		switch {
		case c.public:
			c.h = next
		case c.req != nil:
			c.h = m.Handler(m.Require(c.req)(next))
		default:
			c.h = authed
		}
	}
	return authed
}

func compile(m *middleware.Middleware, r Route) (compiled, error) {
	if !strings.HasPrefix(r.Prefix, "/") {
		return compiled{}, errors.New("prefix must start with /")
	}
	c := compiled{prefix: r.Prefix, public: r.Public}
	for _, meth := range r.Methods {
		if meth == "" || strings.ToUpper(meth) != meth {
			return compiled{}, fmt.Errorf("method %q: use upper-case method names", meth)
		}
		c.methods = append(c.methods, meth)
	}
	if r.Public && len(r.Scopes) > 0 {
		return compiled{}, errors.New("a public route cannot require scopes")
	}
	if len(r.Scopes) > 0 {
		var err error
		if r.AnyScope {
			c.req, err = m.Matcher().AnyOf(r.Scopes...)
		} else {
			c.req, err = m.Matcher().AllOf(r.Scopes...)
		}
		if err != nil {
			return compiled{}, err
		}
	}
	return c, nil
}

// match returns the route for method and path, or nil.
func (t table) match(method, path string) *compiled {
	for i := range t {
		c := &t[i]
		if !strings.HasPrefix(path, c.prefix) {
			continue
		}
		if !strings.HasSuffix(c.prefix, "/") && len(path) > len(c.prefix) && path[len(c.prefix)] != '/' {
			continue // "/api" does not match "/apix"
		}
		if len(c.methods) > 0 && !slices.Contains(c.methods, method) {
			continue
		}
		return c
	}
	return nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Routes are matched on the path as the upstream will resolve it: a
	// path with "..", "." or "//" in it ("/public/../admin") could match a
	// public prefix here and name a guarded resource there, so it is
	// refused rather than matched.
	if !canonical(r.URL.Path) {
		refuseNonCanonical(w)
		return
	}
	if c := p.routes.match(r.Method, r.URL.Path); c != nil {
		c.h.ServeHTTP(w, r)
		return
	}
	p.authed.ServeHTTP(w, r)
}

// refuseNonCanonical answers a request whose path (or forwarded path) is
// not canonical.
func refuseNonCanonical(w http.ResponseWriter) {
	middleware.WriteProblem(w, middleware.Problem{
		Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest, Code: "invalid_request",
		Detail: "The request path is not in canonical form (no '.', '..' or empty segments)",
	})
}

// canonical reports whether path is what path.Clean makes of it, allowing
// a trailing slash.
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// setHeaders removes the client's X-Gatehouse- headers (and, unless
// configured otherwise, its credential) and sets the principal's.
func (p *proxy) setHeaders(out *http.Request) {
	for name := range out.Header {
		if len(name) >= len(HeaderPrefix) && strings.EqualFold(name[:len(HeaderPrefix)], HeaderPrefix) {
			delete(out.Header, name)
		}
	}
	if !p.pass {
		out.Header.Del("Authorization")
		p.stripCookies(out)
	}
	if pr, ok := gatehouse.FromContext(out.Context()); ok {
		setPrincipal(out.Header, pr)
	}
}

// setPrincipal sets the X-Gatehouse- headers of pr in h.
func setPrincipal(h http.Header, pr *gatehouse.Principal) {
	h.Set(HeaderPrincipal, pr.ID)
	h.Set(HeaderKind, string(pr.Kind))
	if pr.TenantID != "" {
		h.Set(HeaderTenant, pr.TenantID)
	}
	h.Set(HeaderScopes, strings.Join(pr.Scopes, " "))
	if pr.KeyID != "" {
		h.Set(HeaderKeyID, pr.KeyID)
	}
}

// stripCookies removes the session cookies from the Cookie header, keeping
// the application's other cookies.
func (p *proxy) stripCookies(out *http.Request) {
	lines := out.Header["Cookie"]
	if len(p.cookies) == 0 || len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if !slices.Contains(p.cookies, name) && strings.TrimSpace(part) != "" {
				kept = append(kept, strings.TrimSpace(part))
			}
		}
	}
	out.Header.Del("Cookie")
	if len(kept) > 0 {
		// The application's other cookies go on as the client wrote them.
		out.Header.Set("Cookie", strings.Join(kept, "; "))
	}
}

// LoadRoutes reads a route table from a JSON file: {"routes": [...]} with
// the members of [Route]. Unknown members are an error.
func LoadRoutes(path string) ([]Route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("proxy: routes: %w", err)
	}
	defer f.Close()
	var doc struct {
		Routes []Route `json:"routes"`
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("proxy: routes: %s: %w", path, err)
	}
	return doc.Routes, nil
}
