package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/console"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/observe"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

func serve(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "serve", "serve [--addr 127.0.0.1:8080] [--db gatehouse.db | --dsn postgres://...] [--upstream URL] [--routes FILE] [--trusted-proxies CIDRS] [flags]")
	var d dbFlags
	d.register(fs)
	d.registerPrefix(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	basic := fs.Bool("basic", false, "also accept HTTP Basic (user e-mail and password, or an API key as the password)")
	upstream := fs.String("upstream", "", "proxy mode: put the whole chain in front of this http(s) service instead of the demo API")
	routesFile := fs.String("routes", "", "JSON route table (path prefixes, methods, scopes, public routes) for the upstream in proxy mode and for forward auth (/api/auth/verify)")
	passCred := fs.Bool("pass-credential", false, "proxy mode: pass the Authorization header and session cookie upstream (default: removed)")
	rate := fs.String("rate-limit", "600/1m", `requests per client address, before authentication ("100/1m", "5/15m;burst=3"; "off" for none)`)
	trusted := fs.String("trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed and that may ask /api/auth/verify about the request named in X-Forwarded-Method and X-Forwarded-Uri")
	redisAddr := fs.String("redis", "", "host:port of a Redis that holds rate limits, login failure counts and keys' usage credits, shared by every instance (default $GATEHOUSE_REDIS; none: limits in memory, credits in the database)")
	redisPrefix := fs.String("redis-prefix", "gatehouse:rl:", "prefix of the Redis keys, one per application sharing a Redis")
	keyRate := fs.String("key-rate-limit", "off", `requests per API key (per principal for sessions and tokens), after authentication; a key's own metadata rate_limit overrides it ("1000/1m"; "off": only keys with their own limit are limited)`)
	storeTimeout := fs.Duration("store-timeout", 5*time.Second, "bound on every request that needs the database: past it the answer is 503")
	resource := fs.String("resource", "", "this API's resource identifier (https URL): serves its RFC 9728 metadata at /.well-known/oauth-protected-resource and names it in every Bearer challenge")
	var authServers []string
	fs.Func("authorization-server", "with --resource: the issuer URL of an authorization server that issues tokens for this API (repeatable)", func(v string) error {
		authServers = append(authServers, v)
		return nil
	})
	var leak leakOptions
	fs.StringVar(&leak.keysURL, "leaked-keys-url", "", "serve POST /api/auth/leaked-keys for GitHub's secret scanning partner program, verifying reports with the keys published at this URL ("+admin.GitHubSecretScanningKeysURL+"); default off")
	fs.StringVar(&leak.action, "leaked-keys-action", admin.LeakRevoke, "what a reported key gets: revoke, or flag (log and key.leaked event only)")
	staleOK := fs.Bool("stale-if-unavailable", false, "while neither the invalidation feed nor the database answers, serve cached keys and sessions until their TTL (1 min) instead of answering 503")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	opts, err := serveOptions(*upstream, *routesFile, *passCred, *rate, *trusted)
	if err != nil {
		return err
	}
	if *storeTimeout <= 0 {
		return fmt.Errorf("%w: --store-timeout must be positive", errUsage)
	}
	if err := opts.keyRateLimit(*keyRate); err != nil {
		return err
	}
	opts.basic, opts.storeTimeout = *basic, *storeTimeout
	if err := opts.resourceMetadata(*resource, authServers); err != nil {
		return err
	}
	if err := leak.check(); err != nil {
		return err
	}
	opts.leak = leak
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	routeRedisLogs(log)
	if *redisAddr == "" {
		*redisAddr = e.getenv("GATEHOUSE_REDIS")
	}
	if *redisAddr != "" {
		closeRedis, err := opts.useRedis(*redisAddr, *redisPrefix, log)
		if err != nil {
			return err
		}
		defer closeRedis()
	}

	a, err := openAppTimeout(ctx, d, e, *storeTimeout)
	if err != nil {
		return err
	}
	defer a.Close()
	cacheCfg := store.CacheConfig{LoadTimeout: *storeTimeout, StaleIfUnavailable: *staleOK}
	keys, err := store.NewKeyCache(a.db, cacheCfg)
	if err != nil {
		return err
	}
	sessions, err := store.NewSessionCache(a.db, cacheCfg)
	if err != nil {
		return err
	}
	// Keys and sessions changed by other processes (the CLI revoking a key,
	// another instance logging a user out) are dropped from this one's
	// caches through the store's feed; while it is down, cached records
	// older than a second are read again (see sqlstore.Store.Watch).
	watcher, err := a.db.Watch(ctx, sqlstore.Invalidators(keys, sessions), sqlstore.WatchConfig{Observer: observe.NewSlog(log, nil)})
	if err != nil {
		return fmt.Errorf("invalidation feed: %w", err)
	}
	defer watcher.Close()

	usage, err := store.NewUsageRecorder(a.db)
	if err != nil {
		return err
	}
	reminders, err := admin.NewReminders(a.db, admin.ReminderConfig{Notifier: admin.Notifiers(admin.LogNotifier{Log: log},
		admin.EventNotifier{Events: a.eventSink()})})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	bound := ln.Addr().String()
	// Plain HTTP: browsers keep a Secure cookie only from localhost, so the
	// development cookie is used on loopback and said so.
	dev := isLoopback(ln.Addr())
	if dev {
		log.Warn("session cookie in development mode: not Secure, no __Host- prefix, because serve speaks plain HTTP on loopback; put TLS in front and listen elsewhere for production")
	} else {
		log.Warn("session cookie is Secure and __Host- prefixed: browsers will not keep it over plain HTTP; serve behind TLS")
	}
	opts.devCookie = dev
	h, err := newAPI(keys, usage, sessions, a, log, opts)
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); usage.Run(bg, 10*time.Second, logErr(log, "last-used flush")) }()
	go func() { defer wg.Done(); reminders.Run(bg, logErr(log, "expiry reminders")) }()
	go func() {
		defer wg.Done()
		flushSessions(bg, sessions, 10*time.Second, logErr(log, "session last-seen flush"))
	}()
	defer func() { stopBG(); wg.Wait() }()
	// Webhooks: the outbox's deliveries, from this instance and any other.
	stopDispatcher, err := startDispatcher(bg, a, log)
	if err != nil {
		return err
	}
	defer stopDispatcher()

	if err := bootstrap(ctx, a, keys, e, bound, log); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	mode := "demo API"
	if opts.upstream != nil {
		mode = "proxy to " + opts.upstream.Redacted()
	}
	log.Info("serving", "addr", "http://"+bound, "mode", mode, "db", a.db.Dialect(), "console", "http://"+bound+consolePrefix+"/",
		"login", "http://"+bound+"/api/auth/login",
		"forward_auth", opts.forwardAuth(bound),
		"basic", *basic, "rate_limit", *rate, "key_rate_limit", *keyRate, "limits_in", opts.limitsIn(),
		"store_timeout", *storeTimeout, "stale_if_unavailable", *staleOK, "leaked_keys", leak.describe(bound))
	if e.ready != nil {
		e.ready(bound)
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func logErr(log *slog.Logger, what string) func(error) {
	return func(err error) { log.Error(what+" failed", "err", err) }
}

// consolePrefix is where serve mounts the web console.
const consolePrefix = "/console"

// bootstrapKeyID is the ID of the bootstrap admin key: fixed, so that of
// several instances starting together on an empty database exactly one
// creates it (the others' inserts conflict).
const bootstrapKeyID = "key_bootstrap"

// bootstrap, on a database with no key at all, creates the super admin
// user "admin" (if missing) and an admin key with every demo scope, and
// prints the key once with a curl line. Instances that lose the race to
// create it print nothing.
func bootstrap(ctx context.Context, a *app, keys store.KeyStore, e env, addr string, log *slog.Logger) error {
	existing, _, err := a.db.ListKeys(ctx, store.KeyFilter{IncludeRevoked: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return nil
	}
	err = a.db.CreateUser(ctx, &store.User{ID: "admin", Email: "admin@localhost", Name: "bootstrap admin",
		Level: store.LevelSuperAdmin, CreatedAt: time.Now().UTC()})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	key, rec, err := apikey.Issue(ctx, keys, a.format, a.hasher, apikey.Params{
		ID: bootstrapKeyID, Name: "bootstrap admin", Description: "created by gatehouse serve on an empty database",
		Scopes: demoScopes, OwnerID: "admin", CreatedBy: "gatehouse serve",
	})
	if errors.Is(err, store.ErrConflict) {
		log.Info("another instance created the bootstrap admin key", "key_id", bootstrapKeyID)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `
An admin key was created (%s). It is shown once; store it now:

  KEY=%s
  curl -H "Authorization: Bearer $KEY" http://%s/api/projects

`, rec.ID, key, addr)
	// A single-use link that signs the bootstrap admin in to the console,
	// valid for 15 minutes; only its digest is stored.
	link, err := console.IssueSignInLink(ctx, a.db, consolePrefix, "admin", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `Sign in to the console with this single-use link (it works once, for 15 minutes):

  http://%s%s

`, addr, link)
	return nil
}

// isLoopback reports whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// flushSessions writes the sessions' last-seen times every interval until
// ctx ends, and once more then.
func flushSessions(ctx context.Context, sessions *store.SessionCache, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := sessions.Flush(fctx); err != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := sessions.Flush(ctx); err != nil {
				onErr(err)
			}
		}
	}
}

