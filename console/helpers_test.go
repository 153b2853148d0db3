package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

// Test users: a super admin and an org admin and a member of acme, and an
// org admin of globex.
const (
	rootID   = "usr_root"
	aliceID  = "usr_alice"
	bobID    = "usr_bob"
	ginaID   = "usr_gina"
	password = "correct horse battery staple"
)

var testPasswords = sync.OnceValues(func() (*session.Hasher, error) { return session.NewHasher(session.DefaultParams) })

// safeBuffer is a log sink tests read while handlers write.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a console over the memory store with a fake clock.
type env struct {
	clk    *testclock.Clock
	mem    *store.Memory
	keys   *store.KeyCache
	mgr    *admin.Manager
	login  *session.Handler
	con    *Console
	auth   *apikey.Authenticator
	logs   *safeBuffer
	format apikey.Format
	// failWrites makes the manager's key creations (create and rotate)
	// fail as a store that is down does.
	failWrites atomic.Bool
}

// faultyWrites is the key store with writes that fail while fail is set.
type faultyWrites struct {
	store.KeyStore
	fail *atomic.Bool
}

func (f faultyWrites) Unwrap() store.KeyStore { return f.KeyStore }

var errStoreDown = errors.New("test: store down")

func (f faultyWrites) CreateKey(ctx context.Context, k *store.Key) error {
	if f.fail.Load() {
		return errStoreDown
	}
	return f.KeyStore.CreateKey(ctx, k)
}

func adminScopes(u *store.User) []string {
	if u.Level == store.LevelMember {
		return []string{"read", "write"}
	}
	return []string{"admin", "read", "write"}
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clk: testclock.New(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)), mem: store.NewMemory(), logs: &safeBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	var err error
	e.format, err = apikey.NewFormat("cpx_live.")
	require.NoError(t, err)
	e.keys, err = store.NewKeyCache(e.mem, store.CacheConfig{Now: e.clk.Now})
	require.NoError(t, err)
	hasher, err := testPasswords()
	require.NoError(t, err)
	e.mgr, err = admin.NewManager(faultyWrites{KeyStore: e.keys, fail: &e.failWrites}, e.mem, e.format, admin.Config{Orgs: e.mem, Passwords: hasher, Logger: log, Now: e.clk.Now})
	require.NoError(t, err)
	sessions, err := store.NewSessionCache(e.mem, store.CacheConfig{Now: e.clk.Now})
	require.NoError(t, err)
	sm, err := session.NewManager(sessions, session.Config{InsecureDevCookie: true})
	require.NoError(t, err)
	e.login, err = session.NewHandler(sm, e.mem, session.HandlerConfig{Hasher: hasher, Scopes: adminScopes, Logger: log})
	require.NoError(t, err)
	e.auth, err = apikey.NewAuthenticator(e.format, e.keys, apikey.Config{})
	require.NoError(t, err)
	if cfg.Now == nil {
		cfg.Now = e.clk.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	if cfg.SignInTokens == nil {
		cfg.SignInTokens = e.mem
	}
	e.con, err = New(e.mgr, e.login, cfg)
	require.NoError(t, err)
	for _, o := range []*store.Org{{ID: "acme", Name: "Acme"}, {ID: "globex", Name: "Globex"}} {
		o.CreatedAt = e.clk.Now()
		require.NoError(t, e.mem.CreateOrg(ctx, o))
	}
	for _, u := range []*store.User{
		{ID: rootID, TenantID: "acme", Email: "root@example.com", Level: store.LevelSuperAdmin},
		{ID: aliceID, TenantID: "acme", Email: "alice@example.com", Name: "Alice", Level: store.LevelOrgAdmin},
		{ID: bobID, TenantID: "acme", Email: "bob@example.com", Level: store.LevelMember},
		{ID: ginaID, TenantID: "globex", Email: "gina@example.com", Level: store.LevelOrgAdmin},
	} {
		u.CreatedAt = e.clk.Now()
		require.NoError(t, e.mem.CreateUser(ctx, u))
	}
	return e
}

// setPassword gives a user the test password (argon2id: only the tests
// that sign in with a password pay for it).
func (e *env) setPassword(t *testing.T, id string) {
	t.Helper()
	h, err := testPasswords()
	require.NoError(t, err)
	hash, err := h.Hash(password)
	require.NoError(t, err)
	_, err = e.mem.UpdateUser(context.Background(), id, store.UserUpdate{PasswordHash: &hash})
	require.NoError(t, err)
}

// as returns the session cookie of a new session of the user.
func (e *env) as(t *testing.T, id string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	_, err := e.login.StartSession(context.Background(), w, httptest.NewRequest("POST", "/", nil), id)
	require.NoError(t, err)
	for _, c := range w.Result().Cookies() {
		if c.Name == e.login.CookieName() {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// do sends a request to the console: a form body when form is not nil,
// as a same-origin browser does.
func (e *env) do(t *testing.T, method, path string, form url.Values, c *http.Cookie, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://console.test"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.con.ServeHTTP(w, r)
	return w
}

var formIDPattern = regexp.MustCompile(`name="form_id" value="([A-Z2-7]{26})"`)

// formID reads the form_id of the first form on a page.
func formID(t *testing.T, body string) string {
	t.Helper()
	m := formIDPattern.FindStringSubmatch(body)
	require.NotNil(t, m, "no form_id in the page")
	return m[1]
}

var keyPattern = regexp.MustCompile(`cpx_live\.[0-9A-Za-z]{36}`)

// createKey creates a key through the form and returns the page.
func (e *env) createKey(t *testing.T, c *http.Cookie, fields url.Values) *httptest.ResponseRecorder {
	t.Helper()
	w := e.do(t, "GET", "/console/keys/new", nil, c)
	require.Equal(t, 200, w.Code, w.Body.String())
	fields.Set("form_id", formID(t, w.Body.String()))
	return e.do(t, "POST", "/console/keys", fields, c)
}

func cookieOf(v any) *http.Cookie { return v.(*http.Cookie) }

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func httptestRequest() *http.Request { return httptest.NewRequest("POST", "/", nil) }
