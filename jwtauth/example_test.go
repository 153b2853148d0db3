package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// A worker verifies a token that arrived in a queue message, without
// HTTP: Verify is the whole check the middleware runs.
func Example_worker() {
	secret := []byte("an-hmac-secret-of-at-least-32-bytes!")
	key, err := jwtauth.NewHMACKey("", jwtauth.HS256, secret)
	if err != nil {
		panic(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{Leeway: 30 * time.Second},
		jwtauth.Issuer{Issuer: "https://login.example/", Audience: []string{"jobs"}, Keys: jwtauth.MustStaticKeys(key)})
	if err != nil {
		panic(err)
	}

	// The producer put the caller's token in the message.
	signed, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://login.example/", "aud": "jobs", "sub": "user-7", "scope": "reports:write",
		"exp": time.Now().Add(5 * time.Minute).Unix(),
	}).SignedString(secret)
	body, _ := json.Marshal(map[string]string{"job": "render-report", "token": signed})

	// The job handler.
	handle := func(ctx context.Context, body []byte) error {
		var msg struct{ Job, Token string }
		if err := json.Unmarshal(body, &msg); err != nil {
			return err
		}
		p, err := tokens.Verify(ctx, msg.Token)
		switch {
		case errors.Is(err, gatehouse.ErrUnavailable):
			return err // retry the message later
		case err != nil:
			var ge *gatehouse.Error
			errors.As(err, &ge)
			fmt.Println("dropped:", ge.Detail)
			return nil
		}
		if !p.HasScope("reports:write") {
			fmt.Println("dropped: missing scope")
			return nil
		}
		fmt.Printf("running %s for %s\n", msg.Job, p.ID)
		return nil
	}
	_ = handle(context.Background(), body)
	_ = handle(context.Background(), []byte(`{"job":"render-report","token":"e30.e30.forged"}`))
	// Output:
	// running render-report for user-7
	// dropped: The token's signing algorithm is not accepted
}

// A user creates a personal access config once; the server keeps only its
// public key. Tokens minted with the config act as the user, with at most
// the registration's scopes, until the registration is deleted.
func ExampleMint() {
	ctx := context.Background()
	registered, err := jwtauth.NewRegisteredKeys(store.NewMemorySigningKeys(), jwtauth.RegisteredKeysConfig{})
	if err != nil {
		panic(err)
	}
	const issuer, audience = "https://api.example/pat", "https://api.example"
	tokens, err := jwtauth.New(jwtauth.Config{},
		jwtauth.Issuer{Issuer: issuer, Audience: []string{audience}, Keys: registered, MaxLifetime: jwtauth.MaxMintTTL})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{}, tokens)
	if err != nil {
		panic(err)
	}
	api := auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s %v", p.ID, p.Scopes)
	}))

	// What `gatehouse pat create --owner alice` does: the config goes to
	// the user (jwtauth.WriteConfigFile), the public key to the store.
	cfg, _, err := jwtauth.CreatePersonalConfig(ctx, registered, jwtauth.PersonalParams{
		OwnerID: "alice", Scopes: []string{"read"}, Issuer: issuer, Audience: audience,
	})
	if err != nil {
		panic(err)
	}

	call := func() {
		token, err := jwtauth.Mint(cfg, time.Now(), 5*time.Minute)
		if err != nil {
			panic(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	call()
	_ = registered.DeleteSigningKey(ctx, cfg.KeyID)
	call()
	// Output:
	// 200 hello alice [read]
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"The token's signing key is unknown","code":"invalid_token"}
}
