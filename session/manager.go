package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// idBytes is the size of a session ID: 256 bits from crypto/rand.
const idBytes = 32

// idLen is the length of the ID in the cookie: unpadded base64url.
var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// Default cookie names.
const (
	// DefaultCookieName is the cookie name in production. The __Host-
	// prefix makes browsers refuse the cookie unless it is Secure,
	// host-only (no Domain) and on Path=/.
	DefaultCookieName = "__Host-gatehouse_session"
	// DevCookieName is the default name with [Config.InsecureDevCookie].
	DevCookieName = "gatehouse_session"
)

// Config holds the optional settings of a [Manager]. The zero value is
// usable and secure.
type Config struct {
	// CookieName is the session cookie's name. Default [DefaultCookieName]
	// ([DevCookieName] with InsecureDevCookie).
	CookieName string
	// InsecureDevCookie drops the Secure attribute and the __Host- prefix
	// so that plain-HTTP localhost works in development. Never set it in
	// production: the cookie would travel in clear text. Default false.
	InsecureDevCookie bool
	// SameSite is the cookie's SameSite mode: Lax or Strict. None is
	// refused. Default http.SameSiteLaxMode.
	SameSite http.SameSite
	// IdleTimeout ends a session unused for this long. Default 1 hour.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, however
	// active. Default 12 hours.
	AbsoluteTimeout time.Duration
	// Hasher computes the digests session IDs are stored under. Default
	// SHA-256 (session IDs have 256 random bits; a pepper adds little).
	Hasher *store.Hasher
	// Principal builds a session's principal. Default [PrincipalOf].
	Principal func(*store.Session) *gatehouse.Principal
	// Now is the clock. Default: the session cache's clock.
	Now func() time.Time
}

// Manager issues, verifies and destroys login sessions. It is also the
// cookie [gatehouse.Authenticator] the middleware uses (it implements the
// middleware's CookieAuthenticator).
//
// A session ID is 256 bits from crypto/rand, sent to the browser in the
// cookie and stored only as its digest. IDs are never taken from the
// client: [Manager.Start] always makes a new one, so an ID planted by an
// attacker (session fixation) is never adopted.
//
// Lookups go through the [store.SessionCache], as API keys go through
// theirs. The last use of a session is recorded in the cache (which keeps
// it across reloads of the entry) and reaches the store when the cache's
// Flush runs: call it every few seconds. Other processes see a use within
// that interval plus their cache's TTL, which bounds how far the idle
// timeout can be off across processes. A session destroyed in another process is dropped
// here as soon as the store's feed says so (sqlstore publishes session
// deletions; pass the session cache to Store.Watch, with the key cache,
// through sqlstore.Invalidators), and at the latest when the cache's TTL
// ends. A Manager is immutable and safe for concurrent use.
type Manager struct {
	sessions  *store.SessionCache
	name      string
	secure    bool
	sameSite  http.SameSite
	idle      time.Duration
	absolute  time.Duration
	hasher    *store.Hasher
	principal func(*store.Session) *gatehouse.Principal
	now       func() time.Time
}

var _ gatehouse.Authenticator = (*Manager)(nil)

// NewManager returns a manager over sessions (a [store.SessionCache] over
// the memory, SQLite or PostgreSQL store).
func NewManager(sessions *store.SessionCache, cfg Config) (*Manager, error) {
	if sessions == nil {
		return nil, errors.New("session: nil session store")
	}
	m := &Manager{sessions: sessions, name: cfg.CookieName, secure: !cfg.InsecureDevCookie, sameSite: cfg.SameSite,
		idle: cfg.IdleTimeout, absolute: cfg.AbsoluteTimeout, hasher: cfg.Hasher, principal: cfg.Principal, now: cfg.Now}
	if m.name == "" {
		m.name = DefaultCookieName
		if cfg.InsecureDevCookie {
			m.name = DevCookieName
		}
	}
	if cfg.InsecureDevCookie && (strings.HasPrefix(m.name, "__Host-") || strings.HasPrefix(m.name, "__Secure-")) {
		return nil, errors.New("session: a __Host- or __Secure- cookie must be Secure: drop the prefix with InsecureDevCookie")
	}
	if !validCookieName(m.name) {
		return nil, errors.New("session: invalid cookie name")
	}
	switch m.sameSite {
	case 0, http.SameSiteDefaultMode:
		m.sameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	default:
		return nil, errors.New("session: SameSite must be Lax or Strict")
	}
	if m.idle < 0 || m.absolute < 0 {
		return nil, errors.New("session: timeouts must not be negative")
	}
	if m.idle == 0 {
		m.idle = time.Hour
	}
	if m.absolute == 0 {
		m.absolute = 12 * time.Hour
	}
	if m.hasher == nil {
		m.hasher, _ = store.NewHasher(nil)
	}
	if m.principal == nil {
		m.principal = PrincipalOf
	}
	if m.now == nil {
		m.now = sessions.Clock()
	}
	return m, nil
}

// CookieName returns the session cookie's name; the middleware reads it.
func (m *Manager) CookieName() string { return m.name }

// Secure reports whether the cookie is Secure (false only in the
// development mode).
func (m *Manager) Secure() bool { return m.secure }

// Accepts reports whether c came from the session cookie.
func (m *Manager) Accepts(c gatehouse.Credential) bool {
	return c.Source == gatehouse.SourceCookie
}

var (
	errMalformed = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonMalformed, Detail: DetailInvalid}
	errUnknown   = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown, Detail: DetailInvalid}
	errExpired   = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonExpired, Detail: DetailInvalid}
)

