package jwtauth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

const (
	idpIssuer   = "https://idp.example/"
	loginIssuer = "https://login.example/"
	apiAudience = "https://api.example"

	// rsJSONHeader is a valid RS256 header naming the RSA key.
	rsJSONHeader = `{"alg":"RS256","kid":"rsa1","typ":"JWT"}`
)

// newTestAuthenticator returns an authenticator for two issuers: an
// identity provider with a key of every public-key algorithm, and the
// service's own login with HMAC secrets.
func newTestAuthenticator(t *testing.T, clk *clock, mod func(*Config)) *Authenticator {
	t.Helper()
	k := keys(t)
	must := func(key *Key, err error) *Key {
		t.Helper()
		require.NoError(t, err)
		return key
	}
	idp, err := NewStaticKeys(
		must(NewPublicKey("rsa1", RS256, &k.rsa.PublicKey)),
		must(NewPublicKey("ps1", PS256, &k.rsa.PublicKey)),
		must(NewPublicKey("ec1", ES256, &k.ec256.PublicKey)),
		must(NewPublicKey("ec384", ES384, &k.ec384.PublicKey)),
		must(NewPublicKey("ed1", EdDSA, k.ed.Public())),
	)
	require.NoError(t, err)
	login, err := NewStaticKeys(
		must(NewHMACKey("hs1", HS256, k.hmac[:32])),
		must(NewHMACKey("hs384", HS384, k.hmac[:48])),
		must(NewHMACKey("hs512", HS512, k.hmac)),
	)
	require.NoError(t, err)
	cfg := Config{Leeway: 30 * time.Second, Now: clk.Now, TenantClaim: "org"}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg,
		Issuer{Issuer: idpIssuer, Audience: []string{apiAudience, "https://other.example"}, Keys: idp},
		Issuer{Issuer: loginIssuer, Audience: []string{apiAudience}, Keys: login},
	)
	require.NoError(t, err)
	return a
}

// tokenCase is one token and the verdict it must get.
type tokenCase struct {
	name  string
	token func(t *testing.T, k *testKeys, now time.Time) string
	// detail is the refusal's detail; empty for a token that is valid.
	detail string
}

func with(now time.Time, f func(c jwt.MapClaims)) jwt.MapClaims {
	c := claimsAt(now)
	f(c)
	return c
}

func loginClaims(now time.Time) jwt.MapClaims {
	return with(now, func(c jwt.MapClaims) { c["iss"] = loginIssuer })
}

// rsaPublicPEM is the PEM an attacker would use as an HMAC secret in the
// algorithm-confusion attack.
func rsaPublicPEM(t *testing.T, k *testKeys) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// broken inserts junk into the token mint makes, after its first dot
// (LF) or its last (CR).
func broken(mint func(*testing.T, *testKeys, time.Time) string, junk string) func(*testing.T, *testKeys, time.Time) string {
	return func(t *testing.T, k *testKeys, now time.Time) string {
		token := mint(t, k, now)
		i := strings.IndexByte(token, '.') + 5
		if junk == "\r" {
			i = strings.LastIndexByte(token, '.') + 5
		}
		return token[:i] + junk + token[i:]
	}
}

