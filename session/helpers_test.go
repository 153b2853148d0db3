package session

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/store"
)

// clock is a fake clock that moves only when told.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) }

// fastParams are far below the floor NewHasher enforces, so that tests
// run quickly; only tests build hashers with them.
var fastParams = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testHasher returns a hasher with p, skipping the floor check.
func testHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h := &Hasher{p: p}
	d, err := h.Hash("gatehouse dummy password")
	require.NoError(t, err)
	h.dummy = d
	return h
}

// argonCalls counts argon2id runs while a test runs. Tests that use it
// must not run in parallel with each other.
var argonCount atomic.Int64

func countArgon(t *testing.T) *atomic.Int64 {
	t.Helper()
	argonCount.Store(0)
	idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		argonCount.Add(1)
		return argon2.IDKey(password, salt, time, memory, threads, keyLen)
	}
	t.Cleanup(func() { idKey = argon2.IDKey })
	return &argonCount
}

const (
	testEmail    = "ada@example.com"
	testPassword = "correct horse battery staple"
)

// env is a login setup over the memory store with a fake clock.
type env struct {
	clk      *clock
	mem      *store.Memory
	sessions *store.SessionCache
	m        *Manager
	h        *Handler
	hasher   *Hasher
	account  *MemoryThrottle
	address  *MemoryThrottle
	user     *store.User
}

func newEnv(t *testing.T, cfg Config, hcfg HandlerConfig) *env {
	t.Helper()
	e := &env{clk: newClock(), mem: store.NewMemory()}
	var err error
	e.sessions, err = store.NewSessionCache(e.mem, store.CacheConfig{Now: e.clk.Now})
	require.NoError(t, err)
	e.m, err = NewManager(e.sessions, cfg)
	require.NoError(t, err)
	if hcfg.Hasher == nil {
		hcfg.Hasher = testHasher(t, fastParams)
	}
	e.hasher = hcfg.Hasher
	if hcfg.AccountThrottle == nil {
		e.account, err = NewMemoryThrottle(ThrottleConfig{Now: e.clk.Now})
		require.NoError(t, err)
		hcfg.AccountThrottle = e.account
	}
	if hcfg.AddressThrottle == nil {
		e.address, err = NewMemoryThrottle(ThrottleConfig{FreeFailures: 20, MaxFailures: -1, RefundOnSuccess: true, Now: e.clk.Now})
		require.NoError(t, err)
		hcfg.AddressThrottle = e.address
	}
	if hcfg.Scopes == nil {
		hcfg.Scopes = func(u *store.User) []string { return []string{"read", "write"} }
	}
	e.h, err = NewHandler(e.m, e.mem, hcfg)
	require.NoError(t, err)
	e.user = e.addUser(t, "usr_ada", testEmail, testPassword)
	return e
}

func (e *env) addUser(t *testing.T, id, email, password string) *store.User {
	t.Helper()
	hash, err := e.hasher.Hash(password)
	require.NoError(t, err)
	u := &store.User{ID: id, TenantID: "t1", Email: store.NormalizeEmail(email), Level: store.LevelMember, PasswordHash: hash, CreatedAt: e.clk.Now()}
	require.NoError(t, e.mem.CreateUser(context.Background(), u))
	return u
}

// reqOpt changes a test request.
type reqOpt func(*http.Request)

func fromIP(ip string) reqOpt { return func(r *http.Request) { r.RemoteAddr = ip + ":40000" } }

func withCookie(name, value string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Add(k, v) } }

// do sends one request to h and returns the recorded response.
func do(h http.Handler, method, path, body string, opts ...reqOpt) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func loginBodyOf(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

func (e *env) login(email, password string, opts ...reqOpt) *httptest.ResponseRecorder {
	return do(e.h, "POST", "/api/auth/login", loginBodyOf(email, password), opts...)
}

// sessionCookie returns the session cookie a response set.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, w.Header()["Set-Cookie"])
	return nil
}

// problemOf decodes a problem+json response.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), w.Body.String())
	var p map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	require.EqualValues(t, w.Code, p["status"])
	return p
}

// failingUsers is a user store that is down.
type failingUsers struct{ store.UserStore }

var errDown = errors.New("connection refused to db.internal:5432")

func (failingUsers) UserByEmail(context.Context, string) (*store.User, error) { return nil, errDown }
func (failingUsers) UserByID(context.Context, string) (*store.User, error)    { return nil, errDown }

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