// apiOptions are the switches of newAPI.
type apiOptions struct {
	devCookie bool // the session cookie without Secure and __Host-
	basic     bool // accept HTTP Basic

	// Proxy mode: the upstream replaces the demo API.
	upstream       *url.URL
	passCredential bool
	// routes guard the upstream in proxy mode, and the verify endpoint
	// (forward auth) in both modes; trustedProxies may ask it.
	routes         []proxy.Route
	trustedProxies []string

	// Rate limits: per client address before authentication (nil rate:
	// none), in limiter (memory unless Redis is configured).
	rate     *ratelimit.Policy
	clientIP *ratelimit.ClientIP
	limiter  ratelimit.Limiter
	shared   bool // limiter is Redis: login failures are counted there too

	// Per key after authentication: keyRate is the default (nil: only
	// keys with their own metadata rate_limit are limited).
	keyRate *ratelimit.Policy

	// credits spends keys' usage credits: in Redis with --redis (set by
	// useRedis), else nil for the database.
	credits store.CreditSpender

	storeTimeout time.Duration // bound on a request's store calls

	leak leakOptions // the leaked-key endpoint (--leaked-keys-url)

	// RFC 9728 metadata (--resource): its URL, path and handler; "": off.
	metadataURL, metadataPath string
	metadata                  http.Handler
}

