package session

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	w := e.login(" ADA@Example.com ", testPassword)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	var p PrincipalJSON
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, "usr_ada", p.ID)
	assert.Equal(t, gatehouse.KindSession, p.Kind)
	assert.Equal(t, "t1", p.TenantID)
	assert.Equal(t, []string{"read", "write"}, p.Scopes)
	require.NotNil(t, p.ExpiresAt)
	assert.True(t, p.ExpiresAt.Equal(e.clk.Now().Add(12*time.Hour)))
	assert.NotContains(t, w.Body.String(), "password")

	c := sessionCookie(t, w, DefaultCookieName)
	w = do(e.h, "GET", "/api/auth/session", "", withCookie(c.Name, c.Value))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"id":"usr_ada"`)
}

func TestSessionFixation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{}, HandlerConfig{})
	name := e.m.CookieName()

	t.Run("an attacker-chosen ID is never adopted", func(t *testing.T) {
		planted := strings.Repeat("Q", 43)
		w := e.login(testEmail, testPassword, withCookie(name, planted))
		require.Equal(t, http.StatusOK, w.Code)
		assert.NotEqual(t, planted, sessionCookie(t, w, name).Value)
		_, err := e.m.Verify(ctx, planted)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
		w = do(e.h, "GET", "/api/auth/session", "", withCookie(name, planted))
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	})
	t.Run("the pre-login ID is dead after login", func(t *testing.T) {
		first := sessionCookie(t, e.login(testEmail, testPassword), name).Value
		w := e.login(testEmail, testPassword, withCookie(name, first))
		require.Equal(t, http.StatusOK, w.Code)
		second := sessionCookie(t, w, name).Value
		assert.NotEqual(t, first, second)
		_, err := e.m.Verify(ctx, first)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
		_, err = e.m.Verify(ctx, second)
		assert.NoError(t, err)
	})
	t.Run("a logged-out ID is refused", func(t *testing.T) {
		id := sessionCookie(t, e.login(testEmail, testPassword), name).Value
		w := do(e.h, "POST", "/api/auth/logout", "", withCookie(name, id))
		require.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, -1, sessionCookie(t, w, name).MaxAge)
		w = do(e.h, "GET", "/api/auth/session", "", withCookie(name, id))
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Equal(t, DetailInvalid, problemOf(t, w)["detail"])
		_, err := e.mem.SessionByDigest(ctx, store.Digest(sha256Of(id)))
		assert.ErrorIs(t, err, store.ErrNotFound, "destroyed on the server")
	})
	t.Run("logout without a session", func(t *testing.T) {
		w := do(e.h, "POST", "/api/auth/logout", "")
		assert.Equal(t, http.StatusNoContent, w.Code)
	})
}

func TestSessionEndpointTimeouts(t *testing.T) {
	e := newEnv(t, Config{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour}, HandlerConfig{})
	c := sessionCookie(t, e.login(testEmail, testPassword), e.m.CookieName())
	get := func() int { return do(e.h, "GET", "/api/auth/session", "", withCookie(c.Name, c.Value)).Code }
	for range 6 {
		e.clk.Advance(9*time.Minute + 59*time.Second)
		require.Equal(t, http.StatusOK, get())
	}
	e.clk.Advance(10 * time.Second)
	assert.Equal(t, http.StatusUnauthorized, get(), "absolute timeout")

	c = sessionCookie(t, e.login(testEmail, testPassword), e.m.CookieName())
	e.clk.Advance(10 * time.Minute)
	assert.Equal(t, http.StatusUnauthorized, get(), "idle timeout")
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	id := sessionCookie(t, e.login(testEmail, testPassword), e.m.CookieName()).Value
	cookie := withCookie(e.m.CookieName(), id)
	tests := []struct {
		name string
		path string
		body string
		opts []reqOpt
		want int
	}{
		{"login, curl without Origin", "/api/auth/login", loginBodyOf(testEmail, testPassword), nil, 200},
		{"login, same origin", "/api/auth/login", loginBodyOf(testEmail, testPassword), []reqOpt{withHeader("Sec-Fetch-Site", "same-origin"), withHeader("Origin", "http://example.com")}, 200},
		{"login, cross-site", "/api/auth/login", loginBodyOf(testEmail, testPassword), []reqOpt{withHeader("Sec-Fetch-Site", "cross-site")}, 403},
		{"login, other Origin", "/api/auth/login", loginBodyOf(testEmail, testPassword), []reqOpt{withHeader("Origin", "https://evil.example")}, 403},
		{"login, Origin null", "/api/auth/login", loginBodyOf(testEmail, testPassword), []reqOpt{withHeader("Origin", "null")}, 403},
		{"logout, cross-site", "/api/auth/logout", "", []reqOpt{cookie, withHeader("Sec-Fetch-Site", "cross-site")}, 403},
		{"password, cross-site", "/api/auth/password", `{"current_password":"x","new_password":"yyyyyyyy"}`, []reqOpt{cookie, withHeader("Sec-Fetch-Site", "cross-site")}, 403},
		{"session read, cross-site GET", "/api/auth/session", "", []reqOpt{cookie, withHeader("Sec-Fetch-Site", "cross-site")}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if strings.HasSuffix(tt.path, "/session") {
				method = "GET"
			}
			w := do(e.h, method, tt.path, tt.body, tt.opts...)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.want == 403 {
				p := problemOf(t, w)
				assert.Equal(t, "forbidden", p["code"])
				assert.Empty(t, w.Header()["Set-Cookie"])
			}
		})
	}
	_, err := e.m.Verify(context.Background(), id)
	assert.NoError(t, err, "the cross-site logout did not end the session")
}

func TestUnknownUserAndWrongPasswordIdentical(t *testing.T) {
	calls := countArgon(t)
	e := newEnv(t, Config{}, HandlerConfig{})
	e.addUser(t, "usr_nohash", "nohash@example.com", "x")
	_, err := e.mem.UpdateUser(context.Background(), "usr_nohash", store.UserUpdate{PasswordHash: new(string)})
	require.NoError(t, err)
	e.addUser(t, "usr_broken", "broken@example.com", "x")
	broken := "$argon2id$v=19$garbage"
	_, err = e.mem.UpdateUser(context.Background(), "usr_broken", store.UserUpdate{PasswordHash: &broken})
	require.NoError(t, err)

	cases := []struct{ name, email, password string }{
		{"wrong password", testEmail, "Tr0ub4dor&3"},
		{"unknown user", "nobody@example.com", "Tr0ub4dor&3"},
		{"user without password", "nohash@example.com", "Tr0ub4dor&3"},
		{"user with a broken hash", "broken@example.com", "Tr0ub4dor&3"},
	}
	var first *httptest.ResponseRecorder
	for i, c := range cases {
		calls.Store(0)
		w := e.login(c.email, c.password, fromIP("192.0.2."+itoa(i+1)))
		assert.EqualValues(t, 1, calls.Load(), "%s: one argon2id run", c.name)
		require.Equal(t, http.StatusUnauthorized, w.Code, c.name)
		if first == nil {
			first = w
			p := problemOf(t, w)
			assert.Equal(t, "Incorrect email or password", p["detail"])
			assert.Contains(t, w.Header().Get("WWW-Authenticate"), `realm="api"`)
			continue
		}
		assert.Equal(t, first.Body.String(), w.Body.String(), c.name)
		assert.Equal(t, first.Header(), w.Header(), c.name)
	}
}

func TestThrottledLogin(t *testing.T) {
	t.Run("an attack spread over many addresses trips the account limit", func(t *testing.T) {
		e := newEnv(t, Config{}, HandlerConfig{})
		for i := range 5 {
			w := e.login(testEmail, "guess", fromIP("203.0.113."+itoa(i+1)))
			require.Equal(t, http.StatusUnauthorized, w.Code)
		}
		w := e.login(testEmail, testPassword, fromIP("198.51.100.7"))
		require.Equal(t, http.StatusTooManyRequests, w.Code, "even the right password, from a fresh address")
		assert.Equal(t, "1", w.Header().Get("Retry-After"))
		p := problemOf(t, w)
		assert.Equal(t, "rate_limited", p["code"])
		assert.Empty(t, w.Header()["Set-Cookie"])

		e.clk.Advance(time.Second)
		w = e.login(testEmail, testPassword, fromIP("198.51.100.7"))
		require.Equal(t, http.StatusOK, w.Code)
		assert.Zero(t, e.account.Failures(testEmail), "a success resets the account")
	})
	t.Run("unknown accounts are counted too", func(t *testing.T) {
		e := newEnv(t, Config{}, HandlerConfig{})
		for i := range 5 {
			require.Equal(t, http.StatusUnauthorized, e.login("Ghost@example.com", "guess", fromIP("203.0.113."+itoa(i+1))).Code)
		}
		assert.Equal(t, http.StatusTooManyRequests, e.login("ghost@EXAMPLE.com", "guess", fromIP("203.0.113.99")).Code,
			"normalised e-mail")
	})
	t.Run("one address spraying many accounts", func(t *testing.T) {
		e := newEnv(t, Config{}, HandlerConfig{})
		for i := range 20 {
			require.Equal(t, http.StatusUnauthorized, e.login("user"+itoa(i)+"@example.com", "guess", fromIP("203.0.113.5")).Code)
		}
		w := e.login(testEmail, testPassword, fromIP("203.0.113.5"))
		assert.Equal(t, http.StatusTooManyRequests, w.Code)
		assert.Equal(t, http.StatusOK, e.login(testEmail, testPassword, fromIP("203.0.113.6")).Code)
	})
	t.Run("IPv6 addresses are keyed by their /64", func(t *testing.T) {
		e := newEnv(t, Config{}, HandlerConfig{})
		for i := range 20 {
			r := e.login("user"+itoa(i)+"@example.com", "guess", func(r *http.Request) { r.RemoteAddr = "[2001:db8:1:2::" + itoa(i+1) + "]:443" })
			require.Equal(t, http.StatusUnauthorized, r.Code)
		}
		w := e.login(testEmail, testPassword, func(r *http.Request) { r.RemoteAddr = "[2001:db8:1:2:ffff::1]:443" })
		assert.Equal(t, http.StatusTooManyRequests, w.Code)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLoginBadBodies(t *testing.T) {
	calls := countArgon(t)
	e := newEnv(t, Config{}, HandlerConfig{})
	calls.Store(0)
	huge := `{"email":"ada@example.com","password":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name     string
		body     string
		ct       string
		wantCode int
		wantProb string
	}{
		{"1 MB password", huge, "application/json", 413, "body_too_large"},
		{"password one byte too long", loginBodyOf(testEmail, strings.Repeat("a", MaxPasswordLength+1)), "application/json", 400, "password_too_long"},
		{"unknown member", `{"email":"a@b.c","password":"p","remember":true}`, "application/json", 400, "unknown_field"},
		{"trailing data", `{"email":"a@b.c","password":"p"} {}`, "application/json", 400, "malformed_body"},
		{"not an object", `["a@b.c","p"]`, "application/json", 400, "malformed_body"},
		{"empty body", ``, "application/json", 400, "malformed_body"},
		{"missing password", `{"email":"a@b.c"}`, "application/json", 400, "invalid_body"},
		{"wrong type", `{"email":"a@b.c","password":123}`, "application/json", 400, "malformed_body"},
		{"control character in email", `{"email":"a@b.c\u0000","password":"p"}`, "application/json", 400, "invalid_body"},
		{"email too long", loginBodyOf(strings.Repeat("a", 400)+"@example.com", "p"), "application/json", 400, "invalid_body"},
		{"form encoded", `email=a@b.c&password=p`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			w := do(e.h, "POST", "/api/auth/login", tt.body, withHeader("Content-Type", tt.ct), func(r *http.Request) {
				r.Header.Set("Content-Type", tt.ct)
			})
			elapsed := time.Since(start)
			require.Equal(t, tt.wantCode, w.Code, w.Body.String())
			assert.Equal(t, tt.wantProb, problemOf(t, w)["code"])
			assert.Less(t, elapsed, 2*time.Second)
		})
	}
	assert.Zero(t, calls.Load(), "no argon2id run for a refused body")
	assert.Zero(t, e.account.Len(), "nothing counted")
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{}, HandlerConfig{})
	name := e.m.CookieName()
	current := sessionCookie(t, e.login(testEmail, testPassword), name).Value
	otherDevice := sessionCookie(t, e.login(testEmail, testPassword, fromIP("192.0.2.50")), name).Value
	body := func(cur, nw string) string {
		b, _ := json.Marshal(map[string]string{"current_password": cur, "new_password": nw})
		return string(b)
	}

	w := do(e.h, "POST", "/api/auth/password", body("wrong", "a new passphrase"), withCookie(name, current))
	require.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, "The current password is incorrect", problemOf(t, w)["detail"])

	w = do(e.h, "POST", "/api/auth/password", body(testPassword, "short"), withCookie(name, current))
	require.Equal(t, http.StatusUnprocessableEntity, w.Code)
	assert.Contains(t, problemOf(t, w)["errors"], "new_password")

	w = do(e.h, "POST", "/api/auth/password", body(testPassword, "a new passphrase"))
	require.Equal(t, http.StatusUnauthorized, w.Code, "needs a session")

	w = do(e.h, "POST", "/api/auth/password", body(testPassword, "a new passphrase"), withCookie(name, current))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	fresh := sessionCookie(t, w, name).Value
	assert.NotEqual(t, current, fresh, "the current session gets a fresh ID")
	for _, id := range []string{current, otherDevice} {
		_, err := e.m.Verify(ctx, id)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	}
	_, err := e.m.Verify(ctx, fresh)
	assert.NoError(t, err)

	assert.Equal(t, http.StatusUnauthorized, e.login(testEmail, testPassword).Code, "old password")
	assert.Equal(t, http.StatusOK, e.login(testEmail, "a new passphrase").Code)
}

