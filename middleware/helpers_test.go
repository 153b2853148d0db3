package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

const testPrefix = "cpx_live."

var testFormat = apikey.MustFormat(testPrefix)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// countingStore wraps a KeyStore and counts KeyByDigest calls, the only
// call the request path makes. When lookup is set (before the store is
// shared) it replaces KeyByDigest, to make the backend fail or block.
type countingStore struct {
	store.KeyStore
	calls  atomic.Int64
	lookup func(ctx context.Context, d store.Digest) (*store.Key, error)
}

func (s *countingStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	s.calls.Add(1)
	if s.lookup != nil {
		return s.lookup(ctx, d)
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

// fixture is a middleware in front of an API-key authenticator, a
// store.KeyCache (unless noCache) and a counting wrapper of a memory store,
// all on one fake clock.
type fixture struct {
	clock *fakeClock
	mem   *store.Memory
	probe *countingStore
	cache *store.KeyCache // nil with noCache
	keys  *apikey.Authenticator
	mw    *middleware.Middleware
}

type fixtureConfig struct {
	cache   store.CacheConfig
	noCache bool
	mw      middleware.Config
	// before and after are authenticators tried before and after the
	// API-key authenticator.
	before, after []gatehouse.Authenticator
	lookup        func(ctx context.Context, d store.Digest) (*store.Key, error)
}

type option func(*fixtureConfig)

func withCache(c store.CacheConfig) option { return func(fc *fixtureConfig) { fc.cache = c } }
func withoutCache() option                 { return func(fc *fixtureConfig) { fc.noCache = true } }
func withConfig(c middleware.Config) option {
	return func(fc *fixtureConfig) { fc.mw = c }
}
func withLookup(l func(ctx context.Context, d store.Digest) (*store.Key, error)) option {
	return func(fc *fixtureConfig) { fc.lookup = l }
}
func withAuthenticators(before, after []gatehouse.Authenticator) option {
	return func(fc *fixtureConfig) { fc.before, fc.after = before, after }
}

func newFixture(t testing.TB, opts ...option) *fixture {
	t.Helper()
	var fc fixtureConfig
	for _, o := range opts {
		o(&fc)
	}
	f := &fixture{clock: newFakeClock(), mem: store.NewMemory()}
	f.probe = &countingStore{KeyStore: f.mem, lookup: fc.lookup}
	var ks store.KeyStore = f.probe
	if !fc.noCache {
		cc := fc.cache
		cc.Now = f.clock.Now
		var err error
		f.cache, err = store.NewKeyCache(f.probe, cc)
		require.NoError(t, err)
		ks = f.cache
	}
	var err error
	f.keys, err = apikey.NewAuthenticator(testFormat, ks, apikey.Config{Now: f.clock.Now})
	require.NoError(t, err)
	auths := append(append(append([]gatehouse.Authenticator(nil), fc.before...), f.keys), fc.after...)
	f.mw, err = middleware.New(fc.mw, auths...)
	require.NoError(t, err)
	return f
}

// issue stores a new key in the memory store (not through the counting
// wrapper, so that it costs no counted call) and returns it with its record.
func (f *fixture) issue(t testing.TB, p apikey.Params) (string, *store.Key) {
	t.Helper()
	if p.Name == "" {
		p.Name = "test key"
	}
	if p.OwnerID == "" {
		p.OwnerID = "usr_alice"
	}
	p.Now = f.clock.Now()
	key, rec, err := apikey.Issue(context.Background(), f.mem, testFormat, nil, p)
	require.NoError(t, err)
	return key, rec
}

// revoke revokes id through the cache when there is one, as an admin API
// in this process does.
func (f *fixture) revoke(t *testing.T, id string) {
	t.Helper()
	var ks store.KeyStore = f.probe
	if f.cache != nil {
		ks = f.cache
	}
	_, err := ks.RevokeKey(context.Background(), id, f.clock.Now())
	require.NoError(t, err)
}

// echo is the protected handler: 200 with the principal's ID, or
// "anonymous" when the context has none.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if p, ok := gatehouse.FromContext(r.Context()); ok {
		_, _ = w.Write([]byte("hello " + p.ID))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
})

