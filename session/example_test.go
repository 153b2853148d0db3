package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

// Example logs a user in, calls a protected route with the session cookie,
// and logs out.
func Example() {
	ctx := context.Background()
	db := store.NewMemory()
	hasher, _ := session.NewHasher(session.DefaultParams)
	hash, _ := hasher.Hash("correct horse battery staple")
	_ = db.CreateUser(ctx, &store.User{ID: "usr_ada", Email: "ada@example.com", Scopes: []string{"read"}, PasswordHash: hash})

	sessions, _ := store.NewSessionCache(db, store.CacheConfig{})
	mgr, err := session.NewManager(sessions, session.Config{})
	if err != nil {
		panic(err)
	}
	auth, _ := middleware.New(middleware.Config{}, mgr)
	login, err := session.NewHandler(mgr, db, session.HandlerConfig{Hasher: hasher, ErrorHandler: auth.Error})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for _, p := range login.Paths() {
		mux.Handle(p, login)
	}
	mux.Handle("GET /api/me", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		fmt.Fprintf(w, "%s via %s", p.ID, p.Kind)
	})))

	send := func(method, path, body string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}

	w := send("POST", "/api/auth/login", `{"email": "ada@example.com", "password": "correct horse battery staple"}`, nil)
	cookies := w.Result().Cookies()
	c := cookies[0]
	fmt.Println("login:", w.Code, c.Name, "Secure:", c.Secure, "HttpOnly:", c.HttpOnly)

	w = send("GET", "/api/me", "", cookies)
	fmt.Println("me:", w.Code, w.Body.String())

	w = send("POST", "/api/auth/logout", "", cookies)
	fmt.Println("logout:", w.Code)

	w = send("GET", "/api/me", "", cookies)
	fmt.Println("after logout:", w.Code)
	// Output:
	// login: 200 __Host-gatehouse_session Secure: true HttpOnly: true
	// me: 200 usr_ada via session
	// logout: 204
	// after logout: 401
}