// sessionScopes are the scopes of a login session (and a Basic request):
// the user's own when set, else every demo scope but admin, which only
// admins get.
func sessionScopes(u *store.User) []string {
	if u.Scopes != nil {
		return u.Scopes
	}
	if u.Level == store.LevelOrgAdmin || u.Level == store.LevelSuperAdmin {
		return demoScopes
	}
	return []string{"predict", "read", "write"}
}

// newAPI returns the demo API, the login endpoints and the key management
// API behind the middleware. The middleware accepts API keys, the session
// cookie and, with opts.basic, HTTP Basic.
func newAPI(keys *store.KeyCache, usage *store.UsageRecorder, sessions *store.SessionCache, a *app, log *slog.Logger, opts apiOptions) (http.Handler, error) {
	auth, err := apikey.NewAuthenticator(a.format, keys, apikey.Config{Hasher: a.hasher, Usage: usage})
	if err != nil {
		return nil, err
	}
	sm, err := session.NewManager(sessions, session.Config{InsecureDevCookie: opts.devCookie})
	if err != nil {
		return nil, err
	}
	passwords, err := session.NewHasher(session.DefaultParams)
	if err != nil {
		return nil, err
	}
	accounts, err := opts.accountThrottle()
	if err != nil {
		return nil, err
	}
	addresses, err := opts.addressThrottle()
	if err != nil {
		return nil, err
	}
	// Personal access tokens: JWTs signed with keys users registered
	// (gatehouse pat create), verified against the registrations.
	// A registration deleted by another process (gatehouse pat delete)
	// stops working here within RecheckInterval.
	registered, err := jwtauth.NewRegisteredKeys(a.db, jwtauth.RegisteredKeysConfig{RecheckInterval: patRecheck, LoadTimeout: opts.storeTimeout})
	if err != nil {
		return nil, err
	}
	pats, err := jwtauth.New(jwtauth.Config{ExcludePrefixes: []string{a.format.Prefix()}},
		jwtauth.Issuer{Issuer: patIssuer, Audience: []string{patAudience}, Keys: registered, MaxLifetime: jwtauth.MaxMintTTL})
	if err != nil {
		return nil, err
	}
	auths := []gatehouse.Authenticator{auth, pats, sm}
	if opts.basic {
		b, err := session.NewBasic(a.db, session.BasicConfig{Hasher: passwords, Scopes: sessionScopes, APIKeys: auth, Throttle: accounts,
			LoadTimeout: opts.storeTimeout})
		if err != nil {
			return nil, err
		}
		auths = append(auths, b)
	}
	// Per-key limits run after authentication on every route the
	// middleware guards; their refusals go through its error handler.
	var m *middleware.Middleware
	perKey, err := opts.perKey(func(w http.ResponseWriter, r *http.Request, err error) { m.Error(w, r, err) }, log)
	if err != nil {
		return nil, err
	}
	credits := opts.credits
	if credits == nil {
		credits = a.db
	}
	var clientAddr func(*http.Request) (netip.Addr, bool)
	if opts.clientIP != nil {
		clientAddr = opts.clientIP.Addr
	}
	m, err = middleware.New(middleware.Config{Realm: "gatehouse", Observer: admin.NewAuditObserver(log, opts.clientAddr), After: perKey,
		KeyHeaders: []string{"X-API-Key"}, ResourceMetadata: opts.metadataURL,
		ClientAddr: clientAddr, Credits: credits, CreditsTimeout: opts.storeTimeout}, auths...)
	if err != nil {
		return nil, err
	}
	login, err := session.NewHandler(sm, a.db, session.HandlerConfig{Hasher: passwords, Scopes: sessionScopes,
		AccountThrottle: accounts, AddressThrottle: addresses, ErrorHandler: m.Error, Logger: log, ClientIP: opts.clientAddr,
		StoreTimeout: opts.storeTimeout})
	if err != nil {
		return nil, err
	}
	var managed store.KeyStore = keys
	if c, ok := opts.credits.(store.CreditCounter); ok {
		// Credits counted in Redis: the management API shows the live
		// count, not the grant, and a rotation moves that count to the
		// new key (zeroing the old key's) in Redis.
		managed = store.NewLiveCredits(keys, c, nil)
	}
	mgr, err := a.manager(managed, log, withUsers(passwords, sessions))
	if err != nil {
		return nil, err
	}
	mgmt, err := admin.NewHandler(mgr, m, admin.HandlerConfig{StoreTimeout: opts.storeTimeout})
	if err != nil {
		return nil, err
	}
	// The web console, on the login handler's sessions and throttles.
	con, err := console.New(mgr, login, console.Config{Prefix: consolePrefix, SignInTokens: a.db, Logger: log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(consolePrefix+"/", middleware.Timeout(opts.storeTimeout)(con))
	mux.Handle("/api/auth/api-keys", mgmt)
	mux.Handle("/api/auth/api-keys/", mgmt)
	if err := mountHooks(mux, a, mgr, m, log, opts); err != nil {
		return nil, err
	}
	for _, p := range login.Paths() {
		mux.Handle(p, login)
	}
	if err := mountUsersAndOrgs(mux, mgr, m, opts); err != nil {
		return nil, err
	}
	if opts.metadata != nil {
		mux.Handle(opts.metadataPath, opts.metadata)
	}
	if opts.upstream != nil {
		px, err := proxy.New(m, opts.upstream, proxy.Config{Routes: opts.routes, PassCredential: opts.passCredential, Logger: log})
		if err != nil {
			return nil, err
		}
		mux.Handle("/", px)
	} else {
		// The demo API streams nothing: the whole request, authentication
		// included, ends with the store bound. (In proxy mode the bound
		// applies to authentication through the caches' LoadTimeout, not to
		// the upstream's answer.)
		mux.Handle("/", middleware.Timeout(opts.storeTimeout)(newDemo(m)))
	}
	// Forward auth: reverse proxies ask about the requests they forward.
	verifier, err := proxy.NewVerifier(m, proxy.VerifyConfig{Routes: opts.routes, TrustedProxies: opts.trustedProxies})
	if err != nil {
		return nil, err
	}
	h := beforeMux(verifier.Path(), middleware.Timeout(opts.storeTimeout)(verifier), mux)
	if opts.rate == nil {
		return h, nil
	}
	// Per client address, before authentication: a flood of bad
	// credentials never reaches the store. Behind a trusted proxy, verify
	// requests count against the client the proxy names in
	// X-Forwarded-For, not against the proxy.
	rl, err := ratelimit.New(opts.limiter, opts.rate, opts.clientIP.Key, ratelimit.Config{ErrorHandler: m.Error})
	if err != nil {
		return nil, err
	}
	return rl.Handler(h), nil
}

// beforeMux serves path and the paths below it with h, and every other
// request with mux. The verify endpoint is dispatched before the ServeMux,
// which would answer a non-canonical path below it (Envoy's form, with the
// client's path appended) with a redirect to the cleaned path; the
// verifier refuses it with 400, as the proxy mode does.
func beforeMux(path string, h, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, path); ok && (rest == "" || rest[0] == '/') {
			h.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// mountUsersAndOrgs serves the users API (/api/auth/users) and the
// organizations API with their key policies (/api/auth/orgs) beside the
// keys API, behind the same middleware.
func mountUsersAndOrgs(mux *http.ServeMux, mgr *admin.Manager, m *middleware.Middleware, opts apiOptions) error {
	for _, api := range []struct {
		path string
		new  func(*admin.Manager, *middleware.Middleware, admin.HandlerConfig) (http.Handler, error)
	}{
		{"/api/auth/users", admin.NewUsersHandler},
		{"/api/auth/orgs", admin.NewOrgsHandler},
	} {
		h, err := api.new(mgr, m, admin.HandlerConfig{StoreTimeout: opts.storeTimeout})
		if err != nil {
			return err
		}
		mux.Handle(api.path, h)
		mux.Handle(api.path+"/", h)
	}
	return nil
}
