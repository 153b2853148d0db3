package session

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// sessionDB is what the login flow needs from a store.
type sessionDB interface {
	store.UserStore
	store.SessionStore
}

// TestBackends runs the login, fixation, logout, password change and
// timeout cases on every store: memory, SQLite and PostgreSQL.
func TestBackends(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T, clk *clock) sessionDB
	}{
		{"memory", func(t *testing.T, _ *clock) sessionDB { return store.NewMemory() }},
		{"sqlite", func(t *testing.T, clk *clock) sessionDB {
			return openSQL(t, filepath.Join(t.TempDir(), "gatehouse.db"), clk)
		}},
		{"postgres", func(t *testing.T, clk *clock) sessionDB { return openSQL(t, postgresDSN(t), clk) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			db := be.open(t, clk)
			sessions, err := store.NewSessionCache(db, store.CacheConfig{Now: clk.Now})
			require.NoError(t, err)
			m, err := NewManager(sessions, Config{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour})
			require.NoError(t, err)
			hasher := testHasher(t, fastParams)
			h, err := NewHandler(m, db, HandlerConfig{Hasher: hasher})
			require.NoError(t, err)
			hash, err := hasher.Hash(testPassword)
			require.NoError(t, err)
			require.NoError(t, db.CreateUser(ctx, &store.User{ID: "usr_ada", Email: testEmail, Level: store.LevelMember,
				Scopes: []string{"read"}, PasswordHash: hash, CreatedAt: clk.Now()}))
			name := m.CookieName()
			login := func(opts ...reqOpt) *http.Cookie {
				w := do(h, "POST", "/api/auth/login", loginBodyOf(testEmail, testPassword), opts...)
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				return sessionCookie(t, w, name)
			}
			dead := func(id, why string) {
				t.Helper()
				_, err := m.Verify(ctx, id)
				assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, why)
				sessions.InvalidateAll()
				_, err = m.Verify(ctx, id)
				assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, why+" (loaded from the store)")
			}

			planted := "attacker-chosen-session-id-of-43-characters"
			require.Len(t, planted, 43)
			first := login(withCookie(name, planted)).Value
			assert.NotEqual(t, planted, first)
			dead(planted, "planted ID")

			second := login(withCookie(name, first)).Value
			dead(first, "pre-login ID")

			w := do(h, "POST", "/api/auth/logout", "", withCookie(name, second))
			require.Equal(t, http.StatusNoContent, w.Code)
			dead(second, "logged-out ID")

			// Idle timeout across a cache reload, and the absolute one.
			id := login().Value
			for range 3 {
				clk.Advance(29 * time.Minute)
				sessions.InvalidateAll()
				_, err := m.Verify(ctx, id)
				require.NoError(t, err, "used every 29 minutes")
			}
			clk.Advance(30 * time.Minute)
			dead(id, "idle")
			id = login().Value
			for range 4 {
				clk.Advance(29 * time.Minute)
				_, err := m.Verify(ctx, id)
				require.NoError(t, err)
			}
			clk.Advance(4 * time.Minute)
			dead(id, "absolute")

			// A password change ends every session and issues a new one.
			a, b := login().Value, login().Value
			w = do(h, "POST", "/api/auth/password", `{"current_password":"`+testPassword+`","new_password":"new passphrase"}`, withCookie(name, a))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			dead(a, "current session after a password change")
			dead(b, "other session after a password change")
			_, err = m.Verify(ctx, sessionCookie(t, w, name).Value)
			assert.NoError(t, err)
		})
	}
}

func openSQL(t *testing.T, dsn string, clk *clock) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Config{Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// postgresDSN makes a database of the test's own (see testdb).
func postgresDSN(t *testing.T) string { return testdb.Postgres(t, "gh_session_") }