func tokenCases() []tokenCase {
	valid := func(m jwt.SigningMethod, kid string, key func(*testKeys) any, login bool) func(*testing.T, *testKeys, time.Time) string {
		return func(t *testing.T, k *testKeys, now time.Time) string {
			c := claimsAt(now)
			if login {
				c = loginClaims(now)
			}
			return sign(t, m, key(k), map[string]any{"kid": kid}, c)
		}
	}
	rsaPriv := func(k *testKeys) any { return k.rsa }
	rs := func(f func(c jwt.MapClaims)) func(*testing.T, *testKeys, time.Time) string {
		return func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, with(now, f))
		}
	}
	rsHdr := func(hdr map[string]any) func(*testing.T, *testKeys, time.Time) string {
		return func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, hdr, claimsAt(now))
		}
	}
	// rsJSON signs header and claims JSON written by hand with the RSA key:
	// sub is the raw JSON of the sub member, extra raw members follow the
	// valid claims.
	rsJSON := func(hdr, sub, extra string) func(*testing.T, *testKeys, time.Time) string {
		return func(t *testing.T, k *testKeys, now time.Time) string {
			claims := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":%s,"iat":%d,"exp":%d,"scope":"read write","jti":"jti-1"%s}`,
				idpIssuer, apiAudience, sub, now.Unix(), now.Add(time.Hour).Unix(), extra)
			return rawJSONToken(hdr, claims, func(input string) []byte {
				s, err := jwt.SigningMethodRS256.Sign(input, k.rsa)
				require.NoError(t, err)
				return s
			})
		}
	}
	none := func(alg string, kid any) func(*testing.T, *testKeys, time.Time) string {
		return func(t *testing.T, _ *testKeys, now time.Time) string {
			hdr := map[string]any{"alg": alg, "typ": "JWT"}
			if kid != nil {
				hdr["kid"] = kid
			}
			return rawToken(t, hdr, claimsAt(now), nil)
		}
	}
	return []tokenCase{
		{"RS256 valid", valid(jwt.SigningMethodRS256, "rsa1", rsaPriv, false), ""},
		{"PS256 valid", valid(jwt.SigningMethodPS256, "ps1", rsaPriv, false), ""},
		{"ES256 valid", valid(jwt.SigningMethodES256, "ec1", func(k *testKeys) any { return k.ec256 }, false), ""},
		{"ES384 valid", valid(jwt.SigningMethodES384, "ec384", func(k *testKeys) any { return k.ec384 }, false), ""},
		{"EdDSA valid", valid(jwt.SigningMethodEdDSA, "ed1", func(k *testKeys) any { return k.ed }, false), ""},
		{"HS256 valid", valid(jwt.SigningMethodHS256, "hs1", func(k *testKeys) any { return k.hmac[:32] }, true), ""},
		{"HS384 valid", valid(jwt.SigningMethodHS384, "hs384", func(k *testKeys) any { return k.hmac[:48] }, true), ""},
		{"HS512 valid", valid(jwt.SigningMethodHS512, "hs512", func(k *testKeys) any { return k.hmac }, true), ""},

		// CR and LF, which golang-jwt's base64 decoding skips: a valid
		// token with them inside is refused, so that every accepted token
		// is a token68.
		{"HS256 valid with LF in the payload", broken(valid(jwt.SigningMethodHS256, "hs1", func(k *testKeys) any { return k.hmac[:32] }, true), "\n"), DetailMalformed},
		{"RS256 valid with CR in the signature", broken(valid(jwt.SigningMethodRS256, "rsa1", rsaPriv, false), "\r"), DetailMalformed},

		// alg none, in any spelling, with or without a kid.
		{"alg none", none("none", nil), DetailAlgorithm},
		{"alg None", none("None", nil), DetailAlgorithm},
		{"alg NONE with kid", none("NONE", "rsa1"), DetailAlgorithm},
		{"alg nOnE with kid", none("nOnE", "hs1"), DetailAlgorithm},
		{"alg none with a signature", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"alg": "none", "kid": "hs1"}, loginClaims(now), hs256(t, k.hmac[:32]))
		}, DetailAlgorithm},
		{"alg missing", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"kid": "hs1"}, loginClaims(now), hs256(t, k.hmac[:32]))
		}, DetailAlgorithm},
		{"alg not a string", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"alg": 256, "kid": "hs1"}, loginClaims(now), hs256(t, k.hmac[:32]))
		}, DetailAlgorithm},

		// Algorithm confusion: HS256 signed with the RSA public key.
		{"HS256 with RSA public PEM as secret, RSA kid", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"alg": "HS256", "kid": "rsa1"}, claimsAt(now), hs256(t, rsaPublicPEM(t, k)))
		}, DetailAlgorithm},
		{"HS256 with RSA public DER as secret, no kid", func(t *testing.T, k *testKeys, now time.Time) string {
			der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
			require.NoError(t, err)
			return rawToken(t, map[string]any{"alg": "HS256"}, claimsAt(now), hs256(t, der))
		}, DetailAlgorithm},
		{"HS256 with RSA public PEM, login issuer, RSA kid", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"alg": "HS256", "kid": "rsa1"}, loginClaims(now), hs256(t, rsaPublicPEM(t, k)))
		}, DetailUnknownKey},
		{"RS256 from the HMAC issuer", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "hs1"}, loginClaims(now))
		}, DetailAlgorithm},
		{"ES256 token naming the EdDSA key", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodES256, k.ec256, map[string]any{"kid": "ed1"}, claimsAt(now))
		}, DetailAlgorithm},
		{"PS256 token naming the RS256 key", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodPS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now))
		}, DetailAlgorithm},
		{"RS384 off the list", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS384, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now))
		}, DetailAlgorithm},
		{"unknown alg name", func(t *testing.T, k *testKeys, now time.Time) string {
			return rawToken(t, map[string]any{"alg": "XS999", "kid": "rsa1"}, claimsAt(now), hs256(t, k.hmac))
		}, DetailAlgorithm},

		// kid.
		{"kid missing with several keys", rsHdr(map[string]any{"kid": nil}), DetailUnknownKey},
		{"kid unknown", rsHdr(map[string]any{"kid": "nope"}), DetailUnknownKey},
		{"kid path traversal", rsHdr(map[string]any{"kid": "../../x"}), DetailUnknownKey},
		{"kid 1 KB", rsHdr(map[string]any{"kid": strings.Repeat("k", 1024)}), DetailUnknownKey},
		{"kid 10 KB", rsHdr(map[string]any{"kid": strings.Repeat("k", 10<<10)}), DetailTooLong},
		{"kid empty", rsHdr(map[string]any{"kid": ""}), DetailMalformed},
		{"kid a number", rsHdr(map[string]any{"kid": 1}), DetailMalformed},

		// jku, x5u and jwk point at the attacker's key: never read.
		{"jwk header with the attacker's key", func(t *testing.T, k *testKeys, now time.Time) string {
			pub, err := publicJWK("rsa1", RS256, &k.rsa2.PublicKey)
			require.NoError(t, err)
			return sign(t, jwt.SigningMethodRS256, k.rsa2, map[string]any{"kid": "rsa1", "jwk": pub}, claimsAt(now))
		}, DetailBadSignature},
		{"jwk header without kid", func(t *testing.T, k *testKeys, now time.Time) string {
			pub, err := publicJWK("", RS256, &k.rsa2.PublicKey)
			require.NoError(t, err)
			return sign(t, jwt.SigningMethodRS256, k.rsa2, map[string]any{"jwk": pub}, claimsAt(now))
		}, DetailUnknownKey},
		{"crit header", rsHdr(map[string]any{"kid": "rsa1", "crit": []string{"exp"}}), DetailMalformed},

		// Signature.
		{"stripped signature", func(t *testing.T, k *testKeys, now time.Time) string {
			s := sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now))
			return s[:strings.LastIndexByte(s, '.')+1]
		}, DetailBadSignature},
		{"signed by another key", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa2, map[string]any{"kid": "rsa1"}, claimsAt(now))
		}, DetailBadSignature},
		{"payload swapped", func(t *testing.T, k *testKeys, now time.Time) string {
			a := strings.Split(sign(t, jwt.SigningMethodHS256, k.hmac[:32], map[string]any{"kid": "hs1"}, loginClaims(now)), ".")
			b := strings.Split(sign(t, jwt.SigningMethodHS256, k.hmac[:32], map[string]any{"kid": "hs1"},
				with(now, func(c jwt.MapClaims) { c["iss"] = loginIssuer; c["sub"] = "admin" })), ".")
			return a[0] + "." + b[1] + "." + a[2]
		}, DetailBadSignature},

		// Framing.
		{"five segments", func(t *testing.T, k *testKeys, now time.Time) string {
			return sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now)) + ".e30.e30"
		}, DetailMalformed},
		{"two segments", func(*testing.T, *testKeys, time.Time) string { return "e30.e30" }, DetailMalformed},
		{"bad base64url in the header", func(t *testing.T, k *testKeys, now time.Time) string {
			s := sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now))
			return "*" + s[1:]
		}, DetailMalformed},
		{"padded base64 in the payload", func(t *testing.T, k *testKeys, now time.Time) string {
			parts := strings.Split(sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(now)), ".")
			return parts[0] + "." + parts[1] + "==." + parts[2]
		}, DetailMalformed},
		{"header not JSON", func(t *testing.T, k *testKeys, now time.Time) string {
			return b64url([]byte("not json")) + ".e30.c2ln"
		}, DetailMalformed},
		{"empty token parts", func(*testing.T, *testKeys, time.Time) string { return ".." }, DetailMalformed},

		// Time claims (leeway 30 s).
		{"exp missing", rs(func(c jwt.MapClaims) { delete(c, "exp") }), DetailBadClaims},
		{"exp a string", rs(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), DetailBadClaims},
		{"exp past", rs(func(c jwt.MapClaims) { c["exp"] = testEpoch.Add(-31 * time.Second).Unix() }), DetailExpired},
		{"exp within leeway", rs(func(c jwt.MapClaims) { c["exp"] = testEpoch.Add(-29 * time.Second).Unix() }), ""},
		{"nbf future", rs(func(c jwt.MapClaims) { c["nbf"] = testEpoch.Add(31 * time.Second).Unix() }), DetailNotYetValid},
		{"nbf within leeway", rs(func(c jwt.MapClaims) { c["nbf"] = testEpoch.Add(29 * time.Second).Unix() }), ""},
		{"iat future", rs(func(c jwt.MapClaims) { c["iat"] = testEpoch.Add(time.Minute).Unix() }), DetailNotYetValid},
		{"nbf a string", rs(func(c jwt.MapClaims) { c["nbf"] = "now" }), DetailBadClaims},

		// Issuer and audience.
		{"wrong iss", rs(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/" }), DetailBadIssuer},
		{"iss missing", rs(func(c jwt.MapClaims) { delete(c, "iss") }), DetailBadIssuer},
		{"iss not a string", rs(func(c jwt.MapClaims) { c["iss"] = 1 }), DetailBadIssuer},
		{"wrong aud", rs(func(c jwt.MapClaims) { c["aud"] = "https://evil.example" }), DetailBadAudience},
		{"aud missing", rs(func(c jwt.MapClaims) { delete(c, "aud") }), DetailBadAudience},
		{"aud array holding ours", rs(func(c jwt.MapClaims) { c["aud"] = []string{"x", "https://other.example"} }), ""},
		{"aud array without ours", rs(func(c jwt.MapClaims) { c["aud"] = []string{"x", "y"} }), DetailBadAudience},
		{"aud a number", rs(func(c jwt.MapClaims) { c["aud"] = 7 }), DetailBadClaims},
		{"aud null is absent", rs(func(c jwt.MapClaims) { c["aud"] = nil }), DetailBadAudience},
		{"aud empty array", rs(func(c jwt.MapClaims) { c["aud"] = []string{} }), DetailBadAudience},
		// RFC 7519 section 4.1.3: a string or an array of strings, nothing
		// else, wherever the odd element sits.
		{"aud array, ours then a number", rs(func(c jwt.MapClaims) { c["aud"] = []any{apiAudience, 42} }), DetailBadClaims},
		{"aud array, a number then ours", rs(func(c jwt.MapClaims) { c["aud"] = []any{42, apiAudience} }), DetailBadClaims},
		{"aud array, ours then null", rs(func(c jwt.MapClaims) { c["aud"] = []any{apiAudience, nil} }), DetailBadClaims},
		{"aud array, ours then a bool", rs(func(c jwt.MapClaims) { c["aud"] = []any{apiAudience, true} }), DetailBadClaims},
		{"aud array, ours then an object", rs(func(c jwt.MapClaims) { c["aud"] = []any{apiAudience, map[string]any{"a": apiAudience}} }), DetailBadClaims},
		{"aud array, ours then an array", rs(func(c jwt.MapClaims) { c["aud"] = []any{apiAudience, []string{apiAudience}} }), DetailBadClaims},
		{"aud array, other then ours then a number", rs(func(c jwt.MapClaims) { c["aud"] = []any{"x", apiAudience, 1.5} }), DetailBadClaims},
		{"aud an object", rs(func(c jwt.MapClaims) { c["aud"] = map[string]any{"aud": apiAudience} }), DetailBadClaims},
		{"aud a bool", rs(func(c jwt.MapClaims) { c["aud"] = true }), DetailBadClaims},

		// RFC 7515 section 5.2 and RFC 7519 section 7.2: the decoded header
		// and claims must be UTF-8. encoding/json would read each bad
		// sequence, and each lone surrogate escape, as U+FFFD, so that two
		// different signed subjects could become one principal.
		{"claims: invalid UTF-8 in sub", rsJSON(rsJSONHeader, "\"user-1\xff\"", ""), DetailMalformed},
		{"claims: invalid UTF-8 in a member name", rsJSON(rsJSONHeader, `"user-1"`, ",\"n\xc3\":1"), DetailMalformed},
		{"claims: overlong encoding", rsJSON(rsJSONHeader, "\"user-1\xc0\xaf\"", ""), DetailMalformed},
		{"claims: UTF-8-encoded surrogate", rsJSON(rsJSONHeader, "\"user-1\xed\xa0\x80\"", ""), DetailMalformed},
		{"claims: truncated sequence", rsJSON(rsJSONHeader, "\"user-1\xe2\x82\"", ""), DetailMalformed},
		{"claims: code point past U+10FFFF", rsJSON(rsJSONHeader, "\"user-1\xf4\x90\x80\x80\"", ""), DetailMalformed},
		{"header: invalid UTF-8", rsJSON("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x\":\"\xff\"}", `"user-1"`, ""), DetailMalformed},
		{"claims: lone high surrogate escape", rsJSON(rsJSONHeader, `"user-1\ud800"`, ""), DetailMalformed},
		{"claims: lone low surrogate escape", rsJSON(rsJSONHeader, `"user-1\udc00"`, ""), DetailMalformed},
		{"claims: upper-case lone surrogate escape", rsJSON(rsJSONHeader, `"user-1\uDBFF"`, ""), DetailMalformed},
		{"claims: surrogate escapes reversed", rsJSON(rsJSONHeader, `"user-1\udc00\ud800"`, ""), DetailMalformed},
		{"claims: high surrogate escape then a letter escape", rsJSON(rsJSONHeader, `"user-1\ud800\u0041"`, ""), DetailMalformed},
		{"claims: high surrogate escape then a letter", rsJSON(rsJSONHeader, `"user-1\ud83dx"`, ""), DetailMalformed},
		{"claims: two high surrogate escapes", rsJSON(rsJSONHeader, `"user-1\ud83d\ud83d"`, ""), DetailMalformed},
		{"claims: escaped backslash then a lone surrogate escape", rsJSON(rsJSONHeader, `"user-1"`, `,"note":"\\\ud800"`), DetailMalformed},
		{"claims: lone surrogate escape in a member name", rsJSON(rsJSONHeader, `"user-1"`, `,"\udfffx":1`), DetailMalformed},
		{"header: lone surrogate escape", rsJSON(`{"alg":"RS256","kid":"rsa1","x":"\ud800"}`, `"user-1"`, ""), DetailMalformed},
		{"claims: escaped surrogate pair", rsJSON(rsJSONHeader, `"user-1"`, `,"name":"\ud83d\ude00 \uD83D\uDE00"`), ""},
		{"claims: escaped backslash before u-d800", rsJSON(rsJSONHeader, `"user-1"`, `,"note":"\\ud800"`), ""},
		{"claims: escaped U+FFFD and U+FFFD", rsJSON(rsJSONHeader, `"user-1"`, ",\"name\":\"\\ufffd \xef\xbf\xbd\""), ""},
		{"claims: non-ASCII UTF-8", rsJSON(rsJSONHeader, `"user-1"`, `,"name":"José 東京 😀"`), ""},
		{"claims over 1 KiB", rsJSON(rsJSONHeader, `"user-1"`, `,"pad":"`+strings.Repeat("é", 1000)+`"`), ""},
		{"claims over 1 KiB, invalid UTF-8 at the end", rsJSON(rsJSONHeader, `"user-1"`, `,"pad":"`+strings.Repeat("é", 1000)+"\xff\""), DetailMalformed},
		{"claims over 1 KiB, lone surrogate escape at the end", rsJSON(rsJSONHeader, `"user-1"`, `,"pad":"`+strings.Repeat("é", 1000)+`\ud800"`), DetailMalformed},

		// Claims mapped to the principal.
		{"sub missing", rs(func(c jwt.MapClaims) { delete(c, "sub") }), DetailBadClaims},
		{"sub a number", rs(func(c jwt.MapClaims) { c["sub"] = 12 }), DetailBadClaims},
		{"scope a number", rs(func(c jwt.MapClaims) { c["scope"] = 3 }), DetailBadClaims},
		{"tenant claim not a string", rs(func(c jwt.MapClaims) { c["org"] = []string{"a"} }), DetailBadClaims},
	}
}

