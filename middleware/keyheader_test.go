package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// header sets raw values of a header, bypassing canonicalisation checks.
func header(name string, values ...string) func(r *http.Request) {
	return func(r *http.Request) { r.Header[name] = values }
}

func both(fs ...func(r *http.Request)) func(r *http.Request) {
	return func(r *http.Request) {
		for _, f := range fs {
			f(r)
		}
	}
}

func TestKeyHeaders(t *testing.T) {
	session := &stubAuth{cookie: "sid", valid: "cookie-value", p: &gatehouse.Principal{ID: "usr_cookie", Kind: gatehouse.KindSession}}
	f := newFixture(t, withConfig(middleware.Config{KeyHeaders: []string{"x-api-key", "X-Other-Key"}}),
		withAuthenticators(nil, []gatehouse.Authenticator{cookieStub{session}}))
	key, _ := f.issue(t, apikey.Params{})
	other, _ := f.issue(t, apikey.Params{})
	h := f.mw.Handler(echo)
	bad := key[:len(key)-1] + map[bool]string{true: "y", false: "x"}[key[len(key)-1] == 'x']

	tests := []struct {
		name   string
		mutate func(r *http.Request)
		status int
		code   string
	}{
		{"the key in X-API-Key", header("X-Api-Key", key), 200, ""},
		{"surrounding spaces trimmed", header("X-Api-Key", "  "+key+"\t"), 200, ""},
		{"the second configured header", header("X-Other-Key", key), 200, ""},
		{"a bad checksum", header("X-Api-Key", bad), 401, "invalid_token"},
		{"bytes no key has", header("X-Api-Key", key[:10]+"\x00"+key[11:]), 401, "invalid_token"},
		{"an empty value", header("X-Api-Key", "  "), 400, "invalid_request"},
		{"the header twice", header("X-Api-Key", key, key), 400, "invalid_request"},
		{"two key headers", both(header("X-Api-Key", key), header("X-Other-Key", other)), 400, "invalid_request"},
		{"Authorization too", both(header("X-Api-Key", key), bearer(other)), 400, "invalid_request"},
		{"Authorization too, same key", both(header("X-Api-Key", key), bearer(key)), 400, "invalid_request"},
		{"a session cookie beside it: the header wins", both(header("X-Api-Key", key), header("Cookie", "sid=cookie-value")), 200, ""},
		{"never from the query string", func(r *http.Request) { r.URL.RawQuery = "api_key=" + key }, 401, "unauthenticated"},
		{"a header not configured", header("X-Key", key), 401, "unauthenticated"},
		{"a 1 MB value", header("X-Api-Key", string(make([]byte, 1<<20))), 401, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, tc.mutate)
			if tc.status == 200 {
				require.Equal(t, 200, w.Code, w.Body.String())
				assert.Contains(t, w.Body.String(), "hello usr_alice")
				return
			}
			requireProblem(t, w, tc.status, tc.code)
			assertNoLeak(t, w, key, other)
			assertSafeHeaders(t, w.Header())
		})
	}
	assert.Zero(t, session.calls.Load(), "the header always won over the cookie")
}

func TestKeyHeadersConfig(t *testing.T) {
	for _, names := range [][]string{{"Authorization"}, {"cookie"}, {"X Api Key"}, {""}, {"X-Api-Key", "x-api-key"}} {
		_, err := middleware.New(middleware.Config{KeyHeaders: names}, &stubAuth{scheme: "Bearer"})
		assert.Error(t, err, "%q", names)
	}
}

// FuzzKeyHeader sends arbitrary X-API-Key and Authorization values: the
// middleware never panics, serves the handler only for the one valid key
// in exactly one place, and refuses everything else with a 400 or 401
// problem that echoes nothing.
func FuzzKeyHeader(f *testing.F) {
	fx := newFixture(f, withConfig(middleware.Config{KeyHeaders: []string{"X-API-Key"}}))
	key, _ := fx.issue(f, apikey.Params{})
	h := fx.mw.Handler(echo)
	for _, s := range []struct {
		v, auth string
	}{{key, ""}, {key, "Bearer " + key}, {"", ""}, {" " + key + " ", ""}, {key + "\n", ""}, {"Bearer " + key, ""}, {"\x00", ""}} {
		f.Add(s.v, s.auth)
	}
	f.Fuzz(func(t *testing.T, v, auth string) {
		w := get(h, func(r *http.Request) {
			r.Header["X-Api-Key"] = []string{v}
			if auth != "" {
				r.Header["Authorization"] = []string{auth}
			}
		})
		switch w.Code {
		case 200:
			if auth != "" || middlewareTrim(v) != key {
				t.Fatalf("served with X-API-Key %q and Authorization %q", v, auth)
			}
		case 400, 401:
			assertNoLeak(t, w, key)
			assertSafeHeaders(t, w.Header())
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}

// middlewareTrim trims spaces and tabs as the middleware does.
func middlewareTrim(v string) string {
	for v != "" && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for v != "" && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