// get serves a GET / through h after mutate has shaped the request.
func get(h http.Handler, mutate func(r *http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if mutate != nil {
		mutate(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(key string) func(r *http.Request) {
	return authz("Bearer " + key)
}

// authz sets the Authorization header to the raw values given (none: no
// header), bypassing Header.Set so that any bytes get through.
func authz(values ...string) func(r *http.Request) {
	return func(r *http.Request) {
		if len(values) > 0 {
			r.Header["Authorization"] = values
		}
	}
}

// problem is the body the default error handler writes, decoded.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// requireProblem checks that w is an RFC 9457 refusal with status and code
// and exactly the members type, title, status, detail and code, and
// returns it decoded.
func requireProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) problem {
	t.Helper()
	require.Equal(t, status, w.Code, "status; body %s", w.Body.String())
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	var members map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &members), "body %q", w.Body.String())
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"type", "title", "status", "detail", "code"}, keys)
	var p problem
	dec := json.NewDecoder(strings.NewReader(w.Body.String()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	assert.Equal(t, "about:blank", p.Type)
	assert.Equal(t, http.StatusText(status), p.Title)
	assert.Equal(t, status, p.Status, "the status member equals the HTTP status")
	assert.Equal(t, code, p.Code)
	assert.NotEmpty(t, p.Detail)
	assertSafeHeaders(t, w.Header())
	return p
}

// challenge is one parsed WWW-Authenticate challenge.
type challenge struct {
	Scheme string
	Params map[string]string
}

// parseChallenge parses `Scheme k="v", k="v"` as the default error handler
// writes it (one challenge per header line, quoted values without escapes).
func parseChallenge(t *testing.T, s string) challenge {
	t.Helper()
	scheme, rest, _ := strings.Cut(s, " ")
	c := challenge{Scheme: scheme, Params: map[string]string{}}
	for rest != "" {
		k, after, ok := strings.Cut(rest, `="`)
		require.True(t, ok, "challenge %q: parameter without a quoted value", s)
		v, after, ok := strings.Cut(after, `"`)
		require.True(t, ok, "challenge %q: unterminated quoted value", s)
		_, dup := c.Params[k]
		require.False(t, dup, "challenge %q repeats %s", s, k)
		c.Params[k] = v
		if after == "" {
			break
		}
		rest = strings.TrimPrefix(after, ", ")
		require.NotEqual(t, after, rest, "challenge %q: parameters must be separated by \", \"", s)
	}
	return c
}

// bearerChallenge returns the Bearer challenge of w, failing when there is
// none.
func bearerChallenge(t *testing.T, w *httptest.ResponseRecorder) challenge {
	t.Helper()
	for _, v := range w.Header().Values("WWW-Authenticate") {
		if c := parseChallenge(t, v); c.Scheme == "Bearer" {
			return c
		}
	}
	require.Failf(t, "no Bearer challenge", "WWW-Authenticate: %q", w.Header().Values("WWW-Authenticate"))
	return challenge{}
}

// assertSafeHeaders checks that every response header value holds only
// visible ASCII and spaces (SECURITY.md: no user input, no control
// characters in a header).
func assertSafeHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, vs := range h {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] > 0x7e {
					assert.Failf(t, "unsafe header byte", "%s: %q has byte %#x", k, v, v[i])
					break
				}
			}
		}
	}
}

// assertNoLeak checks that no response header or body holds any of
// secrets.
func assertNoLeak(t *testing.T, w *httptest.ResponseRecorder, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		assert.NotContains(t, w.Body.String(), s, "the body holds a submitted secret")
		for k, vs := range w.Header() {
			for _, v := range vs {
				assert.NotContains(t, v, s, "header %s holds a submitted secret", k)
			}
		}
	}
}

// stubAuth is an authenticator for a scheme other than the API key's,
// returning a fixed principal or error: a stand-in for JWT, Basic and
// session authenticators in tests of the middleware's mapping.
type stubAuth struct {
	scheme string // accepted Authorization scheme; "" with cookie
	cookie string // when set, accepts that cookie and implements CookieAuthenticator
	valid  string // the one value that authenticates
	p      *gatehouse.Principal
	err    error // returned for any other value
	calls  atomic.Int64
	panics bool
}

func (s *stubAuth) Accepts(c gatehouse.Credential) bool {
	if s.cookie != "" {
		return c.Source == gatehouse.SourceCookie
	}
	return c.Source == gatehouse.SourceHeader && c.Scheme == s.scheme
}

func (s *stubAuth) Authenticate(_ context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	s.calls.Add(1)
	if s.panics {
		panic("stub authenticator exploded with " + c.Value)
	}
	if s.valid != "" && c.Value == s.valid {
		return s.p, nil
	}
	return nil, s.err
}

// cookieStub is a stubAuth that reads a cookie.
type cookieStub struct{ *stubAuth }

func (c cookieStub) CookieName() string { return c.cookie }

var _ middleware.CookieAuthenticator = cookieStub{}

// errorsIsOneOf reports whether err wraps one of targets.
func errorsIsOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