func TestVerify(t *testing.T) {
	clk := newClock()
	k := keys(t)
	for _, tc := range tokenCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuthenticator(t, clk, nil)
			token := tc.token(t, k, clk.Now())
			p, err := a.Verify(context.Background(), token)
			if tc.detail == "" {
				require.NoError(t, err)
				assert.Equal(t, "user-1", p.ID)
				assert.Equal(t, gatehouse.KindJWT, p.Kind)
				assert.Equal(t, []string{"read", "write"}, p.Scopes)
				assert.Equal(t, "user-1", p.Claims["sub"])
				return
			}
			assertRefused(t, err, tc.detail)
			assert.Nil(t, p)
			assert.NotContains(t, err.Error(), token, "the log message must not carry the token")
			assert.Zero(t, a.Len(), "a refused token is not cached")
		})
	}
}

// TestMiddleware sends every token case through middleware.New and
// checks the response a client sees.
func TestMiddleware(t *testing.T) {
	clk := newClock()
	k := keys(t)
	for _, tc := range tokenCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuthenticator(t, clk, nil)
			token := tc.token(t, k, clk.Now())
			w := serveToken(t, token, a)
			if tc.detail == "" {
				assert.Equal(t, http.StatusNoContent, w.Code)
				assert.Equal(t, "user-1", w.Header().Get("X-Subject"))
				return
			}
			detail := tc.detail
			if strings.Count(token, ".") != 2 || len(token) > gatehouse.MaxCredentialLength || !token68(token) {
				detail = "" // refused by the extractor or the dispatcher
			}
			assertProblem(t, w, http.StatusUnauthorized, "invalid_token", detail, token)
		})
	}
}

