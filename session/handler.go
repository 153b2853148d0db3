package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/store"
)

// HandlerConfig holds the optional settings of [NewHandler]. The zero
// value is usable.
type HandlerConfig struct {
	// Prefix is the path the endpoints are served under. Default
	// "/api/auth".
	Prefix string
	// Hasher verifies and makes password hashes. Default: a hasher with
	// [DefaultParams].
	Hasher *Hasher
	// Scopes returns the scopes a session of user gets. Default: the
	// user's Scopes (none when nil).
	Scopes func(user *store.User) []string
	// AccountThrottle counts failures per submitted account (the
	// normalised e-mail address, whether or not a user has it). Default:
	// a [MemoryThrottle] with the zero [ThrottleConfig] (5 free failures,
	// then 1 s doubling to 15 min, locked at 100).
	AccountThrottle Throttle
	// AddressThrottle counts failures per client address. Default: a
	// [MemoryThrottle] with 20 free failures, then 1 s doubling to 15
	// min, no hard lock, RefundOnSuccess.
	AddressThrottle Throttle
	// ClientIP returns the client address a request is throttled by. Put
	// a trusted-proxy aware function here behind a reverse proxy; never
	// the leftmost X-Forwarded-For. Default: the connection's peer
	// address (IPv6 addresses keyed by their /64).
	ClientIP func(*http.Request) string
	// ErrorHandler writes refusals (401, 403, 429, 503). Default: a
	// [middleware.ProblemWriter] for Realm. Pass the middleware's Error
	// method to share its handler.
	ErrorHandler middleware.ErrorHandler
	// Realm is the realm of the default error handler's challenges.
	// Default "api".
	Realm string
	// CrossOrigin guards every POST endpoint, login included. Default: a
	// new http.CrossOriginProtection (same-origin browsers and clients
	// that send neither Origin nor Sec-Fetch-Site, such as curl, pass).
	CrossOrigin *http.CrossOriginProtection
	// MaxBody caps request bodies, in bytes. Default 16 KiB.
	MaxBody int64
	// StoreTimeout bounds each request: its store and throttle calls end
	// by then, and a request that could not finish is answered 503.
	// Default [middleware.DefaultStoreTimeout] (5 s); negative means none.
	StoreTimeout time.Duration
	// MinPasswordLength is the shortest new password accepted by the
	// password endpoint, in bytes. Default 8.
	MinPasswordLength int
	// Logger receives failures that do not change the response (a rehash
	// that could not be stored, a broken stored hash). Default
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves the login endpoints under its prefix (default
// "/api/auth"):
//
//	POST {prefix}/login     {"email", "password"}: sets the session cookie; 200 with the principal
//	POST {prefix}/logout    destroys the session on the server and expires the cookie; 204
//	GET  {prefix}/session   the principal of the session cookie; 200, or 401
//	POST {prefix}/password  {"current_password", "new_password"}: destroys every session of the
//	                        user and sets a new cookie; 200 with the principal
//
// Every POST passes http.CrossOriginProtection first (a cross-site POST is
// a 403). Login and password changes are throttled per account and per
// client address (429 with Retry-After). An unknown e-mail address and a
// wrong password get byte-identical responses after the same argon2id
// work. Refusals are RFC 9457 problem details. Mount it on any router at
// each of [Handler.Paths]. A Handler is immutable and safe for concurrent
// use.
type Handler struct {
	m        *Manager
	users    store.UserStore
	hasher   *Hasher
	scopes   func(*store.User) []string
	account  Throttle
	address  Throttle
	clientIP func(*http.Request) string
	onError  middleware.ErrorHandler
	cop      *http.CrossOriginProtection
	maxBody  int64
	minPass  int
	log      *slog.Logger
	prefix   string
	timeout  time.Duration
	mux      *http.ServeMux
	bounded  http.Handler // mux under middleware.Timeout(timeout)
}

// NewHandler returns the login handlers for sessions of m and the users in
// users.
func NewHandler(m *Manager, users store.UserStore, cfg HandlerConfig) (*Handler, error) {
	if m == nil || users == nil {
		return nil, errors.New("session: nil manager or user store")
	}
	h := &Handler{m: m, users: users, hasher: cfg.Hasher, scopes: cfg.Scopes, account: cfg.AccountThrottle,
		address: cfg.AddressThrottle, clientIP: cfg.ClientIP, onError: cfg.ErrorHandler, cop: cfg.CrossOrigin,
		maxBody: cfg.MaxBody, minPass: cfg.MinPasswordLength, log: cfg.Logger, prefix: cfg.Prefix, timeout: cfg.StoreTimeout}
	if h.timeout == 0 {
		h.timeout = middleware.DefaultStoreTimeout
	}
	if h.prefix == "" {
		h.prefix = "/api/auth"
	}
	if !strings.HasPrefix(h.prefix, "/") || strings.HasSuffix(h.prefix, "/") || strings.ContainsAny(h.prefix, "{} ") {
		return nil, errors.New("session: prefix must start with / and not end with /")
	}
	var err error
	if h.hasher == nil {
		if h.hasher, err = NewHasher(DefaultParams); err != nil {
			return nil, err
		}
	}
	if h.scopes == nil {
		h.scopes = func(u *store.User) []string { return u.Scopes }
	}
	if h.account == nil {
		if h.account, err = NewMemoryThrottle(ThrottleConfig{}); err != nil {
			return nil, err
		}
	}
	if h.address == nil {
		if h.address, err = NewMemoryThrottle(ThrottleConfig{FreeFailures: 20, MaxFailures: -1, RefundOnSuccess: true}); err != nil {
			return nil, err
		}
	}
	if h.clientIP == nil {
		h.clientIP = PeerAddress
	}
	if h.onError == nil {
		pw, err := middleware.NewProblemWriter(middleware.ProblemConfig{Realm: cfg.Realm})
		if err != nil {
			return nil, err
		}
		h.onError = pw.WriteError
	}
	if h.cop == nil {
		h.cop = http.NewCrossOriginProtection()
	}
	if h.maxBody < 0 || h.minPass < 0 || h.minPass > MaxPasswordLength {
		return nil, errors.New("session: MaxBody and MinPasswordLength must be in range")
	}
	if h.maxBody == 0 {
		h.maxBody = 16 << 10
	}
	if h.minPass == 0 {
		h.minPass = 8
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	p := h.prefix
	mux.HandleFunc("POST "+p+"/login", h.Login)
	mux.HandleFunc("POST "+p+"/logout", h.Logout)
	mux.HandleFunc("GET "+p+"/session", h.Session)
	mux.HandleFunc("POST "+p+"/password", h.ChangePassword)
	for _, path := range h.Paths() {
		mux.HandleFunc(path, notAllowed)
	}
	h.mux = mux
	h.bounded = middleware.Timeout(h.timeout)(mux)
	return h, nil
}

// Paths returns the paths the handler serves, to mount it on a router.
func (h *Handler) Paths() []string {
	p := h.prefix
	return []string{p + "/login", p + "/logout", p + "/session", p + "/password"}
}

// ServeHTTP routes to the endpoints; other paths are a 404, other methods a
// 405, both problem+json.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		problem(w, http.StatusNotFound, "not_found", "No such endpoint", nil)
		return
	}
	h.bounded.ServeHTTP(w, r)
}

func notAllowed(w http.ResponseWriter, r *http.Request) {
	problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "This method is not supported on this path", nil)
}

