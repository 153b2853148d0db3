package benchmarks

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	chimw "github.com/go-chi/chi/v5/middleware"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

const (
	benchEmail    = "ada@example.com"
	benchPassword = "correct horse battery staple"
)

// sessionSetup returns a memory store with one user whose password is
// hashed at session.DefaultParams, and the hasher.
func sessionSetup(b *testing.B) (*store.Memory, *session.Hasher) {
	b.Helper()
	db := store.NewMemory()
	hasher, err := session.NewHasher(session.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := hasher.Hash(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	err = db.CreateUser(context.Background(), &store.User{ID: "u1", Email: benchEmail, Level: store.LevelMember,
		Scopes: []string{"read"}, PasswordHash: hash})
	if err != nil {
		b.Fatal(err)
	}
	return db, hasher
}

// BenchmarkSession is a request with a cached session cookie through the
// middleware, beside the floor: cookie scan, digest, LRU hit, context
// attach.
func BenchmarkSession(b *testing.B) {
	db, _ := sessionSetup(b)
	sessions, err := store.NewSessionCache(db, store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	mgr, err := session.NewManager(sessions, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := db.UserByID(context.Background(), "u1")
	w := httptest.NewRecorder()
	if _, err := mgr.Start(context.Background(), w, u, []string{"read"}); err != nil {
		b.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	m, err := middleware.New(middleware.Config{}, mgr)
	if err != nil {
		b.Fatal(err)
	}

	principal := &gatehouse.Principal{ID: "u1", Kind: gatehouse.KindSession, Scopes: []string{"read"}}
	cache, _ := lru.New[[32]byte, *gatehouse.Principal](1024)
	cache.Add(sha256.Sum256([]byte(cookie.Value)), principal)
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Header.Get("Cookie")
		_, v, ok := strings.Cut(line, cookie.Name+"=")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		v, _, _ = strings.Cut(v, ";")
		var buf [64]byte
		n := copy(buf[:], v)
		p, ok := cache.Get(sha256.Sum256(buf[:n]))
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})

	for _, c := range []contender{
		{"floor", floor},
		{"gatehouse", m.Handler(okHandler)},
		{"gatehouse-scoped", m.Handler(m.MustRequireScopes("read")(okHandler))},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", "theme=dark; "+cookie.Name+"="+cookie.Value)
			serve(b, c.h, r, http.StatusNoContent)
		})
	}
}

// BenchmarkBasic is a Basic request whose user and password are in the
// verification cache, through the middleware.
func BenchmarkBasic(b *testing.B) {
	db, hasher := sessionSetup(b)
	basic, err := session.NewBasic(db, session.BasicConfig{Hasher: hasher})
	if err != nil {
		b.Fatal(err)
	}
	m, err := middleware.New(middleware.Config{}, basic)
	if err != nil {
		b.Fatal(err)
	}
	header := "Basic " + base64.StdEncoding.EncodeToString([]byte(benchEmail+":"+benchPassword))
	request := func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		return r
	}
	b.Run("gatehouse-cached", func(b *testing.B) {
		serve(b, m.Handler(okHandler), request(), http.StatusNoContent)
	})
	// The peers keep the password itself in memory and compare it in
	// constant time: no hash at rest, so no hash to verify. Gatehouse
	// stores only an argon2id hash and answers repeats from a cache keyed
	// by an HMAC of user and password: the rows show what that costs.
	users := map[string]string{benchEmail: benchPassword}
	b.Run("chi", func(b *testing.B) {
		serve(b, chimw.BasicAuth("bench", users)(okHandler), request(), http.StatusNoContent)
	})
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.GET("/", gin.BasicAuth(gin.Accounts(users)), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	b.Run("gin", func(b *testing.B) { serve(b, g, request(), http.StatusNoContent) })
	e := echo.New()
	e.Use(echomw.BasicAuth(func(u, p string, _ echo.Context) (bool, error) {
		want, ok := users[u]
		return ok && subtle.ConstantTimeCompare([]byte(p), []byte(want)) == 1, nil
	}))
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	b.Run("echo", func(b *testing.B) { serve(b, e, request(), http.StatusNoContent) })
}

// BenchmarkLogin is POST /api/auth/login with the right password: one
// argon2id verification at session.DefaultParams (m=19 MiB, t=2, p=1) and
// a new session.
func BenchmarkLogin(b *testing.B) {
	db, hasher := sessionSetup(b)
	sessions, err := store.NewSessionCache(db, store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	mgr, err := session.NewManager(sessions, session.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := session.NewHandler(mgr, db, session.HandlerConfig{Hasher: hasher})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"email":"` + benchEmail + `","password":"` + benchPassword + `"}`
	b.Run("argon2id", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := newNopWriter()
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
	})
}