func TestManyDots(t *testing.T) {
	clk := newClock()
	a := newTestAuthenticator(t, clk, nil)
	ctx := context.Background()
	tests := []struct {
		name   string
		token  string
		detail string
	}{
		{"100,000 dots", "Bearer" + strings.Repeat(".", 100_000), DetailTooLong},
		{"just under the cap", strings.Repeat(".", gatehouse.MaxCredentialLength), DetailMalformed},
		{"segments then dots", "e30.e30.sig" + strings.Repeat(".", 8000), DetailMalformed},
		{"1 MB of one segment", strings.Repeat("A", 1<<20), DetailTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Verify(ctx, tt.token)
			assertRefused(t, err, tt.detail)
			assert.False(t, a.Accepts(gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: tt.token}))
			// Refusing it allocates nothing and decodes nothing: the cost
			// is bounded by the length cap and the third dot.
			allocs := testing.AllocsPerRun(20, func() { _, _ = a.Verify(ctx, tt.token) })
			assert.Zero(t, allocs)
		})
	}
	t.Run("through the middleware", func(t *testing.T) {
		for _, v := range []string{strings.Repeat(".", 100_000), strings.Repeat(".", 5000)} {
			w := serveToken(t, v, a)
			assertProblem(t, w, http.StatusUnauthorized, "invalid_token", "", "")
		}
	})
}

