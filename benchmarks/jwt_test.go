package benchmarks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	chijwt "github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
)

const (
	jwtIssuer   = "https://idp.example/"
	jwtAudience = "https://api.example"
	jwtLeeway   = 30 * time.Second
	// jwtPoolSize distinct tokens are cycled through by the contenders
	// that must verify every request; gatehouse-first's cache holds
	// jwtFirstCache of them, so that in a cyclic scan every request misses.
	jwtPoolSize   = 1024
	jwtFirstCache = 256
)

// jwtAlg is one signing algorithm with its keys and a pool of tokens.
type jwtAlg struct {
	name      string
	method    jwt.SigningMethod
	signKey   any
	verifyKey any
	pool      []string // distinct valid tokens, kid "k1"
}

var (
	jwtAlgsOnce sync.Once
	jwtAlgsVal  []*jwtAlg
)

// jwtAlgs returns the four algorithms with their token pools, built once
// per process (RSA signing is slow).
func jwtAlgs(tb testing.TB) []*jwtAlg {
	tb.Helper()
	jwtAlgsOnce.Do(func() {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		secret := []byte("benchmark-hmac-secret-0123456789")
		jwtAlgsVal = []*jwtAlg{
			{name: "HS256", method: jwt.SigningMethodHS256, signKey: secret, verifyKey: secret},
			{name: "RS256", method: jwt.SigningMethodRS256, signKey: rsaKey, verifyKey: &rsaKey.PublicKey},
			{name: "ES256", method: jwt.SigningMethodES256, signKey: ecKey, verifyKey: &ecKey.PublicKey},
			{name: "EdDSA", method: jwt.SigningMethodEdDSA, signKey: edPriv, verifyKey: edPub},
		}
		now := time.Now()
		for _, a := range jwtAlgsVal {
			a.pool = make([]string, jwtPoolSize)
			for i := range a.pool {
				t := jwt.NewWithClaims(a.method, jwt.MapClaims{
					"iss": jwtIssuer, "aud": jwtAudience, "sub": "user-1", "scope": "read write",
					"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(), "jti": fmt.Sprint("t-", i),
				})
				t.Header["kid"] = "k1"
				if a.pool[i], err = t.SignedString(a.signKey); err != nil {
					panic(err)
				}
			}
		}
	})
	return jwtAlgsVal
}

type jwtContender struct {
	name string
	h    http.Handler
	// repeated: every request carries the same token; otherwise requests
	// cycle through the pool, so no token is seen twice in a row.
	repeated bool
}

type claimsKey struct{}

// jwtContenders returns, for one algorithm, every contender verifying its
// tokens with the same issuer, audience, leeway and algorithm pin where the
// library lets them be set.
func jwtContenders(b testing.TB, a *jwtAlg) []jwtContender {
	b.Helper()
	var key *jwtauth.Key
	var err error
	if secret, ok := a.verifyKey.([]byte); ok {
		key, err = jwtauth.NewHMACKey("k1", a.name, secret)
	} else {
		key, err = jwtauth.NewPublicKey("k1", a.name, a.verifyKey)
	}
	if err != nil {
		b.Fatal(err)
	}
	issuer := jwtauth.Issuer{Issuer: jwtIssuer, Audience: []string{jwtAudience}, Keys: jwtauth.MustStaticKeys(key)}
	gatehouseMW := func(cacheSize int) http.Handler {
		auth, err := jwtauth.New(jwtauth.Config{Leeway: jwtLeeway, CacheSize: cacheSize}, issuer)
		if err != nil {
			b.Fatal(err)
		}
		m, err := middleware.New(middleware.Config{}, auth)
		if err != nil {
			b.Fatal(err)
		}
		return m.Handler(okHandler)
	}

	// bare: golang-jwt's parser with the same options, and the least HTTP
	// around it: read the header, parse, attach the claims.
	parser := jwt.NewParser(jwt.WithValidMethods([]string{a.name}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithIssuer(jwtIssuer), jwt.WithAudience(jwtAudience), jwt.WithLeeway(jwtLeeway), jwt.WithStrictDecoding())
	keyfunc := func(*jwt.Token) (any, error) { return a.verifyKey, nil }
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Authorization")
		if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		t, err := parser.Parse(v[7:], keyfunc)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		okHandler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, t.Claims)))
	})

	// auth0/go-jwt-middleware v2 (go-jose underneath).
	v, err := validator.New(func(context.Context) (any, error) { return a.verifyKey, nil },
		validator.SignatureAlgorithm(a.name), jwtIssuer, []string{jwtAudience}, validator.WithAllowedClockSkew(jwtLeeway))
	if err != nil {
		b.Fatal(err)
	}
	auth0 := jwtmiddleware.New(v.ValidateToken).CheckJWT(okHandler)

	// go-chi/jwtauth v5 (lestrrat-go/jwx underneath): Verifier and
	// Authenticator together, as its docs require.
	ja := chijwt.New(a.name, nil, a.verifyKey, jwxjwt.WithIssuer(jwtIssuer), jwxjwt.WithAudience(jwtAudience),
		jwxjwt.WithAcceptableSkew(jwtLeeway))
	chi := chijwt.Verifier(ja)(chijwt.Authenticator(ja)(okHandler))

	// labstack/echo-jwt v4 (golang-jwt underneath) in an echo router. Its
	// default parser pins the algorithm and checks exp, but not iss or aud.
	e := echo.New()
	e.Use(echojwt.WithConfig(echojwt.Config{SigningKey: a.verifyKey, SigningMethod: a.name}))
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	return []jwtContender{
		{name: "baseline", h: okHandler, repeated: true},
		{name: "bare", h: bare},
		{name: "gatehouse-first", h: gatehouseMW(jwtFirstCache)},
		{name: "gatehouse-cached", h: gatehouseMW(0), repeated: true},
		{name: "auth0", h: auth0},
		{name: "chi-jwtauth", h: chi},
		{name: "echo-jwt", h: e},
	}
}

