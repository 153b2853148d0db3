package jwtauth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// fuzzSecret and fuzzSeed make the fuzz keys deterministic, so that the
// seed corpus in testdata/fuzz holds tokens that verify.
var (
	fuzzSecret = []byte("fuzz-secret-fuzz-secret-fuzz-sec") // 32 bytes
	fuzzSeed   = []byte("fuzz-ed25519-seed-fuzz-ed25519-s") // 32 bytes
)

func fuzzAuthenticator(tb testing.TB) *Authenticator {
	tb.Helper()
	hs, err := NewHMACKey("hs", HS256, fuzzSecret)
	if err != nil {
		tb.Fatal(err)
	}
	ed, err := NewPublicKey("ed", EdDSA, ed25519.NewKeyFromSeed(fuzzSeed).Public())
	if err != nil {
		tb.Fatal(err)
	}
	a, err := New(Config{Now: func() time.Time { return testEpoch }, Leeway: 30e9, TenantClaim: "org", CacheSize: 64},
		Issuer{Issuer: loginIssuer, Audience: []string{apiAudience}, Keys: MustStaticKeys(hs)},
		Issuer{Issuer: idpIssuer, Audience: []string{apiAudience}, Keys: MustStaticKeys(ed)},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

var fixedDetails = map[string]bool{
	DetailTooLong: true, DetailMalformed: true, DetailAlgorithm: true, DetailBadSignature: true,
	DetailUnknownKey: true, DetailKeyExpired: true, DetailExpired: true, DetailNotYetValid: true,
	DetailBadIssuer: true, DetailBadAudience: true, DetailBadType: true, DetailBadClaims: true,
	DetailTooLongLived: true, DetailRevoked: true,
}

// FuzzVerify feeds arbitrary tokens to the parser and verifier. Whatever
// the input, Verify does not panic, and either returns a principal for a
// token signed by one of the keys or refuses it with invalid_token and one
// of the fixed details (static keys never make it 503).
func FuzzVerify(f *testing.F) {
	ed := ed25519.NewKeyFromSeed(fuzzSeed)
	now := testEpoch
	for _, c := range []struct {
		m   jwt.SigningMethod
		key any
		kid string
		iss string
	}{{jwt.SigningMethodHS256, fuzzSecret, "hs", loginIssuer}, {jwt.SigningMethodEdDSA, ed, "ed", idpIssuer}} {
		claims := claimsAt(now)
		claims["iss"] = c.iss
		claims["org"] = "acme"
		f.Add(sign(f, c.m, c.key, map[string]any{"kid": c.kid}, claims))
		claims["exp"] = now.Add(-2 * time.Hour).Unix()
		f.Add(sign(f, c.m, c.key, map[string]any{"kid": c.kid}, claims))
	}
	// Tokens signed with the HMAC key that only the aud or text checks
	// refuse, and one with an escaped surrogate pair that they let through.
	hs := func(input string) []byte {
		sig, err := jwt.SigningMethodHS256.Sign(input, fuzzSecret)
		if err != nil {
			f.Fatal(err)
		}
		return sig
	}
	claims := func(aud, sub string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":%s,"sub":%s,"exp":%d,"scope":"read"}`, loginIssuer, aud, sub, now.Add(time.Hour).Unix())
	}
	const hdr = `{"alg":"HS256","kid":"hs"}`
	aud := strconv.Quote(apiAudience)
	for _, c := range []struct{ hdr, claims string }{
		{hdr, claims("["+aud+",42]", `"u"`)},
		{hdr, claims("[42,"+aud+"]", `"u"`)},
		{hdr, claims("["+aud+",null]", `"u"`)},
		{hdr, claims("{}", `"u"`)},
		{hdr, claims(aud, "\"u\xff\"")},
		{hdr, claims(aud, "\"u\xed\xa0\x80\"")},
		{hdr, claims(aud, `"u\ud800"`)},
		{hdr, claims(aud, `"u\udc00\ud800"`)},
		{hdr, claims(aud, `"u\\ud800"`)},
		{hdr, claims(aud, `"u\ud83d\ude00"`)},
		{"{\"alg\":\"HS256\",\"kid\":\"hs\",\"x\":\"\xc3\"}", claims(aud, `"u"`)},
		{`{"alg":"HS256","kid":"hs","x":"\udfff"}`, claims(aud, `"u"`)},
	} {
		f.Add(rawJSONToken(c.hdr, c.claims, hs))
	}
	f.Add("a.b.c")
	f.Add("Bearer" + strings.Repeat(".", 1000))
	a := fuzzAuthenticator(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		p, err := a.Verify(ctx, token)
		if err == nil {
			if p == nil || p.ID == "" || p.Kind != gatehouse.KindJWT {
				t.Fatalf("accepted with a bad principal: %+v", p)
			}
			// Its header and claims are UTF-8, its aud a string or an
			// array of strings.
			for _, seg := range strings.SplitN(token, ".", 3)[:2] {
				if b, err := base64.RawURLEncoding.DecodeString(seg); err != nil || !utf8.Valid(b) {
					t.Fatalf("accepted a segment that is not UTF-8: %q", b)
				}
			}
			switch aud := p.Claims["aud"].(type) {
			case string:
			case []any:
				for _, e := range aud {
					if _, ok := e.(string); !ok {
						t.Fatalf("accepted aud %v", aud)
					}
				}
			default:
				t.Fatalf("accepted aud %v", aud)
			}
			// Verifying it again (a cache hit) gives the same principal.
			p2, err := a.Verify(ctx, token)
			if err != nil || p2 != p {
				t.Fatalf("second verification differs: %v", err)
			}
			return
		}
		if p != nil {
			t.Fatal("a principal with an error")
		}
		if !errors.Is(err, gatehouse.ErrInvalidToken) {
			t.Fatalf("not invalid_token: %v", err)
		}
		var ge *gatehouse.Error
		if !errors.As(err, &ge) || !fixedDetails[ge.Detail] {
			t.Fatalf("detail is not a fixed sentence: %v", err)
		}
	})
}

// FuzzAccepts feeds arbitrary Authorization header values to the
// middleware's parser and the JWT dispatcher: it accepts exactly the
// Bearer credentials with two dots within the length cap, and never
// panics.
func FuzzAccepts(f *testing.F) {
	for _, s := range []string{
		"Bearer a.b.c", "bearer a.b.c", "Bearer  a.b.c", "Basic a.b.c", "Bearer a.b", "Bearer a.b.c.d",
		"Bearer cpx_live.abc.def", "Bearer " + strings.Repeat(".", 100), "Bearer", "", "Bearer \x00.a.b",
	} {
		f.Add(s)
	}
	a := fuzzAuthenticator(f)
	excl, err := New(Config{ExcludePrefixes: []string{"cpx_live."}}, Issuer{Keys: MustStaticKeys(mustHMACFor(f))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := middleware.ParseAuthorization(header)
		if err != nil {
			return
		}
		got := a.Accepts(c)
		want := c.Scheme == gatehouse.SchemeBearer && len(c.Value) <= gatehouse.MaxCredentialLength && strings.Count(c.Value, ".") == 2
		if got != want {
			t.Fatalf("Accepts(%q %q) = %v, want %v", c.Scheme, c.Value, got, want)
		}
		if excl.Accepts(c) && strings.HasPrefix(c.Value, "cpx_live.") {
			t.Fatal("an excluded prefix was accepted")
		}
		if got {
			// Whatever Accepts takes, Verify handles without panicking.
			_, _ = a.Verify(context.Background(), c.Value)
		}
	})
}

func mustHMACFor(tb testing.TB) *Key {
	k, err := NewHMACKey("", HS256, fuzzSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