func TestAccepts(t *testing.T) {
	a := newTestAuthenticator(t, newClock(), func(c *Config) { c.ExcludePrefixes = []string{"cpx_live."} })
	bearer := func(v string) gatehouse.Credential {
		return gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: v}
	}
	tests := []struct {
		name string
		c    gatehouse.Credential
		want bool
	}{
		{"three segments", bearer("a.b.c"), true},
		{"three empty segments", bearer(".."), true},
		{"message source", gatehouse.Credential{Source: gatehouse.SourceMessage, Scheme: gatehouse.SchemeBearer, Value: "a.b.c"}, true},
		{"basic scheme", gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBasic, Value: "a.b.c"}, false},
		{"cookie", gatehouse.Credential{Source: gatehouse.SourceCookie, Value: "a.b.c"}, false},
		{"two segments", bearer("a.b"), false},
		{"four segments", bearer("a.b.c.d"), false},
		{"api key", bearer("cpx_live.abcdefghijklmnopqrstuvwxyzABCD123456"), false},
		{"excluded prefix with two dots", bearer("cpx_live.a.b"), false},
		{"too long", bearer(strings.Repeat("a", gatehouse.MaxCredentialLength) + ".b.c"), false},
		{"empty", bearer(""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.Accepts(tt.c))
		})
	}
}