// servePool runs h b.N times serially, each request carrying the next
// Authorization value of hdrs, and fails unless every contender answered
// want.
func servePool(b *testing.B, h http.Handler, hdrs [][]string, want int) {
	b.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	w := newNopWriter()
	for _, hv := range hdrs {
		r.Header["Authorization"] = hv
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != want {
			b.Fatalf("status %d, want %d", w.code, want)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Header["Authorization"] = hdrs[i%len(hdrs)]
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
}

// BenchmarkJWT is a valid token through each contender, serially, for each
// algorithm: bare is golang-jwt's parser alone, gatehouse-first a token the
// verified-token cache has not seen, gatehouse-cached a repeated token.
func BenchmarkJWT(b *testing.B) {
	for _, a := range jwtAlgs(b) {
		pool := make([][]string, len(a.pool))
		for i, t := range a.pool {
			pool[i] = []string{"Bearer " + t}
		}
		b.Run(a.name, func(b *testing.B) {
			for _, c := range jwtContenders(b, a) {
				b.Run(c.name, func(b *testing.B) {
					hdrs := pool
					if c.repeated {
						hdrs = pool[:1]
					}
					servePool(b, c.h, hdrs, http.StatusNoContent)
				})
			}
		})
	}
}

// TestJWTContenders checks that every contender accepts the pool's tokens
// and refuses a forged signature and a token for another audience, so that
// the benchmark compares verifiers that verify the same things.
func TestJWTContenders(t *testing.T) {
	for _, a := range jwtAlgs(t) {
		now := time.Now()
		other := jwt.NewWithClaims(a.method, jwt.MapClaims{
			"iss": jwtIssuer, "aud": "https://elsewhere.example", "sub": "user-1",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		other.Header["kid"] = "k1"
		otherAud, err := other.SignedString(a.signKey)
		if err != nil {
			t.Fatal(err)
		}
		tok := a.pool[0]
		forged := tok[:strings.LastIndexByte(tok, '.')+1] + "AAAA" + tok[strings.LastIndexByte(tok, '.')+5:]
		for _, c := range jwtContenders(t, a) {
			if c.name == "baseline" {
				continue
			}
			t.Run(a.name+"/"+c.name, func(t *testing.T) {
				cases := map[string]bool{tok: true, a.pool[1]: true, forged: false}
				if c.name != "echo-jwt" { // echo-jwt's default parser does not check aud
					cases[otherAud] = false
				}
				for v, ok := range cases {
					r := httptest.NewRequest("GET", "/", nil)
					r.Header.Set("Authorization", "Bearer "+v)
					w := httptest.NewRecorder()
					c.h.ServeHTTP(w, r)
					if ok != (w.Code == http.StatusNoContent) {
						t.Errorf("status %d, want accepted=%v", w.Code, ok)
					}
				}
			})
		}
	}
}
