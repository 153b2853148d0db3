package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
)

func TestParseAuthorization(t *testing.T) {
	max := strings.Repeat("a", gatehouse.MaxCredentialLength)
	tests := []struct {
		name   string
		in     string
		scheme string
		value  string
		err    error            // sentinel when refused
		reason gatehouse.Reason // reason when refused
	}{
		{name: "bearer", in: "Bearer abc", scheme: "Bearer", value: "abc"},
		{name: "lower-case bearer", in: "bearer abc", scheme: "Bearer", value: "abc"},
		{name: "upper-case bearer", in: "BEARER abc", scheme: "Bearer", value: "abc"},
		{name: "basic", in: "basic dXNlcjpwYXNz", scheme: "Basic", value: "dXNlcjpwYXNz"},
		{name: "other scheme kept as sent", in: "DPoP abc", scheme: "DPoP", value: "abc"},
		{name: "token68 alphabet", in: "Bearer aZ09-._~+/==", scheme: "Bearer", value: "aZ09-._~+/=="},
		{name: "many spaces", in: "Bearer     abc", scheme: "Bearer", value: "abc"},
		{name: "trailing space and tab", in: "Bearer abc \t", scheme: "Bearer", value: "abc"},
		{name: "longest credential", in: "Bearer " + max, scheme: "Bearer", value: max},
		{name: "longest credential after spaces", in: "Bearer" + strings.Repeat(" ", 64) + max[:len(max)-7], scheme: "Bearer", value: max[:len(max)-7]},

		{name: "empty", in: "", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "space", in: " ", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "leading space", in: " Bearer abc", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme only", in: "Bearer", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme and spaces", in: "Bearer   ", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme with a slash", in: "Bear/er abc", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme with a tab", in: "Bearer\tabc", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme with NUL", in: "Bear\x00er abc", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "scheme non-ASCII", in: "Bëarer abc", err: gatehouse.ErrInvalidRequest, reason: gatehouse.ReasonMalformed},
		{name: "value with space", in: "Bearer a b", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with comma", in: "Bearer a,b", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with quote", in: `Bearer "a"`, err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with CR", in: "Bearer a\rb", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with LF", in: "Bearer ab\n", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with NUL", in: "Bearer ab\x00", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value with tab inside", in: "Bearer a\tb", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value non-ASCII", in: "Bearer abé", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "value only padding", in: "Bearer ==", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "padding inside", in: "Bearer a=b", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonMalformed},
		{name: "credential too long", in: "Bearer " + max + "a", err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonTooLong},
		{name: "header too long", in: "Bearer " + strings.Repeat(" ", 100) + max, err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonTooLong},
		{name: "one megabyte", in: strings.Repeat("B", 1<<20), err: gatehouse.ErrInvalidToken, reason: gatehouse.ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := middleware.ParseAuthorization(tt.in)
			if tt.err == nil {
				require.NoError(t, err)
				assert.Equal(t, gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: tt.scheme, Value: tt.value}, c)
				return
			}
			require.ErrorIs(t, err, tt.err)
			assert.Equal(t, gatehouse.Credential{}, c)
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tt.reason, ge.Reason)
			assert.NotEmpty(t, ge.Detail)
			assert.NotContains(t, ge.Detail, "abc")
		})
	}
}

func TestParseAuthorizationDoesNotAllocate(t *testing.T) {
	inputs := []string{
		"Bearer " + strings.Repeat("k", 46),
		"bearer " + strings.Repeat("k", 46),
		"Basic dXNlcjpwYXNz",
		"Bearer",
		"Bearer a b",
		"",
		strings.Repeat("x", 10_000),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, in := range inputs {
			_, _ = middleware.ParseAuthorization(in)
		}
	})
	assert.Zero(t, allocs)
}