func TestTypeCheck(t *testing.T) {
	clk := newClock()
	k := keys(t)
	a := newTestAuthenticator(t, clk, func(c *Config) { c.Type = "at+jwt" })
	tests := []struct {
		name   string
		typ    any
		detail string
	}{
		{"at+jwt", "at+jwt", ""},
		{"application/at+JWT", "application/at+JWT", ""},
		{"AT+JWT", "AT+JWT", ""},
		{"JWT", "JWT", DetailBadType},
		{"missing", nil, DetailBadType},
		{"a number", 1, DetailBadType},
		{"application/ alone", "application/", DetailBadType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1", "typ": tt.typ}, claimsAt(clk.Now()))
			_, err := a.Verify(context.Background(), token)
			if tt.detail == "" {
				require.NoError(t, err)
				return
			}
			assertRefused(t, err, tt.detail)
		})
	}
}

func TestLeewayCap(t *testing.T) {
	is := Issuer{Keys: MustStaticKeys(mustHMAC(t))}
	for _, tt := range []struct {
		leeway time.Duration
		ok     bool
	}{{0, true}, {time.Second, true}, {MaxLeeway, true}, {MaxLeeway + time.Nanosecond, false}, {time.Hour, false}, {-time.Second, false}} {
		t.Run(tt.leeway.String(), func(t *testing.T) {
			_, err := New(Config{Leeway: tt.leeway}, is)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	t.Run("the cap holds at verification", func(t *testing.T) {
		clk := newClock()
		a, err := New(Config{Leeway: MaxLeeway, Now: clk.Now}, is)
		require.NoError(t, err)
		k := keys(t)
		for _, tt := range []struct {
			ago    time.Duration
			detail string
		}{{MaxLeeway - time.Second, ""}, {MaxLeeway + time.Second, DetailExpired}, {time.Hour, DetailExpired}} {
			c := with(clk.Now(), func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(-tt.ago).Unix() })
			_, err := a.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, k.hmac[:32], nil, c))
			if tt.detail == "" {
				assert.NoError(t, err, tt.ago)
			} else {
				assertRefused(t, err, tt.detail)
			}
		}
	})
}

func mustHMAC(t *testing.T) *Key {
	t.Helper()
	k, err := NewHMACKey("", HS256, keys(t).hmac[:32])
	require.NoError(t, err)
	return k
}

func TestNewErrors(t *testing.T) {
	static := MustStaticKeys(mustHMAC(t))
	tests := []struct {
		name    string
		cfg     Config
		issuers []Issuer
	}{
		{"no issuer", Config{}, nil},
		{"no key source", Config{}, []Issuer{{Issuer: "a"}}},
		{"several issuers, one unnamed", Config{}, []Issuer{{Issuer: "a", Keys: static}, {Keys: static}}},
		{"several issuers, same name", Config{}, []Issuer{{Issuer: "a", Keys: static}, {Issuer: "a", Keys: static}}},
		{"empty audience", Config{}, []Issuer{{Keys: static, Audience: []string{""}}}},
		{"unknown algorithm", Config{}, []Issuer{{Keys: static, Algorithms: []string{"none"}}}},
		{"negative lifetime", Config{}, []Issuer{{Keys: static, MaxLifetime: -1}}},
		{"token length over the cap", Config{MaxTokenLength: gatehouse.MaxCredentialLength + 1}, []Issuer{{Keys: static}}},
		{"empty excluded prefix", Config{ExcludePrefixes: []string{""}}, []Issuer{{Keys: static}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.issuers...)
			assert.Error(t, err)
		})
	}
}

