package console

import (
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

// Config holds the optional settings of [New]. The zero value is usable.
type Config struct {
	// Prefix is the path the console is mounted under, without a trailing
	// slash. Default "/console".
	Prefix string
	// Roles are the roles offered when a key is created; they must be the
	// manager's. Default [scopes.DefaultRoles].
	Roles scopes.Roles
	// PageSize is the number of keys on a page of the list. Default 50,
	// at most 1000.
	PageSize int
	// CrossOrigin guards every state-changing request. Default a new
	// http.CrossOriginProtection.
	CrossOrigin *http.CrossOriginProtection
	// MaxBody caps form bodies, in bytes. Default 64 KiB.
	MaxBody int64
	// SignInTokens holds the single-use sign-in links ([IssueSignInLink]).
	// Default none: every link is refused.
	SignInTokens store.SignInTokenStore
	// Logger receives failures that the pages only summarize (a store that
	// is down) and the audit event of a sign-in with a link
	// (gatehouse.console.link_signin, with the user's ID). It never
	// receives a key, a password or a token. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the expiry badges, the expiry control's dates
	// and the credits shown. Default time.Now.
	Now func() time.Time
}

// Console serves the console's pages under its prefix. It is safe for
// concurrent use.
type Console struct {
	m        *admin.Manager
	login    *session.Handler
	prefix   string
	roles    []string // sorted names
	pageSize int
	cop      *http.CrossOriginProtection
	maxBody  int64
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	tokens   store.SignInTokenStore
	sent     *formLedger
	mux      *http.ServeMux
}

// New returns the console over the key manager m and the login handler
// login (whose session manager issues the console's cookie).
func New(m *admin.Manager, login *session.Handler, cfg Config) (*Console, error) {
	if m == nil || login == nil {
		return nil, errors.New("console: nil manager or login handler")
	}
	c := &Console{m: m, login: login, prefix: cfg.Prefix, pageSize: cfg.PageSize, cop: cfg.CrossOrigin,
		maxBody: cfg.MaxBody, tokens: cfg.SignInTokens, log: cfg.Logger, now: cfg.Now}
	if c.prefix == "" {
		c.prefix = "/console"
	}
	if !strings.HasPrefix(c.prefix, "/") || strings.HasSuffix(c.prefix, "/") || strings.ContainsAny(c.prefix, "{}? #") {
		return nil, errors.New("console: prefix must start with / and not end with /")
	}
	roles := cfg.Roles
	if roles == nil {
		roles = scopes.DefaultRoles()
	}
	if err := roles.Validate(); err != nil {
		return nil, err
	}
	for name := range roles {
		c.roles = append(c.roles, name)
	}
	slices.Sort(c.roles)
	switch {
	case c.pageSize < 0 || c.pageSize > 1000 || c.maxBody < 0:
		return nil, errors.New("console: PageSize must be 0 to 1000 and MaxBody not negative")
	case c.pageSize == 0:
		c.pageSize = 50
	}
	if c.maxBody == 0 {
		c.maxBody = 64 << 10
	}
	if c.cop == nil {
		c.cop = http.NewCrossOriginProtection()
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.sent = newFormLedger(formLedgerSize)
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	mux := http.NewServeMux()
	p := c.prefix
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", c.noListing(cacheFor(time.Hour, http.FileServerFS(static)))))
	mux.HandleFunc("GET "+p+"/{$}", c.home)
	mux.HandleFunc("GET "+p+"/sign-in", c.signInForm)
	mux.HandleFunc("POST "+p+"/sign-in", c.signIn)
	mux.HandleFunc("GET "+p+"/sign-in/link", c.linkForm)
	mux.HandleFunc("POST "+p+"/sign-in/link", c.useLink)
	mux.HandleFunc("POST "+p+"/sign-out", c.signOut)
	mux.HandleFunc("GET "+p+"/keys", c.authed(c.listKeys))
	mux.HandleFunc("GET "+p+"/keys/new", c.authed(c.newKeyForm))
	mux.HandleFunc("POST "+p+"/keys", c.authed(c.createKey))
	mux.HandleFunc("GET "+p+"/keys/{id}", c.authed(c.showKey))
	mux.HandleFunc("POST "+p+"/keys/{id}", c.authed(c.updateKey))
	mux.HandleFunc("POST "+p+"/keys/{id}/rotate", c.authed(c.rotateKey))
	mux.HandleFunc("POST "+p+"/keys/{id}/revoke", c.authed(c.revokeKey))
	mux.HandleFunc("GET "+p+"/orgs", c.authed(c.listOrgs))
	mux.HandleFunc("POST "+p+"/orgs", c.authed(c.createOrg))
	mux.HandleFunc("GET "+p+"/orgs/{org}", c.authed(c.showOrg))
	mux.HandleFunc("POST "+p+"/orgs/{org}/members", c.authed(c.addMember))
	mux.HandleFunc("POST "+p+"/orgs/{org}/members/{user}", c.authed(c.updateMember))
	mux.HandleFunc("GET "+p+"/orgs/{org}/policy", c.authed(c.showPolicy))
	mux.HandleFunc("POST "+p+"/orgs/{org}/policy", c.authed(c.setPolicy))
	mux.HandleFunc("GET "+p+"/account", c.authed(c.account))
	mux.HandleFunc("POST "+p+"/account/password", c.authed(c.changePassword))
	mux.HandleFunc("POST "+p+"/account/sign-out-everywhere", c.authed(c.signOutEverywhere))
	c.mux = mux
}

// ServeHTTP sets the security headers, refuses cross-origin
// state-changing requests, and serves the pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store") // the static files' handler replaces it
	if err := c.cop.Check(r); err != nil {
		c.errorPage(w, r, nil, http.StatusForbidden, "Request refused",
			"This form was sent from another site. Go back to the console and send it from there.")
		return
	}
	// The match is made twice, here and in c.mux.ServeHTTP: only the
	// latter fills in r's path values, which the pages read.
	if _, pattern := c.mux.Handler(r); pattern == "" {
		if allow := c.allowed(r); allow != "" {
			h.Set("Allow", allow)
			c.errorPage(w, r, nil, http.StatusMethodNotAllowed, "Method not allowed",
				"This page cannot be used this way. Go back to the console and use its links and buttons.")
			return
		}
		c.errorPage(w, r, nil, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// allowed returns the methods the page at r's path answers, for the Allow
// header of a 405 ("" when there is no page there).
func (c *Console) allowed(r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r2 := *r
		r2.Method = m
		if _, pattern := c.mux.Handler(&r2); pattern != "" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return strings.Join(out, ", ")
}

// contentSecurityPolicy allows the console's own stylesheet and script
// and nothing else: no inline script or style, no framing, forms only to
// the console's origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// noListing answers a directory of the static files with a 404: only
// the files are served, never a listing.
func (c *Console) noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			c.errorPage(w, r, nil, http.StatusNotFound, "Page not found", "There is no page at this address.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	v := "public, max-age=" + itoa(int(d/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		h.ServeHTTP(w, r)
	})
}