// TestCookies covers the session cookie as the middleware reads it: used
// only without an Authorization header (the header wins, with no fallback
// when it is bad), once, within the length cap, and with cross-origin
// protection for unsafe methods.
func TestCookies(t *testing.T) {
	const sid = "s3ss10nID_abcdefghijklmnopqrstuvwxyz"
	session := cookieStub{&stubAuth{cookie: "__Host-sid", valid: sid,
		p:   &gatehouse.Principal{ID: "usr_cookie", Kind: gatehouse.KindSession},
		err: gatehouse.Invalid(gatehouse.ReasonUnknown, "Invalid or expired session")}}
	f := newFixture(t, withAuthenticators(nil, []gatehouse.Authenticator{session}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)

	tests := []struct {
		name    string
		method  string
		headers map[string][]string
		status  int
		body    string // on 200
		code    string // on refusal
	}{
		{name: "cookie", headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}},
			status: 200, body: "hello usr_cookie"},
		{name: "cookie among others", headers: map[string][]string{"Cookie": {"theme=dark; __Host-sid=" + sid + "; lang=en"}},
			status: 200, body: "hello usr_cookie"},
		{name: "cookie in a second Cookie line", headers: map[string][]string{"Cookie": {"theme=dark", "__Host-sid=" + sid}},
			status: 200, body: "hello usr_cookie"},
		{name: "quoted cookie", headers: map[string][]string{"Cookie": {`__Host-sid="` + sid + `"`}},
			status: 200, body: "hello usr_cookie"},
		{name: "header wins over cookie", headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Authorization": {"Bearer " + key}},
			status: 200, body: "hello usr_alice"},
		{name: "bad header, good cookie: no fallback", headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Authorization": {"Bearer " + badChecksum(key)}},
			status: 401, code: "invalid_token"},
		{name: "malformed header, good cookie", headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Authorization": {"Bearer"}},
			status: 400, code: "invalid_request"},
		{name: "unknown session", headers: map[string][]string{"Cookie": {"__Host-sid=attacker-chosen-id"}},
			status: 401, code: "invalid_token"},
		{name: "duplicate cookie", headers: map[string][]string{"Cookie": {"__Host-sid=" + sid + "; __Host-sid=" + sid}},
			status: 400, code: "invalid_request"},
		{name: "duplicate cookie across lines", headers: map[string][]string{"Cookie": {"__Host-sid=other", "__Host-sid=" + sid}},
			status: 400, code: "invalid_request"},
		{name: "empty cookie", headers: map[string][]string{"Cookie": {"__Host-sid="}},
			status: 401, code: "unauthenticated"},
		{name: "name without the prefix", headers: map[string][]string{"Cookie": {"sid=" + sid}},
			status: 401, code: "unauthenticated"},
		{name: "name in another case", headers: map[string][]string{"Cookie": {"__host-sid=" + sid}},
			status: 401, code: "unauthenticated"},
		{name: "cookie too long", headers: map[string][]string{"Cookie": {"__Host-sid=" + strings.Repeat("a", gatehouse.MaxCredentialLength+1)}},
			status: 401, code: "invalid_token"},
		{name: "POST same origin", method: http.MethodPost,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Sec-Fetch-Site": {"same-origin"}},
			status:  200, body: "hello usr_cookie"},
		{name: "POST without Origin or Sec-Fetch-Site (curl)", method: http.MethodPost,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}},
			status:  200, body: "hello usr_cookie"},
		{name: "POST cross-site", method: http.MethodPost,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Sec-Fetch-Site": {"cross-site"}},
			status:  403, code: "forbidden"},
		{name: "DELETE from another origin", method: http.MethodDelete,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Origin": {"https://evil.example"}},
			status:  403, code: "forbidden"},
		{name: "POST Origin null", method: http.MethodPost,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Origin": {"null"}},
			status:  403, code: "forbidden"},
		{name: "GET cross-site is safe", method: http.MethodGet,
			headers: map[string][]string{"Cookie": {"__Host-sid=" + sid}, "Sec-Fetch-Site": {"cross-site"}},
			status:  200, body: "hello usr_cookie"},
		{name: "POST cross-site with a header credential", method: http.MethodPost,
			headers: map[string][]string{"Authorization": {"Bearer " + key}, "Sec-Fetch-Site": {"cross-site"}},
			status:  200, body: "hello usr_alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "http://api.example/", nil)
			for k, v := range tt.headers {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if tt.code == "" {
				require.Equal(t, tt.status, w.Code, "body %s", w.Body.String())
				assert.Equal(t, tt.body, w.Body.String())
				return
			}
			requireProblem(t, w, tt.status, tt.code)
			assertNoLeak(t, w, sid, key)
		})
	}
}

