package session

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestNewManagerConfig(t *testing.T) {
	sc, err := store.NewSessionCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	tests := []struct {
		name     string
		cfg      Config
		wantName string
		wantErr  bool
	}{
		{"defaults", Config{}, "__Host-gatehouse_session", false},
		{"dev mode", Config{InsecureDevCookie: true}, "gatehouse_session", false},
		{"dev mode keeps a custom name", Config{InsecureDevCookie: true, CookieName: "sid"}, "sid", false},
		{"dev mode refuses __Host-", Config{InsecureDevCookie: true, CookieName: "__Host-sid"}, "", true},
		{"dev mode refuses __Secure-", Config{InsecureDevCookie: true, CookieName: "__Secure-sid"}, "", true},
		{"strict", Config{SameSite: http.SameSiteStrictMode}, "__Host-gatehouse_session", false},
		{"SameSite=None", Config{SameSite: http.SameSiteNoneMode}, "", true},
		{"name with a space", Config{CookieName: "my session"}, "", true},
		{"name with a slash", Config{CookieName: "a/b"}, "", true},
		{"name with =", Config{CookieName: "a=b"}, "", true},
		{"negative idle", Config{IdleTimeout: -time.Second}, "", true},
		{"negative absolute", Config{AbsoluteTimeout: -time.Second}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewManager(sc, tt.cfg)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, m.CookieName())
		})
	}
	_, err = NewManager(nil, Config{})
	assert.Error(t, err)
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantName   string
		wantSecure bool
		wantSite   http.SameSite
	}{
		{"production", Config{}, "__Host-gatehouse_session", true, http.SameSiteLaxMode},
		{"strict", Config{SameSite: http.SameSiteStrictMode}, "__Host-gatehouse_session", true, http.SameSiteStrictMode},
		{"development", Config{InsecureDevCookie: true}, "gatehouse_session", false, http.SameSiteLaxMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, HandlerConfig{})
			w := httptest.NewRecorder()
			s, err := e.m.Start(context.Background(), w, e.user, []string{"read"})
			require.NoError(t, err)
			raw := w.Header().Get("Set-Cookie")
			c := sessionCookie(t, w, tt.wantName)
			assert.Equal(t, "/", c.Path)
			assert.Empty(t, c.Domain)
			assert.NotContains(t, strings.ToLower(raw), "domain=")
			assert.True(t, c.HttpOnly)
			assert.Equal(t, tt.wantSecure, c.Secure)
			assert.Equal(t, tt.wantSite, c.SameSite)
			assert.Equal(t, 12*3600, c.MaxAge)
			assert.True(t, s.ExpiresAt.Equal(e.clk.Now().Add(12*time.Hour)))

			// 256 bits from crypto/rand; only the digest is stored.
			id, err := base64.RawURLEncoding.DecodeString(c.Value)
			require.NoError(t, err)
			assert.Len(t, id, 32)
			stored, err := e.mem.SessionByDigest(context.Background(), store.Digest(sha256Of(c.Value)))
			require.NoError(t, err)
			assert.Equal(t, e.user.ID, stored.UserID)
			assert.Equal(t, []string{"read"}, stored.Scopes)
		})
	}
}

func TestLogoutCookieExpires(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", nil)
	require.NoError(t, e.m.Destroy(context.Background(), w, r))
	c := sessionCookie(t, w, DefaultCookieName)
	assert.Empty(t, c.Value)
	assert.Equal(t, -1, c.MaxAge)
	assert.True(t, c.Secure)
	assert.Contains(t, w.Header().Get("Set-Cookie"), "Max-Age=0")
}

