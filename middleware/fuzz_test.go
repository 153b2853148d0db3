package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// refAuthorization is a reference reading of an Authorization value, written
// from RFC 9110 independently of ParseAuthorization: a token scheme, one or
// more spaces, a token68 credential of at most MaxCredentialLength bytes,
// optionally followed by spaces and tabs; the whole value at most
// MaxCredentialLength+64 bytes.
func refAuthorization(v string) (scheme, value string, ok bool) {
	if len(v) > gatehouse.MaxCredentialLength+64 {
		return "", "", false
	}
	i := strings.IndexByte(v, ' ')
	if i <= 0 {
		return "", "", false
	}
	scheme, value = v[:i], strings.TrimRight(strings.TrimLeft(v[i:], " "), " \t")
	for j := 0; j < len(scheme); j++ {
		c := scheme[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return "", "", false
		}
	}
	body := strings.TrimRight(value, "=")
	if body == "" || len(value) > gatehouse.MaxCredentialLength {
		return "", "", false
	}
	for j := 0; j < len(body); j++ {
		c := body[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return "", "", false
		}
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		scheme = "Bearer"
	case strings.EqualFold(scheme, "Basic"):
		scheme = "Basic"
	}
	return scheme, value, true
}

// parseDetails are the only details a ParseAuthorization refusal carries.
var parseDetails = map[string]bool{
	"The Authorization header must be a scheme and a credential, as in Bearer <token>": true,
	"The Authorization header has a scheme but no credential":                          true,
	"The credential is too long":                                                       true,
	"The credential holds characters that no valid credential has":                     true,
}

// FuzzParseAuthorization checks ParseAuthorization against the reference
// reading: it never panics, accepts exactly what the reference accepts,
// returns a well-formed credential taken from the input, and refuses with a
// fixed, header-safe detail.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", " ", "Bearer", "Bearer ", "Bearer abc", "bearer abc", "BASIC dXNlcjpwYXNz", "Bearer  a==",
		"Bearer a=b", "Bearer ===", "Bearer a b", "Bearer\tabc", " Bearer abc", "Bearer abc \t",
		"Bearer a\r\nX: y", "Bearer \x00", "Bëarer abc", "Bearer é", "Token cpx_live.abc", "Bearer \"abc\"",
		"Bearer " + strings.Repeat(".", 200), `Digest username="a", realm="b"`, "Token abc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := middleware.ParseAuthorization(v)
		scheme, value, ok := refAuthorization(v)
		if err != nil {
			require.False(t, ok, "refused %q, which the reference accepts", v)
			assert.Equal(t, gatehouse.Credential{}, c)
			require.True(t, errorsIsOneOf(err, gatehouse.ErrInvalidRequest, gatehouse.ErrInvalidToken), "error %v", err)
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.True(t, parseDetails[ge.Detail], "unexpected detail %q", ge.Detail)
			return
		}
		require.True(t, ok, "accepted %q, which the reference refuses", v)
		assert.Equal(t, gatehouse.SourceHeader, c.Source)
		assert.Equal(t, scheme, c.Scheme)
		assert.Equal(t, value, c.Value)
		assert.True(t, strings.Contains(v, c.Value), "the value is taken from the input")
		assert.LessOrEqual(t, len(c.Value), gatehouse.MaxCredentialLength)
	})
}

// fuzzKey is a fixed, well-formed key of testFormat (a test fixture, never a
// real secret), so that the checked-in corpus can hold a valid credential.
const fuzzKey = "cpx_live.VsguJTU6sO8bVeuR5nFEP83Sj5EJAg2LLUHk"

// fuzzSession is the one session cookie value the stub session
// authenticator accepts.
const fuzzSession = "fuzz-session-0123456789abcdef"

