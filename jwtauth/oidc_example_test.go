package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// An API trusts an OpenID Connect identity provider named by its issuer
// URL alone: Discover reads its discovery document and key set.
func ExampleDiscover() {
	// A stand-in identity provider on loopback (http is allowed there
	// only; a real issuer is https).
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := jwtauth.NewPublicKey("2025-06", jwtauth.ES256, &signer.PublicKey)
	jwk, _ := jwtauth.MarshalJWK(pub)
	mux := http.NewServeMux()
	idp := httptest.NewServer(mux)
	defer idp.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.URL, "jwks_uri": idp.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"keys":[%s]}`, jwk)
	})

	// The API.
	ctx := context.Background()
	keys, err := jwtauth.Discover(ctx, idp.URL, jwtauth.DiscoveryConfig{})
	if err != nil {
		panic(err)
	}
	defer keys.Close()
	if err := keys.Start(ctx); err != nil { // background refresh
		panic(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{Leeway: 30 * time.Second},
		jwtauth.Issuer{Issuer: keys.Issuer(), Audience: []string{"https://api.example"}, Keys: keys})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Realm: "api"}, tokens)
	if err != nil {
		panic(err)
	}
	api := auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", p.ID)
	}))

	// A client with a token from the provider.
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": idp.URL, "aud": "https://api.example", "sub": "user-1",
		"exp": time.Now().Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = "2025-06"
	signed, _ := tok.SignedString(signer)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+signed)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 hello user-1
}