// Refusals the handlers send through the error handler. They are shared
// values: a wrong password and an unknown account send the same one.
var (
	errBadLogin = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown,
		Detail: "Incorrect email or password"}
	errCrossSite = &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonMalformed,
		Detail: "Cross-origin request refused: this request must come from this site"}
	errNoSession = &gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonMissing,
		Detail: "Log in first: the request has no session cookie"}
	errTwoCookies = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The session cookie was sent more than once"}
	errWrongCurrent = &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonUnknown,
		Detail: "The current password is incorrect"}
)

// Login is POST {prefix}/login.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := h.cop.Check(r); err != nil {
		h.onError(w, r, errCrossSite)
		return
	}
	if !h.jsonBody(w, r) {
		return
	}
	b, err := parseLogin(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		h.badBody(w, err, "email and password")
		return
	}
	p, err := h.SignIn(r.Context(), w, r, b.Email, b.Password)
	switch {
	case errors.Is(err, ErrPasswordLength):
		problem(w, http.StatusBadRequest, "password_too_long",
			"The password is longer than "+strconv.Itoa(MaxPasswordLength)+" bytes", nil)
		return
	case err != nil:
		h.onError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, principalJSONOf(p))
}

// check verifies password against u's hash, doing the same argon2id work
// when there is no user or no hash. It reports whether the hash should be
// renewed.
func (h *Handler) check(u *store.User, password string) (rehash, ok bool) {
	if u == nil || u.PasswordHash == "" {
		h.hasher.VerifyDummy(password)
		return false, false
	}
	rehash, err := h.hasher.Verify(password, u.PasswordHash)
	switch {
	case err == nil:
		return rehash, true
	case errors.Is(err, ErrHashFormat):
		h.log.Error("session: a stored password hash is unreadable", "user", u.ID)
		h.hasher.VerifyDummy(password)
	}
	return false, false
}