// TestQueryToken checks that a credential in the query string is refused
// with 400 and never read, even beside a valid header.
func TestQueryToken(t *testing.T) {
	f := newFixture(t)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	tests := []struct {
		query  string
		header bool
		status int
	}{
		{query: "access_token=" + key, status: 400},
		{query: "access_token=" + key, header: true, status: 400},
		{query: "page=2&access_token=" + key, status: 400},
		{query: "access_token", status: 400},
		{query: "access_token=", header: true, status: 400},
		{query: "a=1&access_token=x&b=2", header: true, status: 400},
		{query: "my_access_token=x", header: true, status: 200},
		{query: "access_tokens=x", header: true, status: 200},
		{query: "token=" + key, status: 401},
		{query: "api_key=" + key, status: 401},
		{query: "q=access_token", header: true, status: 200},
		// Percent-encoded names are the same parameter once decoded, as
		// url.ParseQuery (and so r.URL.Query and r.FormValue) sees them.
		{query: "access%5Ftoken=" + key, status: 400},
		{query: "access%5ftoken=" + key, header: true, status: 400},
		{query: "%61%63%63%65%73%73%5F%74%6F%6B%65%6E=x", status: 400},
		{query: "ACCESS_TOKEN=x", header: true, status: 200},
		{query: "access%5Gtoken=x", header: true, status: 200},
		{query: "access%5", header: true, status: 200},
		{query: "access%5Ftoken%00=x", header: true, status: 200},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.query, key, "KEY"), func(t *testing.T) {
			w := get(h, func(r *http.Request) {
				r.URL.RawQuery = tt.query
				if tt.header {
					r.Header.Set("Authorization", "Bearer "+key)
				}
			})
			switch tt.status {
			case 200:
				require.Equal(t, 200, w.Code, "body %s", w.Body.String())
			case 400:
				p := requireProblem(t, w, 400, "invalid_request")
				assert.Equal(t, "Credentials are not accepted in the query string: send them in the Authorization header", p.Detail)
				assert.Equal(t, "invalid_request", bearerChallenge(t, w).Params["error"])
			default:
				requireProblem(t, w, tt.status, "unauthenticated")
			}
			assertNoLeak(t, w, key)
		})
	}
	assert.Equal(t, int64(1), f.probe.calls.Load(), "one load for the accepted rows; refused rows never reach the store")
}

// TestQueryTokenAgreesWithParseQuery checks that the refusal sees an
// access_token parameter exactly when url.ParseQuery (what r.URL.Query and
// r.FormValue use) would.
func TestQueryTokenAgreesWithParseQuery(t *testing.T) {
	f := newFixture(t)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"read"}})
	h := f.mw.Handler(echo)
	names := []string{"access_token", "access%5Ftoken", "access%5ftoken", "%61ccess_token", "access+token",
		"access%20token", "access_token%20", "Access_token", "access_token%", "access_%token", "access_tok%65n",
		"access%255Ftoken", "", "x"}
	for _, name := range names {
		for _, q := range []string{name, name + "=1", "a=1&" + name + "=2", name + "=1&b=2"} {
			t.Run(q, func(t *testing.T) {
				vals, _ := url.ParseQuery(q)
				_, want := vals["access_token"]
				w := get(h, func(r *http.Request) {
					r.URL.RawQuery = q
					r.Header.Set("Authorization", "Bearer "+key)
				})
				assert.Equal(t, want, w.Code == http.StatusBadRequest, "status %d", w.Code)
			})
		}
	}
}