// start logs the test user in directly and returns the session ID.
func (e *env) start(t *testing.T) string {
	t.Helper()
	w := httptest.NewRecorder()
	_, err := e.m.Start(context.Background(), w, e.user, []string{"read"})
	require.NoError(t, err)
	return sessionCookie(t, w, e.m.CookieName()).Value
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour}, HandlerConfig{})
	id := e.start(t)

	p, err := e.m.Verify(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, &gatehouse.Principal{ID: "usr_ada", Kind: gatehouse.KindSession, TenantID: "t1", Scopes: []string{"read"},
		ExpiresAt: e.clk.Now().Add(8 * time.Hour)}, p)
	again, err := e.m.Authenticate(ctx, gatehouse.Credential{Source: gatehouse.SourceCookie, Value: id})
	require.NoError(t, err)
	assert.Same(t, p, again, "the principal is built once and shared")

	tests := []struct {
		name   string
		id     string
		reason gatehouse.Reason
	}{
		{"empty", "", gatehouse.ReasonMalformed},
		{"short", id[:20], gatehouse.ReasonMalformed},
		{"long", id + "A", gatehouse.ReasonMalformed},
		{"bad character", "!" + id[1:], gatehouse.ReasonMalformed},
		{"NUL", "\x00" + id[1:], gatehouse.ReasonMalformed},
		{"attacker-chosen, well formed", strings.Repeat("A", 43), gatehouse.ReasonUnknown},
		{"one character changed", flip(id), gatehouse.ReasonUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.m.Verify(ctx, tt.id)
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
			assert.Equal(t, tt.reason, ge.Reason)
			assert.Equal(t, DetailInvalid, ge.Detail)
		})
	}
}

func flip(id string) string {
	b := []byte(id)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	const idle, absolute = 30 * time.Minute, 2 * time.Hour
	tests := []struct {
		name  string
		steps []time.Duration // advance, then verify (all but the last must pass)
	}{
		{"idle: unused for exactly the idle timeout", []time.Duration{idle}},
		{"idle: unused one second past it", []time.Duration{idle + time.Second}},
		{"idle: used just before, then idle again", []time.Duration{idle - time.Second, idle - time.Second, idle}},
		{"absolute: active all the time", []time.Duration{29 * time.Minute, 29 * time.Minute, 29 * time.Minute, 29 * time.Minute, 4 * time.Minute}},
		{"absolute: one second early passes, then it ends", []time.Duration{29 * time.Minute, 29 * time.Minute, 29 * time.Minute, 29 * time.Minute, 4*time.Minute - time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{IdleTimeout: idle, AbsoluteTimeout: absolute}, HandlerConfig{})
			id := e.start(t)
			for i, d := range tt.steps {
				e.clk.Advance(d)
				_, err := e.m.Verify(ctx, id)
				if i < len(tt.steps)-1 {
					require.NoError(t, err, "step %d", i)
					continue
				}
				var ge *gatehouse.Error
				require.ErrorAs(t, err, &ge, "step %d", i)
				assert.Equal(t, gatehouse.ReasonExpired, ge.Reason)
			}
		})
	}
}

func TestIdleTimeoutSurvivesReload(t *testing.T) {
	// The last use is flushed to the store, so that another process (or
	// this one after the cache entry is gone) sees it.
	ctx := context.Background()
	e := newEnv(t, Config{IdleTimeout: 30 * time.Minute}, HandlerConfig{})
	id := e.start(t)
	e.clk.Advance(20 * time.Minute)
	_, err := e.m.Verify(ctx, id)
	require.NoError(t, err)
	require.NoError(t, e.sessions.Flush(ctx))
	e.sessions.InvalidateAll()
	e.clk.Advance(20 * time.Minute)
	_, err = e.m.Verify(ctx, id)
	require.NoError(t, err, "40 minutes after login but 20 after the last use")
}

func TestShorterAbsoluteTimeoutEndsOlderSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{AbsoluteTimeout: 12 * time.Hour}, HandlerConfig{})
	id := e.start(t)
	m2, err := NewManager(e.sessions, Config{AbsoluteTimeout: time.Hour, Now: e.clk.Now})
	require.NoError(t, err)
	e.clk.Advance(59 * time.Minute)
	_, err = m2.Verify(ctx, id)
	require.NoError(t, err)
	e.clk.Advance(time.Minute)
	_, err = m2.Verify(ctx, id)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
}

func TestDestroyRenewDestroyUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{}, HandlerConfig{})

	t.Run("destroy", func(t *testing.T) {
		id := e.start(t)
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: id})
		require.NoError(t, e.m.Destroy(ctx, httptest.NewRecorder(), r))
		_, err := e.m.Verify(ctx, id)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
		_, err = e.mem.SessionByDigest(ctx, store.Digest(sha256Of(id)))
		assert.ErrorIs(t, err, store.ErrNotFound, "gone from the store, not only the cache")
	})
	t.Run("renew", func(t *testing.T) {
		old := e.start(t)
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: old})
		w := httptest.NewRecorder()
		_, err := e.m.Renew(ctx, w, r, e.user, []string{"admin"})
		require.NoError(t, err)
		fresh := sessionCookie(t, w, e.m.CookieName()).Value
		assert.NotEqual(t, old, fresh)
		_, err = e.m.Verify(ctx, old)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "the old ID is dead")
		p, err := e.m.Verify(ctx, fresh)
		require.NoError(t, err)
		assert.Equal(t, []string{"admin"}, p.Scopes)
	})
	t.Run("destroy user", func(t *testing.T) {
		a, b := e.start(t), e.start(t)
		other := e.addUser(t, "usr_bob", "bob@example.com", "bobs password")
		w := httptest.NewRecorder()
		_, err := e.m.Start(ctx, w, other, nil)
		require.NoError(t, err)
		bob := sessionCookie(t, w, e.m.CookieName()).Value
		_, err = e.m.Verify(ctx, a)
		require.NoError(t, err, "cached before the revocation")

		require.NoError(t, e.m.DestroyUser(ctx, e.user.ID))
		for _, id := range []string{a, b} {
			_, err := e.m.Verify(ctx, id)
			assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
		}
		_, err = e.m.Verify(ctx, bob)
		assert.NoError(t, err, "another user's session lives on")
	})
}

func TestVerifyStoreDown(t *testing.T) {
	sc, err := store.NewSessionCache(downSessions{}, store.CacheConfig{})
	require.NoError(t, err)
	m, err := NewManager(sc, Config{})
	require.NoError(t, err)
	_, err = m.Verify(context.Background(), strings.Repeat("A", 43))
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken)
	_, err = m.Start(context.Background(), httptest.NewRecorder(), &store.User{ID: "u"}, nil)
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
}

type downSessions struct{ store.SessionStore }

func (downSessions) SessionByDigest(context.Context, store.Digest) (*store.Session, error) {
	return nil, errDown
}
func (downSessions) CreateSession(context.Context, *store.Session) error { return errDown }

// TestImportedSessionWithBadID: a session stored with the digest of an ID
// that is not base64url (imported, say) is refused, even after something
// else has loaded it into the cache; a well-formed ID loaded the same way
// is accepted, checked once.
func TestImportedSessionWithBadID(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 8 * time.Hour}, HandlerConfig{})
	now := e.clk.Now()
	h, err := store.NewHasher(nil)
	require.NoError(t, err)
	bad := strings.Repeat("!", 43)
	good := strings.Repeat("B", 43)
	for _, id := range []string{bad, good} {
		require.NoError(t, e.mem.CreateSession(ctx, &store.Session{Digest: h.Sum(id), UserID: e.user.ID, TenantID: "t1",
			Scopes: []string{"read"}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
		// An administrative read puts the record in the cache.
		_, err := e.sessions.SessionByDigest(ctx, h.Sum(id))
		require.NoError(t, err)
	}
	for range 2 {
		_, err = e.m.Verify(ctx, bad)
		var ge *gatehouse.Error
		require.ErrorAs(t, err, &ge)
		assert.Equal(t, gatehouse.ReasonMalformed, ge.Reason)

		p, err := e.m.Verify(ctx, good)
		require.NoError(t, err)
		assert.Equal(t, e.user.ID, p.ID)
	}
}