// Flags of FuzzMiddleware's third argument.
const (
	fuzzHeader     = 1 << iota // send the Authorization header
	fuzzTwoHeaders             // send it twice
	fuzzPost                   // POST instead of GET
	fuzzCrossSite              // Sec-Fetch-Site: cross-site
	fuzzScoped                 // route requires the "admin" scope, which no credential has
)

// FuzzMiddleware sends arbitrary Authorization and Cookie values through
// the full middleware (API keys through a cache, a session cookie stub):
// it never panics, never serves the handler without a valid credential,
// answers every refusal with a well-formed problem+json and a header-safe
// challenge, and never echoes a secret.
func FuzzMiddleware(f *testing.F) {
	fx := newFixture(f, withCache(store.CacheConfig{Size: 64, NegativeSize: 256}),
		withAuthenticators(nil, []gatehouse.Authenticator{cookieStub{&stubAuth{cookie: "sid", valid: fuzzSession,
			p:   &gatehouse.Principal{ID: "usr_cookie", Kind: gatehouse.KindSession},
			err: gatehouse.Invalid(gatehouse.ReasonUnknown, "Invalid or expired session")}}}))
	require.NoError(f, testFormat.Parse(fuzzKey))
	hasher, err := store.NewHasher(nil)
	require.NoError(f, err)
	require.NoError(f, fx.mem.CreateKey(context.Background(), &store.Key{
		ID: "key_fuzz", Digest: hasher.Sum(fuzzKey), Prefix: testPrefix, Last4: fuzzKey[len(fuzzKey)-4:],
		Name: "fuzz", OwnerID: "usr_fuzz", Scopes: []string{"read"}, CreatedAt: fx.clock.Now(),
	}))
	plain := fx.mw.Handler(echo)
	scoped := fx.mw.Handler(fx.mw.MustRequireScopes("admin")(echo))

	for _, s := range []struct {
		auth, cookie string
		flags        uint8
	}{
		{"", "", 0},
		{"Bearer " + fuzzKey, "", fuzzHeader},
		{"bearer " + fuzzKey, "", fuzzHeader | fuzzPost | fuzzCrossSite},
		{"Bearer " + fuzzKey, "", fuzzHeader | fuzzScoped},
		{"Bearer " + fuzzKey, "", fuzzHeader | fuzzTwoHeaders},
		{"Bearer " + fuzzKey[:len(fuzzKey)-1] + "A", "", fuzzHeader},
		{"Bearer " + fuzzKey + "\n", "", fuzzHeader},
		{"Basic dXNlcjpwYXNz", "", fuzzHeader},
		{"Token " + fuzzKey, "", fuzzHeader},
		{`Digest username="a", realm="api"`, "sid=" + fuzzSession, fuzzHeader},
		{"Bearers " + fuzzKey, "", fuzzHeader | fuzzPost | fuzzCrossSite},
		{"Bearer", "", fuzzHeader},
		{"", "sid=" + fuzzSession, 0},
		{"", "sid=" + fuzzSession, fuzzPost | fuzzCrossSite},
		{"", "sid=" + fuzzSession + "; sid=x", 0},
		{"", `theme=dark; sid="` + fuzzSession + `"`, 0},
		{"Bearer " + fuzzKey, "sid=nope", fuzzHeader},
		{"", "sid=" + strings.Repeat("s", 9000), 0},
	} {
		f.Add(s.auth, s.cookie, s.flags)
	}

	f.Fuzz(func(t *testing.T, auth, cookie string, flags uint8) {
		method := http.MethodGet
		if flags&fuzzPost != 0 {
			method = http.MethodPost
		}
		r := httptest.NewRequest(method, "http://api.example/", nil)
		if flags&fuzzHeader != 0 {
			r.Header["Authorization"] = []string{auth}
			if flags&fuzzTwoHeaders != 0 {
				r.Header["Authorization"] = []string{auth, auth}
			}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		if flags&fuzzCrossSite != 0 {
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		h := plain
		if flags&fuzzScoped != 0 {
			h = scoped
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if w.Code == http.StatusOK {
			switch w.Body.String() {
			case "hello usr_fuzz":
				require.NotZero(t, flags&fuzzHeader, "a key without a header")
				require.Zero(t, flags&fuzzTwoHeaders, "two headers")
				c, err := middleware.ParseAuthorization(auth)
				require.NoError(t, err)
				require.Equal(t, gatehouse.SchemeBearer, c.Scheme)
				require.Equal(t, fuzzKey, c.Value, "accepted a credential that is not the key")
			case "hello usr_cookie":
				require.Zero(t, flags&fuzzHeader, "the header wins over the cookie")
				require.Contains(t, cookie, fuzzSession)
			default:
				require.Failf(t, "200 without a principal", "body %q", w.Body.String())
			}
			require.Zero(t, flags&fuzzScoped, "no credential has the admin scope")
			return
		}

		require.Contains(t, []int{400, 401, 403}, w.Code, "body %s", w.Body.String())
		require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		var p problem
		dec := json.NewDecoder(strings.NewReader(w.Body.String()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&p))
		require.Equal(t, w.Code, p.Status)
		require.NotEmpty(t, p.Detail)
		status, _ := middleware.Classify(codeError(p.Code))
		require.Equal(t, w.Code, status, "code %q", p.Code)
		assertSafeHeaders(t, w.Header())
		if w.Code == http.StatusUnauthorized || w.Code == http.StatusBadRequest {
			c := bearerChallenge(t, w)
			require.Equal(t, "api", c.Params["realm"])
			// RFC 6750 section 3.1: no error code without a credential, or
			// with one in a scheme nobody takes; one with a bad credential.
			_, hasError := c.Params["error"]
			require.Equal(t, p.Code != "unauthenticated", hasError, "challenge %v, code %q", c.Params, p.Code)
		}
		assertNoLeak(t, w, fuzzKey, fuzzKey[len(testPrefix):], fuzzSession)
		if _, v, _ := strings.Cut(auth, " "); len(v) >= 16 && !strings.Contains(fuzzVocabulary, v) {
			assertNoLeak(t, w, v)
		}
		if len(cookie) >= 16 && !strings.Contains(fuzzVocabulary, cookie) {
			assertNoLeak(t, w, cookie)
		}
	})
}

// fuzzVocabulary holds the fixed text a refusal may contain, so that an
// input that happens to be a piece of it is not mistaken for an echo.
const fuzzVocabulary = `Bearer realm="api", error="invalid_request", error="invalid_token", ` +
	`error="insufficient_scope", scope="admin" error_description=` +
	`Authentication required: send a credential in the Authorization header ` +
	`Send exactly one Authorization header ` +
	`The Authorization header must be a scheme and a credential, as in Bearer <token> ` +
	`The Authorization header has a scheme but no credential ` +
	`The session cookie was sent more than once ` +
	`The credential is too long ` +
	`The credential holds characters that no valid credential has ` +
	`The credential is not of a kind this service accepts ` +
	`The Authorization scheme is not supported: use Bearer ` +
	`Cross-origin request refused: a cookie-authenticated request must come from this site ` +
	`Invalid or expired API key Invalid or expired session ` +
	`The credential lacks a required scope: admin ` +
	`{"type":"about:blank","title":"Unauthorized","status":401,"detail":"code":"unauthenticated"} ` +
	`Bad Request Forbidden invalid_request invalid_token insufficient_scope forbidden application/problem+json no-store nosniff`

// codeError returns a sentinel for a problem code, to check that the code
// and the status agree.
func codeError(code string) error {
	switch code {
	case "unauthenticated":
		return gatehouse.ErrNoCredentials
	case "invalid_request":
		return gatehouse.ErrInvalidRequest
	case "invalid_token":
		return gatehouse.ErrInvalidToken
	case "insufficient_scope":
		return gatehouse.ErrInsufficientScope
	case "forbidden":
		return gatehouse.ErrForbidden
	}
	return nil
}