func TestChangePasswordThrottled(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	name := e.m.CookieName()
	id := sessionCookie(t, e.login(testEmail, testPassword), name).Value
	for range 5 {
		w := do(e.h, "POST", "/api/auth/password", `{"current_password":"guess","new_password":"whatever123"}`, withCookie(name, id))
		require.Equal(t, http.StatusForbidden, w.Code)
	}
	w := do(e.h, "POST", "/api/auth/password", `{"current_password":"guess","new_password":"whatever123"}`, withCookie(name, id))
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, http.StatusTooManyRequests, e.login(testEmail, testPassword, fromIP("192.0.2.77")).Code,
		"password guesses and login guesses share the account's count")
}

func TestRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	stronger := Params{MemoryKiB: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	e := newEnv(t, Config{}, HandlerConfig{Hasher: testHasher(t, stronger)})
	weak, err := testHasher(t, fastParams).Hash("old and weak")
	require.NoError(t, err)
	_, err = e.mem.UpdateUser(ctx, e.user.ID, store.UserUpdate{PasswordHash: &weak})
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, e.login(testEmail, "old and weak").Code)
	u, err := e.mem.UserByID(ctx, e.user.ID)
	require.NoError(t, err)
	assert.Contains(t, u.PasswordHash, "$m=128,t=2,p=1$")
	require.Equal(t, http.StatusOK, e.login(testEmail, "old and weak").Code, "the new hash verifies")
}