func TestIssuers(t *testing.T) {
	clk := newClock()
	k := keys(t)
	calls := &countingSource{KeySource: MustStaticKeys(mustHMAC(t))}
	single, err := New(Config{Now: clk.Now}, Issuer{Issuer: loginIssuer, Keys: calls})
	require.NoError(t, err)
	anyIss, err := New(Config{Now: clk.Now}, Issuer{Keys: calls})
	require.NoError(t, err)

	ctx := context.Background()
	good := sign(t, jwt.SigningMethodHS256, k.hmac[:32], nil, loginClaims(clk.Now()))
	_, err = single.Verify(ctx, good)
	require.NoError(t, err)

	before := calls.n.Load()
	evil := sign(t, jwt.SigningMethodHS256, k.hmac[:32], nil, claimsAt(clk.Now()))
	_, err = single.Verify(ctx, evil)
	assertRefused(t, err, DetailBadIssuer)
	assert.Equal(t, before, calls.n.Load(), "a wrong issuer is refused before any key lookup")

	// A single issuer without a name does not check iss.
	_, err = anyIss.Verify(ctx, evil)
	require.NoError(t, err)

	t.Run("each issuer its own keys and audience", func(t *testing.T) {
		a := newTestAuthenticator(t, clk, nil)
		// The login issuer accepts only apiAudience.
		tok := sign(t, jwt.SigningMethodHS256, k.hmac[:32], map[string]any{"kid": "hs1"},
			with(clk.Now(), func(c jwt.MapClaims) { c["iss"] = loginIssuer; c["aud"] = "https://other.example" }))
		_, err := a.Verify(ctx, tok)
		assertRefused(t, err, DetailBadAudience)
		// The idp accepts it.
		tok = sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"},
			with(clk.Now(), func(c jwt.MapClaims) { c["aud"] = "https://other.example" }))
		_, err = a.Verify(ctx, tok)
		require.NoError(t, err)
	})
}

// TestAudienceShapeUnchecked checks that an issuer without an Audience,
// which does not match "aud", still refuses one that is neither a string
// nor an array of strings (RFC 7519 section 4.1.3), through Verify and
// through the middleware.
func TestAudienceShapeUnchecked(t *testing.T) {
	clk := newClock()
	k := keys(t)
	a, err := New(Config{Now: clk.Now}, Issuer{Issuer: loginIssuer, Keys: MustStaticKeys(mustHMAC(t))})
	require.NoError(t, err)
	tests := []struct {
		name   string
		aud    any // absentAud: no aud member
		detail string
	}{
		{"absent", absentAud{}, ""},
		{"null", nil, ""},
		{"a string", "anything", ""},
		{"an array of strings", []string{"x", "y"}, ""},
		{"an empty array", []string{}, ""},
		{"a number", 42, DetailBadClaims},
		{"an object", map[string]any{"x": "y"}, DetailBadClaims},
		{"a bool", false, DetailBadClaims},
		{"a string then a number", []any{"x", 42}, DetailBadClaims},
		{"a number then a string", []any{42, "x"}, DetailBadClaims},
		{"a string then null", []any{"x", nil}, DetailBadClaims},
		{"a string then an array", []any{"x", []string{"y"}}, DetailBadClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, k.hmac[:32], nil, with(clk.Now(), func(c jwt.MapClaims) {
				c["iss"] = loginIssuer
				c["aud"] = tt.aud
				if _, absent := tt.aud.(absentAud); absent {
					delete(c, "aud")
				}
			}))
			p, err := a.Verify(context.Background(), tok)
			w := serveToken(t, tok, a)
			if tt.detail == "" {
				require.NoError(t, err)
				assert.Equal(t, "user-1", p.ID)
				assert.Equal(t, http.StatusNoContent, w.Code)
				return
			}
			assertRefused(t, err, tt.detail)
			assertProblem(t, w, http.StatusUnauthorized, "invalid_token", tt.detail, tok)
		})
	}
}

type absentAud struct{}

// countingSource counts key lookups.
type countingSource struct {
	KeySource
	n atomic.Int64
}

func (c *countingSource) Key(ctx context.Context, kid string) (*Key, error) {
	c.n.Add(1)
	return c.KeySource.Key(ctx, kid)
}

// failingSource is a key source whose backend is down.
type failingSource struct{ err error }

func (failingSource) Algorithms() []string { return []string{RS256} }
func (f failingSource) Key(context.Context, string) (*Key, error) {
	return nil, f.err
}

func TestSourceUnavailable(t *testing.T) {
	clk := newClock()
	k := keys(t)
	secret := errors.New("dial tcp 10.0.0.1:443: connection refused")
	a, err := New(Config{Now: clk.Now}, Issuer{Keys: failingSource{err: secret}})
	require.NoError(t, err)
	token := sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"}, claimsAt(clk.Now()))

	_, err = a.Verify(context.Background(), token)
	require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken)

	w := serveToken(t, token, a)
	assertProblem(t, w, http.StatusServiceUnavailable, "unavailable", "", token)
	assert.NotContains(t, w.Body.String(), "10.0.0.1")
}