// DetailInvalid is the sentence every refused session cookie gets.
const DetailInvalid = "Your session has expired or is invalid: log in again"

// Authenticate verifies the session ID in c.Value: its shape, the stored
// session, the idle and absolute timeouts. It records the use (in memory;
// the cache's Flush writes it).
func (m *Manager) Authenticate(ctx context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	return m.Verify(ctx, c.Value)
}

// Verify verifies a session ID, for callers outside the middleware. An ID
// of the wrong shape is refused before the store is asked; an unknown,
// idle or expired one is refused with the same detail.
func (m *Manager) Verify(ctx context.Context, id string) (*gatehouse.Principal, error) {
	cs, err := m.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	return cs.Principal(m.principal), nil
}

func (m *Manager) lookup(ctx context.Context, id string) (*store.CachedSession, error) {
	if len(id) != idLen {
		return nil, errMalformed
	}
	now := m.now()
	d := m.hasher.Sum(id)
	// The characters are checked on a miss, before the negative cache and
	// the store, and the entry is marked: a later hit on it is byte for
	// byte the same well-formed ID. An entry loaded some other way is
	// checked once.
	cs, ok := m.sessions.PeekAt(d, now)
	if !ok || !cs.FormatChecked() {
		if !validID(id) {
			return nil, errMalformed
		}
		if !ok {
			var err error
			cs, err = m.sessions.LookupAt(ctx, d, now)
			if errors.Is(err, store.ErrNotFound) {
				return nil, errUnknown
			}
			if err != nil {
				return nil, gatehouse.Unavailable(err)
			}
		}
		cs.MarkFormatChecked()
	}
	if m.expired(cs, now) {
		return nil, errExpired
	}
	m.sessions.Touch(cs, now)
	return cs, nil
}

// expired applies both timeouts. The absolute one is the earlier of the
// stored expiry and CreatedAt plus the configured timeout, so that
// shortening AbsoluteTimeout also ends older sessions.
func (m *Manager) expired(cs *store.CachedSession, now time.Time) bool {
	s := cs.Session
	n := now.UnixNano()
	return n >= s.ExpiresAt.UnixNano() || n >= s.CreatedAt.UnixNano()+int64(m.absolute) ||
		n >= cs.LastSeen().UnixNano()+int64(m.idle)
}

// idChars marks the base64url alphabet.
var idChars = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// NewToken returns a new secret token as session IDs are made: 256 bits
// from crypto/rand as unpadded base64url (43 characters). Store only its
// digest. Sign-in links use it too.
func NewToken() (string, error) {
	var b [idBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidToken reports whether s has the shape of a [NewToken] token, so that
// anything else is refused before a digest or a store call.
func ValidToken(s string) bool { return validID(s) }

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChars[id[i]] {
			return false
		}
	}
	return true
}

// Start creates a new session for user with scopes and sets its cookie on
// w. The ID is always new: it is never reused or taken from the client.
// On login and on every privilege change, destroy the old session first
// ([Manager.Renew] does both).
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, user *store.User, scopes []string) (*store.Session, error) {
	id, err := NewToken()
	if err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	now := m.now().UTC()
	s := &store.Session{Digest: m.hasher.Sum(id), UserID: user.ID, TenantID: user.TenantID,
		Scopes: append([]string(nil), scopes...), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(m.absolute)}
	if err := m.sessions.CreateSession(ctx, s); err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	http.SetCookie(w, m.cookie(id, s.ExpiresAt, now))
	return s, nil
}

// Renew destroys the session r carries (if any) and starts a new one for
// user: call it on every privilege change, so that the old ID, which may
// have leaked, is dead.
func (m *Manager) Renew(ctx context.Context, w http.ResponseWriter, r *http.Request, user *store.User, scopes []string) (*store.Session, error) {
	if err := m.destroyRequest(ctx, r); err != nil {
		return nil, err
	}
	return m.Start(ctx, w, user, scopes)
}

// Destroy ends the session whose cookie r carries (if any) on the server
// and expires the cookie on w.
func (m *Manager) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, m.cookie("", time.Time{}, time.Time{}))
	return m.destroyRequest(ctx, r)
}

func (m *Manager) destroyRequest(ctx context.Context, r *http.Request) error {
	for _, c := range r.CookiesNamed(m.name) {
		if validID(c.Value) {
			if err := m.sessions.DeleteSession(ctx, m.hasher.Sum(c.Value)); err != nil {
				return gatehouse.Unavailable(err)
			}
		}
	}
	return nil
}

// DestroyUser ends every session of the user, in this process at once and
// in the store (other processes drop their cached copy when the store's
// feed reaches them, or at the latest within the cache's TTL).
func (m *Manager) DestroyUser(ctx context.Context, userID string) error {
	if _, err := m.sessions.DeleteUserSessions(ctx, userID); err != nil {
		return gatehouse.Unavailable(err)
	}
	return nil
}

// cookie returns the session cookie for value; an empty value expires it.
func (m *Manager) cookie(value string, expires, now time.Time) *http.Cookie {
	c := &http.Cookie{Name: m.name, Value: value, Path: "/", HttpOnly: true, Secure: m.secure, SameSite: m.sameSite}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(now) / time.Second)
	}
	return c
}

// PrincipalOf is the default mapping of a session to a principal.
func PrincipalOf(s *store.Session) *gatehouse.Principal {
	return &gatehouse.Principal{ID: s.UserID, Kind: gatehouse.KindSession, TenantID: s.TenantID,
		Scopes: append([]string(nil), s.Scopes...), ExpiresAt: s.ExpiresAt}
}

// validCookieName reports whether name is an RFC 9110 token, as the
// middleware requires.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
