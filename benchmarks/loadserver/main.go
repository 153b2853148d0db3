// Command loadserver is the server scripts/load.sh drives with wrk: one
// small JSON endpoint served four ways on one port, so that the only
// difference between runs is the authentication in front of it.
//
//	GET /none      no authentication
//	GET /apikey    a cached API key (Authorization: Bearer)
//	GET /jwt       a cached HS256 JWT (Authorization: Bearer)
//	GET /session   a cached session cookie
//
// and, for nginx's auth_request in front of /none (scripts/load.sh's
// nginx rows), the forward-auth decision endpoint:
//
//	/api/auth/verify  proxy.Verifier: the read scope on every path, asked
//	                  by a proxy on loopback
//	/allow            a stub that says yes to everyone (200, no body), for
//	                  the cost of auth_request itself
//
// It prints the credentials to use, one per line (KEY=, JWT=, COOKIE=),
// then "READY addr", and serves until it is killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	ctx := context.Background()
	mem := store.NewMemory()

	keys, err := store.NewKeyCache(mem, store.CacheConfig{})
	if err != nil {
		return err
	}
	format := apikey.MustFormat("load_live.")
	keyAuth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		return err
	}
	key, _, err := apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "load", OwnerID: "u1", Scopes: []string{"read"}})
	if err != nil {
		return err
	}

	secret := []byte("load-test-secret-of-at-least-32-bytes!")
	hk, err := jwtauth.NewHMACKey("", "HS256", secret)
	if err != nil {
		return err
	}
	tokens, err := jwtauth.New(jwtauth.Config{}, jwtauth.Issuer{Issuer: "load", Audience: []string{"load"}, Keys: jwtauth.MustStaticKeys(hk)})
	if err != nil {
		return err
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "load", "aud": "load", "sub": "u1", "scope": "read",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		return err
	}

	sessions, err := store.NewSessionCache(mem, store.CacheConfig{})
	if err != nil {
		return err
	}
	mgr, err := session.NewManager(sessions, session.Config{InsecureDevCookie: true})
	if err != nil {
		return err
	}
	u := &store.User{ID: "u1", Email: "load@example.com", Level: store.LevelMember, CreatedAt: time.Now()}
	if err := mem.CreateUser(ctx, u); err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	if _, err := mgr.Start(ctx, rec, u, []string{"read"}); err != nil {
		return err
	}
	cookie := rec.Result().Cookies()[0]

	m, err := middleware.New(middleware.Config{}, keyAuth, tokens, mgr)
	if err != nil {
		return err
	}
	body := []byte(`{"projects":["apollo","gemini"]}` + "\n")
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := gatehouse.FromContext(r.Context()); ok && p.ID == "" {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	guarded := m.Handler(m.MustRequireScopes("read")(api))
	mux := http.NewServeMux()
	mux.Handle("GET /none", api)
	mux.Handle("GET /apikey", guarded)
	mux.Handle("GET /jwt", guarded)
	mux.Handle("GET /session", guarded)
	verify, err := proxy.NewVerifier(m, proxy.VerifyConfig{
		Routes:         []proxy.Route{{Prefix: "/", Scopes: []string{"read"}}},
		TrustedProxies: []string{"127.0.0.1", "::1"},
	})
	if err != nil {
		return err
	}
	mux.Handle(verify.Path(), verify)
	mux.HandleFunc("/allow", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("KEY=%s\nJWT=%s\nCOOKIE=%s=%s\nREADY %s\n", key, tok, cookie.Name, cookie.Value, ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