func TestHandlerErrors(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	name := e.m.CookieName()
	id := sessionCookie(t, e.login(testEmail, testPassword), name).Value

	t.Run("user store down", func(t *testing.T) {
		h, err := NewHandler(e.m, failingUsers{}, HandlerConfig{Hasher: e.hasher})
		require.NoError(t, err)
		w := do(h, "POST", "/api/auth/login", loginBodyOf(testEmail, testPassword))
		require.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.NotContains(t, w.Body.String(), "db.internal")
		assert.Empty(t, w.Header()["Set-Cookie"])
	})
	t.Run("two session cookies", func(t *testing.T) {
		w := do(e.h, "GET", "/api/auth/session", "", withCookie(name, id), withCookie(name, id))
		require.Equal(t, http.StatusBadRequest, w.Code)
		assert.Equal(t, "invalid_request", problemOf(t, w)["code"])
	})
	t.Run("no session cookie", func(t *testing.T) {
		w := do(e.h, "GET", "/api/auth/session", "")
		require.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Equal(t, "unauthenticated", problemOf(t, w)["code"])
		assert.Equal(t, `Bearer realm="api"`, w.Header().Get("WWW-Authenticate"))
	})
	t.Run("wrong method", func(t *testing.T) {
		w := do(e.h, "GET", "/api/auth/login", "")
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "method_not_allowed", problemOf(t, w)["code"])
	})
	t.Run("unknown path", func(t *testing.T) {
		w := do(e.h, "GET", "/api/auth/nope", "")
		assert.Equal(t, http.StatusNotFound, w.Code)
		problemOf(t, w)
	})
	t.Run("config", func(t *testing.T) {
		_, err := NewHandler(nil, e.mem, HandlerConfig{})
		assert.Error(t, err)
		_, err = NewHandler(e.m, e.mem, HandlerConfig{Prefix: "/auth/"})
		assert.Error(t, err)
		_, err = NewHandler(e.m, e.mem, HandlerConfig{Realm: `a"b`})
		assert.Error(t, err)
		h, err := NewHandler(e.m, e.mem, HandlerConfig{Prefix: "/auth", Hasher: e.hasher})
		require.NoError(t, err)
		assert.Equal(t, []string{"/auth/login", "/auth/logout", "/auth/session", "/auth/password"}, h.Paths())
	})
}