func (h *Handler) rehash(ctx context.Context, u *store.User, password string) {
	hash, err := h.hasher.Hash(password)
	if err == nil {
		_, err = h.users.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash})
	}
	if err != nil {
		h.log.Warn("session: could not store a rehashed password", "user", u.ID, "err", err)
	}
}

// attempt counts an attempt against the client address, then the account.
func (h *Handler) attempt(ctx context.Context, r *http.Request, account string) error {
	if err := h.address.Attempt(ctx, h.clientIP(r)); err != nil {
		return err
	}
	return h.account.Attempt(ctx, account)
}

func (h *Handler) succeeded(ctx context.Context, r *http.Request, account string) {
	if err := h.account.Succeeded(ctx, account); err != nil {
		h.log.Warn("session: throttle reset failed", "err", err)
	}
	if err := h.address.Succeeded(ctx, h.clientIP(r)); err != nil {
		h.log.Warn("session: throttle reset failed", "err", err)
	}
}

// Logout is POST {prefix}/logout: the session is destroyed on the server
// and the cookie expired. It answers 204 whether or not there was one.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := h.cop.Check(r); err != nil {
		h.onError(w, r, errCrossSite)
		return
	}
	if err := h.m.Destroy(r.Context(), w, r); err != nil {
		h.onError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Session is GET {prefix}/session: the principal of the session cookie.
func (h *Handler) Session(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	_, p, err := h.current(r)
	if err != nil {
		h.onError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, principalJSONOf(p))
}

// current returns the session ID and principal of r's cookie.
func (h *Handler) current(r *http.Request) (string, *gatehouse.Principal, error) {
	cs := r.CookiesNamed(h.m.name)
	switch {
	case len(cs) > 1:
		return "", nil, errTwoCookies
	case len(cs) == 0 || cs[0].Value == "":
		return "", nil, errNoSession
	}
	p, err := h.m.Verify(r.Context(), cs[0].Value)
	return cs[0].Value, p, err
}

// ChangePassword is POST {prefix}/password. On success every session of
// the user is destroyed and a new one started: the caller gets a fresh
// cookie, every other device is logged out.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := h.cop.Check(r); err != nil {
		h.onError(w, r, errCrossSite)
		return
	}
	_, p, err := h.current(r)
	if err != nil {
		h.onError(w, r, err)
		return
	}
	if !h.jsonBody(w, r) {
		return
	}
	b, err := parsePassword(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		h.badBody(w, err, "current_password and new_password")
		return
	}
	if len(b.Current) > MaxPasswordLength {
		problem(w, http.StatusBadRequest, "password_too_long",
			"The password is longer than "+strconv.Itoa(MaxPasswordLength)+" bytes", nil)
		return
	}
	if n := len(b.New); n < h.minPass || n > MaxPasswordLength || utf8.RuneCountInString(b.New) < h.minPass {
		problem(w, http.StatusUnprocessableEntity, "invalid_body", "Some fields are invalid: see errors",
			map[string]string{"new_password": "must be " + strconv.Itoa(h.minPass) + " to " + strconv.Itoa(MaxPasswordLength) + " bytes"})
		return
	}
	ctx := r.Context()
	u, err := h.users.UserByID(ctx, p.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.onError(w, r, errUnknown)
		return
	case err != nil:
		h.onError(w, r, gatehouse.Unavailable(err))
		return
	}
	account := u.Email
	if account == "" {
		account = "id:" + u.ID
	}
	if err := h.attempt(ctx, r, account); err != nil {
		h.onError(w, r, err)
		return
	}
	if _, ok := h.check(u, b.Current); !ok {
		h.onError(w, r, errWrongCurrent)
		return
	}
	h.succeeded(ctx, r, account)
	hash, err := h.hasher.Hash(b.New)
	if err != nil {
		h.onError(w, r, gatehouse.Unavailable(err))
		return
	}
	if u, err = h.users.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		h.onError(w, r, gatehouse.Unavailable(err))
		return
	}
	if err := h.m.DestroyUser(ctx, u.ID); err != nil {
		h.onError(w, r, err)
		return
	}
	s, err := h.m.Start(ctx, w, u, h.scopes(u))
	if err != nil {
		h.onError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, principalJSONOf(h.m.principal(s)))
}