func TestPrincipalMapping(t *testing.T) {
	clk := newClock()
	k := keys(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		claims func(c jwt.MapClaims)
		scopes []string
		tenant string
	}{
		{"scope string", func(c jwt.MapClaims) { c["scope"] = "b a  b" }, []string{"a", "b"}, ""},
		{"scp string", func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = "x y" }, []string{"x", "y"}, ""},
		{"scp array", func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []string{"y", "x"} }, []string{"x", "y"}, ""},
		{"scope wins over scp", func(c jwt.MapClaims) { c["scope"] = "a"; c["scp"] = []string{"z"} }, []string{"a"}, ""},
		{"no scopes", func(c jwt.MapClaims) { delete(c, "scope") }, nil, ""},
		{"tenant", func(c jwt.MapClaims) { c["org"] = "acme" }, []string{"read", "write"}, "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuthenticator(t, clk, nil)
			tok := sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"}, with(clk.Now(), tt.claims))
			p, err := a.Verify(ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, tt.scopes, p.Scopes)
			assert.Equal(t, tt.tenant, p.TenantID)
			assert.Equal(t, "ed1", p.KeyID)
			assert.Equal(t, clk.Now().Add(time.Hour), p.ExpiresAt)
		})
	}

	t.Run("custom function", func(t *testing.T) {
		a := newTestAuthenticator(t, clk, func(c *Config) {
			c.Principal = func(claims map[string]any, key *Key) (*gatehouse.Principal, error) {
				if claims["email"] == nil {
					return nil, errors.New("no email")
				}
				return &gatehouse.Principal{ID: claims["email"].(string), Kind: gatehouse.KindJWT, Claims: claims}, nil
			}
		})
		tok := sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"},
			with(clk.Now(), func(c jwt.MapClaims) { c["email"] = "a@example.com" }))
		p, err := a.Verify(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, "a@example.com", p.ID)

		tok = sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"}, claimsAt(clk.Now()))
		_, err = a.Verify(ctx, tok)
		assertRefused(t, err, DetailBadClaims)
	})

	t.Run("panicking function fails closed", func(t *testing.T) {
		a := newTestAuthenticator(t, clk, func(c *Config) {
			c.Principal = func(map[string]any, *Key) (*gatehouse.Principal, error) { panic("boom") }
		})
		tok := sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"}, claimsAt(clk.Now()))
		_, err := a.Verify(ctx, tok)
		assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	})
}

func TestMaxLifetime(t *testing.T) {
	clk := newClock()
	k := keys(t)
	a, err := New(Config{Now: clk.Now, Leeway: 10 * time.Second},
		Issuer{Keys: MustStaticKeys(mustHMAC(t)), MaxLifetime: time.Hour})
	require.NoError(t, err)
	for _, tt := range []struct {
		life   time.Duration
		detail string
	}{{time.Hour, ""}, {time.Hour + 10*time.Second, ""}, {time.Hour + 11*time.Second, DetailTooLongLived}, {24 * time.Hour * 365, DetailTooLongLived}} {
		tok := sign(t, jwt.SigningMethodHS256, k.hmac[:32], nil,
			with(clk.Now(), func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(tt.life).Unix() }))
		_, err := a.Verify(context.Background(), tok)
		if tt.detail == "" {
			assert.NoError(t, err, tt.life)
		} else {
			assertRefused(t, err, tt.detail)
		}
	}
}

func TestJKUNeverFetched(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clk := newClock()
	k := keys(t)
	a := newTestAuthenticator(t, clk, nil)
	for _, hdr := range []map[string]any{
		{"kid": "rsa1", "jku": srv.URL + "/jwks.json"},
		{"kid": "attacker", "jku": srv.URL + "/jwks.json"},
		{"kid": "attacker", "x5u": srv.URL + "/cert.pem"},
		{"x5u": srv.URL + "/cert.pem", "jku": srv.URL},
	} {
		tok := sign(t, jwt.SigningMethodRS256, k.rsa2, hdr, claimsAt(clk.Now()))
		_, err := a.Verify(context.Background(), tok)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	}
	assert.Zero(t, hits.Load())
}

// token68 reports whether s is an RFC 9110 token68, as the middleware's
// extractor requires before any authenticator sees a credential.
func token68(s string) bool {
	t := strings.TrimRight(s, "=")
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// TestCachedTokenLapsesAsVerified: a token whose exp has a fraction is
// read as whole seconds, as golang-jwt reads it, by the check and by the
// cache alike, so a cached token is never served after the moment a fresh
// verification would have refused it.
func TestCachedTokenLapsesAsVerified(t *testing.T) {
	clk := newClock()
	k := keys(t)
	a := newTestAuthenticator(t, clk, func(c *Config) { c.Leeway = 0 })
	exp := float64(testEpoch.Unix()) + 10.7
	token := sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": "rsa1"},
		with(testEpoch, func(c jwt.MapClaims) { c["exp"] = exp }))
	p, err := a.Verify(context.Background(), token)
	require.NoError(t, err)
	assert.Equal(t, testEpoch.Add(10*time.Second), p.ExpiresAt, "whole seconds")
	require.Equal(t, 1, a.Len(), "cached")

	clk.Set(testEpoch.Add(9900 * time.Millisecond))
	_, err = a.Verify(context.Background(), token)
	require.NoError(t, err, "before the expiry, from the cache")
	clk.Set(testEpoch.Add(10300 * time.Millisecond))
	_, err = a.Verify(context.Background(), token)
	assertRefused(t, err, DetailExpired)
}