// TestThroughMiddleware checks the manager as the middleware's cookie
// authenticator: the cookie authenticates safe requests, cross-site unsafe
// requests are refused, and a Bearer request is not subject to the check.
func TestThroughMiddleware(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	mw, err := middleware.New(middleware.Config{}, e.m)
	require.NoError(t, err)
	protected := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		_, _ = w.Write([]byte(p.ID))
	}))
	name := e.m.CookieName()
	id := sessionCookie(t, e.login(testEmail, testPassword), name).Value
	tests := []struct {
		name   string
		method string
		opts   []reqOpt
		want   int
	}{
		{"GET with the cookie", "GET", []reqOpt{withCookie(name, id)}, 200},
		{"POST, curl without Origin", "POST", []reqOpt{withCookie(name, id)}, 200},
		{"POST cross-site", "POST", []reqOpt{withCookie(name, id), withHeader("Sec-Fetch-Site", "cross-site")}, 403},
		{"POST Origin null", "POST", []reqOpt{withCookie(name, id), withHeader("Origin", "null")}, 403},
		{"attacker-chosen ID", "GET", []reqOpt{withCookie(name, strings.Repeat("Q", 43))}, 401},
		{"duplicate cookie", "GET", []reqOpt{withCookie(name, id), withCookie(name, id)}, 400},
		{"no cookie", "GET", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(protected, tt.method, "/x", "", tt.opts...)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.want == 200 {
				assert.Equal(t, "usr_ada", w.Body.String())
			}
		})
	}
	do(e.h, "POST", "/api/auth/logout", "", withCookie(name, id))
	assert.Equal(t, http.StatusUnauthorized, do(protected, "GET", "/x", "", withCookie(name, id)).Code, "logged out")
}