// jsonBody refuses a body declared as anything but JSON.
func (h *Handler) jsonBody(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return true
	}
	problem(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json", nil)
	return false
}

func (h *Handler) badBody(w http.ResponseWriter, err error, members string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		problem(w, http.StatusRequestEntityTooLarge, "body_too_large",
			"The request body is larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes", nil)
	case errors.Is(err, errBodyUnknownField):
		problem(w, http.StatusBadRequest, "unknown_field", "The body has a member this endpoint does not accept: it takes "+members, nil)
	case errors.Is(err, errBodyMissing):
		problem(w, http.StatusBadRequest, "invalid_body", "The body must have non-empty "+members, nil)
	case errors.Is(err, errBodyInvalidText):
		problem(w, http.StatusBadRequest, "invalid_body", "The members must be valid UTF-8 text; the email at most 320 bytes without control characters", nil)
	default:
		problem(w, http.StatusBadRequest, "malformed_body", "The body must be one JSON object with "+members, nil)
	}
}

// PrincipalJSON is a principal as the endpoints return it.
type PrincipalJSON struct {
	ID        string         `json:"id"`
	Kind      gatehouse.Kind `json:"kind"`
	TenantID  string         `json:"tenant_id"`
	Scopes    []string       `json:"scopes"`
	ExpiresAt *time.Time     `json:"expires_at"`
}

func principalJSONOf(p *gatehouse.Principal) PrincipalJSON {
	out := PrincipalJSON{ID: p.ID, Kind: p.Kind, TenantID: p.TenantID, Scopes: p.Scopes}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !p.ExpiresAt.IsZero() {
		t := p.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

// PeerAddress is the default client address: the connection's peer, with
// an IPv6 address reduced to its /64 (a host usually holds a whole /64).
// It reads no header.
func PeerAddress(r *http.Request) string {
	k, err := ratelimit.ByRemoteAddr(r)
	if err != nil {
		return r.RemoteAddr // not an address: the string itself is the key
	}
	return k.Value()
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

func problem(w http.ResponseWriter, status int, code, detail string, fields map[string]string) {
	middleware.WriteProblem(w, middleware.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, Errors: fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
