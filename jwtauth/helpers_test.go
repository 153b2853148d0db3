package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// testEpoch is the fixed time every test clock starts at.
var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is an injectable clock; tests move it instead of sleeping.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(testEpoch) }

// testKeys holds key pairs generated once per test binary: RSA key
// generation is slow under -race.
type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec256     *ecdsa.PrivateKey
	ec384     *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
	hmac      []byte
}

var (
	keysOnce sync.Once
	keysVal  *testKeys
)

func keys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		k := &testKeys{hmac: []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")}
		var err error
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
		if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		keysVal = k
	})
	return keysVal
}

// claimsAt returns valid claims for a token issued at now, expiring in an
// hour.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   "https://idp.example/",
		"aud":   "https://api.example",
		"sub":   "user-1",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"scope": "read write",
		"jti":   "jti-1",
	}
}

// sign returns a token signed by golang-jwt with method and key, with the
// extra header members of hdr (a nil value deletes a member).
func sign(t testing.TB, method jwt.SigningMethod, key any, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// rawToken builds a token by hand: header and claims as given, signature
// from sig over the signing input (nil: no signature).
func rawToken(t testing.TB, hdr, claims map[string]any, sig func(input string) []byte) string {
	t.Helper()
	h, err := json.Marshal(hdr)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	input := b64url(h) + "." + b64url(c)
	var s []byte
	if sig != nil {
		s = sig(input)
	}
	return input + "." + b64url(s)
}

// rawJSONToken builds a token from header and claims JSON exactly as given
// (json.Marshal would repair invalid UTF-8), signed by sig over the signing
// input.
func rawJSONToken(hdr, claims string, sig func(input string) []byte) string {
	input := b64url([]byte(hdr)) + "." + b64url([]byte(claims))
	return input + "." + b64url(sig(input))
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// hs256 signs input with secret as HS256 does.
func hs256(t testing.TB, secret []byte) func(string) []byte {
	return func(input string) []byte {
		s, err := jwt.SigningMethodHS256.Sign(input, secret)
		require.NoError(t, err)
		return s
	}
}

// refusal asserts that err is an invalid_token refusal with detail.
func assertRefused(t *testing.T, err error, detail string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	var ge *gatehouse.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, detail, ge.Detail)
}

// problemBody is the problem+json members the tests read.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// serveToken sends token as a Bearer credential through the middleware
// built on auths and returns the recorder.
func serveToken(t *testing.T, token string, auths ...gatehouse.Authenticator) *httptest.ResponseRecorder {
	t.Helper()
	m, err := middleware.New(middleware.Config{Realm: "api"}, auths...)
	require.NoError(t, err)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := gatehouse.FromContext(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Subject", p.ID)
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// assertProblem checks a refusal written by the middleware: status, code,
// detail, the challenge, and that neither body nor headers carry token.
func assertProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code, detail, token string) {
	t.Helper()
	require.Equal(t, status, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p problemBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, status, p.Status)
	assert.Equal(t, code, p.Code)
	if detail != "" {
		assert.Equal(t, detail, p.Detail)
	}
	switch status {
	case http.StatusUnauthorized:
		ch := w.Header().Get("WWW-Authenticate")
		assert.True(t, strings.HasPrefix(ch, `Bearer realm="api", error="invalid_token"`), "challenge %q", ch)
		if detail != "" {
			assert.Contains(t, ch, `error_description="`+detail+`"`)
		}
	case http.StatusServiceUnavailable:
		assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	}
	if token != "" {
		// No part of the token is echoed: not its signature, not its
		// payload.
		for _, part := range strings.Split(token, ".") {
			if len(part) >= 8 {
				assert.NotContains(t, w.Body.String(), part)
				for _, vs := range w.Header() {
					for _, v := range vs {
						assert.NotContains(t, v, part)
					}
				}
			}
		}
	}
}
