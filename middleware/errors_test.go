package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

const detailUnavailable = "Authentication is temporarily unavailable; retry later"

// TestErrorTable drives every row of DESIGN.md's error table, and the
// forbidden row the default handler adds, through the real middleware.
func TestErrorTable(t *testing.T) {
	storeDown := errors.New("dial tcp 10.1.2.3:5432: connection refused")
	basic := &stubAuth{scheme: gatehouse.SchemeBasic, err: gatehouse.Malformed("The Basic credentials are not valid base64")}
	jwt := &stubAuth{scheme: gatehouse.SchemeBearer,
		err: gatehouse.Invalid(gatehouse.ReasonBadSignature, "Invalid or expired token")}
	limited := &stubAuth{scheme: "Throttled", err: &gatehouse.RateLimitError{RetryAfter: 1500 * time.Millisecond}}
	session := cookieStub{&stubAuth{cookie: "sid", valid: "s3ss10n", p: &gatehouse.Principal{ID: "usr_bob", Scopes: []string{"projects:write"}}}}
	extra := withAuthenticators(nil, []gatehouse.Authenticator{basic, jwt, limited, session})

	tests := []struct {
		name   string
		opts   []option
		method string
		// setup returns the request's shaping and the secret that must not
		// be echoed.
		setup  func(t *testing.T, f *fixture) (func(*http.Request), string)
		status int
		code   string
		detail string
		// challenge is the exact Bearer challenge; nil means no
		// WWW-Authenticate header at all.
		challenge  map[string]string
		storeCalls int64
	}{
		{
			name:      "no credentials",
			setup:     func(*testing.T, *fixture) (func(*http.Request), string) { return nil, "" },
			status:    http.StatusUnauthorized,
			code:      "unauthenticated",
			detail:    "Authentication required: send a credential in the Authorization header",
			challenge: map[string]string{"realm": "api"},
		},
		{
			name: "unsupported scheme",
			setup: func(*testing.T, *fixture) (func(*http.Request), string) {
				return authz("Token abc123def456"), "abc123def456"
			},
			status: http.StatusUnauthorized,
			code:   "unauthenticated",
			detail: "The Authorization scheme is not supported: use Bearer",
			// RFC 6750 section 3.1: no error code for an unsupported
			// authentication method.
			challenge: map[string]string{"realm": "api"},
		},
		{
			name: "two Authorization headers",
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}})
				return authz("Bearer "+key, "Bearer "+key), key
			},
			status: http.StatusBadRequest,
			code:   "invalid_request",
			detail: "Send exactly one Authorization header",
			challenge: map[string]string{"realm": "api", "error": "invalid_request",
				"error_description": "Send exactly one Authorization header"},
		},
		{
			name: "bad Basic encoding",
			setup: func(*testing.T, *fixture) (func(*http.Request), string) {
				return authz("Basic not+base64+at+all"), "not+base64+at+all"
			},
			status: http.StatusBadRequest,
			code:   "invalid_request",
			detail: "The Basic credentials are not valid base64",
			challenge: map[string]string{"realm": "api", "error": "invalid_request",
				"error_description": "The Basic credentials are not valid base64"},
		},
		{
			name: "unknown key",
			setup: func(t *testing.T, _ *fixture) (func(*http.Request), string) {
				key, err := testFormat.Generate()
				require.NoError(t, err)
				return bearer(key), key
			},
			status: http.StatusUnauthorized,
			code:   "invalid_token",
			detail: apikey.DetailInvalid,
			challenge: map[string]string{"realm": "api", "error": "invalid_token",
				"error_description": apikey.DetailInvalid},
			storeCalls: 1,
		},
		{
			name: "bad checksum",
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}})
				bad := badChecksum(key)
				return bearer(bad), bad
			},
			status: http.StatusUnauthorized,
			code:   "invalid_token",
			detail: apikey.DetailInvalid,
			challenge: map[string]string{"realm": "api", "error": "invalid_token",
				"error_description": apikey.DetailInvalid},
		},
		{
			name: "bad signature",
			setup: func(*testing.T, *fixture) (func(*http.Request), string) {
				tok := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl"
				return bearer(tok), tok
			},
			status: http.StatusUnauthorized,
			code:   "invalid_token",
			detail: "Invalid or expired token",
			challenge: map[string]string{"realm": "api", "error": "invalid_token",
				"error_description": "Invalid or expired token"},
		},
		{
			name: "revoked key",
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, rec := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}})
				f.revoke(t, rec.ID)
				return bearer(key), key
			},
			status: http.StatusUnauthorized,
			code:   "invalid_token",
			detail: apikey.DetailInvalid,
			challenge: map[string]string{"realm": "api", "error": "invalid_token",
				"error_description": apikey.DetailInvalid},
			storeCalls: 1,
		},
		{
			name: "expired key",
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}, ExpiresAt: f.clock.Now().Add(time.Hour)})
				f.clock.Advance(time.Hour)
				return bearer(key), key
			},
			status: http.StatusUnauthorized,
			code:   "invalid_token",
			detail: apikey.DetailInvalid,
			challenge: map[string]string{"realm": "api", "error": "invalid_token",
				"error_description": apikey.DetailInvalid},
			storeCalls: 1,
		},
		{
			name: "missing scope",
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
				return bearer(key), key
			},
			status:     http.StatusForbidden,
			code:       "insufficient_scope",
			detail:     "The credential lacks a required scope: projects:write",
			challenge:  map[string]string{"realm": "api", "error": "insufficient_scope", "scope": "projects:write"},
			storeCalls: 1,
		},
		{
			name: "rate limited",
			setup: func(*testing.T, *fixture) (func(*http.Request), string) {
				return authz("Throttled abc123"), "abc123"
			},
			status: http.StatusTooManyRequests,
			code:   "rate_limited",
			detail: "Too many requests: retry after 2 seconds",
		},
		{
			name: "store unavailable",
			opts: []option{withLookup(func(context.Context, store.Digest) (*store.Key, error) { return nil, storeDown })},
			setup: func(t *testing.T, f *fixture) (func(*http.Request), string) {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}})
				return bearer(key), key
			},
			status:     http.StatusServiceUnavailable,
			code:       "unavailable",
			detail:     detailUnavailable,
			storeCalls: 1,
		},
		{
			name:   "cross-site cookie request",
			method: http.MethodPost,
			setup: func(*testing.T, *fixture) (func(*http.Request), string) {
				return func(r *http.Request) {
					r.Header.Set("Cookie", "sid=s3ss10n")
					r.Header.Set("Sec-Fetch-Site", "cross-site")
				}, "s3ss10n"
			},
			status: http.StatusForbidden,
			code:   "forbidden",
			detail: "Cross-origin request refused: a cookie-authenticated request must come from this site",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, append([]option{extra}, tt.opts...)...)
			h := f.mw.Handler(f.mw.MustRequireScopes("projects:write")(echo))
			mutate, secret := tt.setup(t, f)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/projects", nil)
			if mutate != nil {
				mutate(r)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			p := requireProblem(t, w, tt.status, tt.code)
			assert.Equal(t, tt.detail, p.Detail)
			if tt.challenge == nil {
				assert.Empty(t, w.Header().Values("WWW-Authenticate"))
			} else {
				require.Len(t, w.Header().Values("WWW-Authenticate"), 1)
				c := bearerChallenge(t, w)
				assert.Equal(t, tt.challenge, c.Params)
			}
			if tt.code == "rate_limited" {
				assert.Equal(t, "2", w.Header().Get("Retry-After"))
			} else {
				assert.Empty(t, w.Header().Get("Retry-After"))
			}
			assertNoLeak(t, w, secret, storeDown.Error(), "10.1.2.3")
			assert.Equal(t, tt.storeCalls, f.probe.calls.Load(), "store calls")
		})
	}
}

// badChecksum returns key with its last character changed, which breaks the
// checksum and nothing else.
func badChecksum(key string) string {
	c := byte('A')
	if key[len(key)-1] == 'A' {
		c = 'B'
	}
	return key[:len(key)-1] + string(c)
}

func TestAccepted(t *testing.T) {
	f := newFixture(t)
	key, rec := f.issue(t, apikey.Params{OwnerID: "usr_alice", TenantID: "org_7", Scopes: []string{"projects:read"},
		Metadata: map[string]string{"team": "infra"}})
	var got *gatehouse.Principal
	h := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := gatehouse.FromContext(r.Context())
		require.True(t, ok)
		got = p
		w.WriteHeader(http.StatusNoContent)
	}))
	w := get(h, bearer(key))
	require.Equal(t, http.StatusNoContent, w.Code)
	require.NotNil(t, got)
	assert.Equal(t, "usr_alice", got.ID)
	assert.Equal(t, gatehouse.KindAPIKey, got.Kind)
	assert.Equal(t, "org_7", got.TenantID)
	assert.Equal(t, rec.ID, got.KeyID)
	assert.Equal(t, []string{"projects:read"}, got.Scopes)
	assert.Equal(t, map[string]string{"team": "infra"}, got.Metadata)
	assert.Empty(t, w.Header().Values("WWW-Authenticate"))

	// The second request is served from the cache, with the same shared
	// principal.
	first := got
	require.Equal(t, http.StatusNoContent, get(h, bearer(key)).Code)
	assert.Same(t, first, got)
	assert.Equal(t, int64(1), f.probe.calls.Load())
}

func TestRealm(t *testing.T) {
	f := newFixture(t, withConfig(middleware.Config{Realm: "billing API v2"}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	h := f.mw.Handler(f.mw.MustRequireScopes("projects:write")(echo))

	tests := []struct {
		name   string
		mutate func(*http.Request)
		status int
	}{
		{name: "no credentials", status: http.StatusUnauthorized},
		{name: "invalid token", mutate: bearer(badChecksum(key)), status: http.StatusUnauthorized},
		{name: "invalid request", mutate: authz("Bearer", "Bearer"), status: http.StatusBadRequest},
		{name: "insufficient scope", mutate: bearer(key), status: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.mutate)
			require.Equal(t, tt.status, w.Code)
			assert.Equal(t, "billing API v2", bearerChallenge(t, w).Params["realm"])
		})
	}
}

func TestRealmValidation(t *testing.T) {
	keys, err := apikey.NewAuthenticator(testFormat, store.NewMemory(), apikey.Config{})
	require.NoError(t, err)
	custom := func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusTeapot) }
	for _, realm := range []string{`a"b`, `a\b`, "a\tb", "a\nb", "a\rb", "a\x00b", "a\x7fb", "réalm"} {
		t.Run(realm, func(t *testing.T) {
			_, err := middleware.New(middleware.Config{Realm: realm}, keys)
			assert.Error(t, err, "default error handler")
			_, err = middleware.New(middleware.Config{Realm: realm, ErrorHandler: custom}, keys)
			assert.Error(t, err, "custom error handler")
			_, err = middleware.NewProblemWriter(middleware.ProblemConfig{Realm: realm})
			assert.Error(t, err, "problem writer")
		})
	}
	for _, realm := range []string{"", "api", "Billing API", "x!#$%&'()*+,-./:;<=>?@[]^_`{|}~"} {
		t.Run("valid "+realm, func(t *testing.T) {
			_, err := middleware.New(middleware.Config{Realm: realm}, keys)
			assert.NoError(t, err)
		})
	}
}

func TestNewValidation(t *testing.T) {
	keys, err := apikey.NewAuthenticator(testFormat, store.NewMemory(), apikey.Config{})
	require.NoError(t, err)
	tests := []struct {
		name  string
		auths []gatehouse.Authenticator
	}{
		{name: "no authenticator"},
		{name: "nil authenticator", auths: []gatehouse.Authenticator{keys, nil}},
		{name: "empty cookie name", auths: []gatehouse.Authenticator{cookieStub{&stubAuth{}}}},
		{name: "cookie name with a space", auths: []gatehouse.Authenticator{cookieStub{&stubAuth{cookie: "my sid"}}}},
		{name: "cookie name with =", auths: []gatehouse.Authenticator{cookieStub{&stubAuth{cookie: "sid=x"}}}},
		{name: "unsafe extra challenge", auths: []gatehouse.Authenticator{keys, badChallenger{&stubAuth{scheme: "Basic"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := middleware.New(middleware.Config{}, tt.auths...)
			assert.Error(t, err)
			assert.Nil(t, m)
		})
	}
}

type badChallenger struct{ *stubAuth }

func (badChallenger) Challenge(realm string) string {
	return "Basic realm=\"" + realm + "\"\r\nX-Evil: 1"
}

type basicChallenger struct{ *stubAuth }

func (basicChallenger) Challenge(realm string) string {
	return `Basic realm="` + realm + `", charset="UTF-8"`
}

// TestExtraChallenges checks that a Basic authenticator's challenge is
// offered beside the Bearer one on 401, and not on 400 or 403.
func TestExtraChallenges(t *testing.T) {
	basic := basicChallenger{&stubAuth{scheme: gatehouse.SchemeBasic, err: gatehouse.Invalid(gatehouse.ReasonUnknown, "")}}
	f := newFixture(t, withAuthenticators(nil, []gatehouse.Authenticator{basic}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	h := f.mw.Handler(f.mw.MustRequireScopes("projects:write")(echo))
	tests := []struct {
		name    string
		mutate  func(*http.Request)
		status  int
		schemes []string
		detail  string // when set, the detail, and no error code in the challenges
	}{
		{name: "no credentials", status: 401, schemes: []string{"Bearer", "Basic"}},
		{name: "bad Basic", mutate: authz("Basic dXNlcjpwYXNz"), status: 401, schemes: []string{"Bearer", "Basic"}},
		{name: "unsupported scheme", mutate: authz("Token abc"), status: 401, schemes: []string{"Bearer", "Basic"},
			detail: "The Authorization scheme is not supported: use Bearer or Basic"},
		{name: "invalid request", mutate: authz("Basic a", "Basic b"), status: 400, schemes: []string{"Bearer"}},
		{name: "insufficient scope", mutate: bearer(key), status: 403, schemes: []string{"Bearer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.mutate)
			require.Equal(t, tt.status, w.Code)
			var schemes []string
			for _, v := range w.Header().Values("WWW-Authenticate") {
				c := parseChallenge(t, v)
				schemes = append(schemes, c.Scheme)
				if c.Scheme == "Basic" {
					assert.Equal(t, map[string]string{"realm": "api", "charset": "UTF-8"}, c.Params)
				}
			}
			assert.Equal(t, tt.schemes, schemes)
			if tt.detail != "" {
				p := requireProblem(t, w, tt.status, "unauthenticated")
				assert.Equal(t, tt.detail, p.Detail)
				assert.Equal(t, map[string]string{"realm": "api"}, bearerChallenge(t, w).Params)
			}
		})
	}
}

// TestErrorHandler replaces the error handler and checks that it receives
// the typed error, with the data a logger or a custom body needs.
func TestErrorHandler(t *testing.T) {
	storeDown := errors.New("db exploded")
	var failing atomic.Bool
	var got error
	handler := func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusTeapot)
	}
	f := newFixture(t, withConfig(middleware.Config{ErrorHandler: handler}))
	f.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) {
		if failing.Load() {
			return nil, storeDown
		}
		return f.mem.KeyByDigest(ctx, d)
	}
	readKey, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	revokedKey, revoked := f.issue(t, apikey.Params{TenantID: "org_9", Scopes: []string{"projects:write"}})
	f.revoke(t, revoked.ID)
	unknown, err := testFormat.Generate()
	require.NoError(t, err)
	h := f.mw.Handler(f.mw.MustRequireAnyScope("projects:write", "admin")(echo))

	tests := []struct {
		name   string
		mutate func(*http.Request)
		fail   bool
		check  func(t *testing.T, err error)
	}{
		{name: "no credentials", check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrNoCredentials)
			assert.Equal(t, gatehouse.ReasonMissing, ge.Reason)
		}},
		{name: "unsupported scheme", mutate: authz("Token " + readKey), check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrNoCredentials, "answered as no credentials")
			assert.ErrorIs(t, err, middleware.ErrUnsupportedScheme, "told apart from no credentials")
			assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken)
			assert.Equal(t, gatehouse.ReasonUnsupported, ge.Reason)
			assert.Equal(t, "The Authorization scheme is not supported: use Bearer", ge.Detail)
		}},
		{name: "bad checksum", mutate: bearer(badChecksum(readKey)), check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
			assert.Equal(t, gatehouse.ReasonBadChecksum, ge.Reason)
			assert.Equal(t, apikey.DetailInvalid, ge.Detail)
		}},
		{name: "unknown", mutate: bearer(unknown), check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, gatehouse.ReasonUnknown, ge.Reason)
		}},
		{name: "revoked", mutate: bearer(revokedKey), check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
			assert.Equal(t, gatehouse.ReasonRevoked, ge.Reason)
			assert.Equal(t, revoked.ID, ge.KeyID, "the audit log learns which key")
			assert.Equal(t, "org_9", ge.TenantID)
		}},
		{name: "missing scope", mutate: bearer(readKey), check: func(t *testing.T, err error) {
			var se *gatehouse.ScopeError
			require.ErrorAs(t, err, &se)
			assert.ErrorIs(t, err, gatehouse.ErrInsufficientScope)
			assert.Equal(t, []string{"admin", "projects:write"}, se.Required)
			assert.True(t, se.Any)
		}},
		{name: "two headers", mutate: authz("Bearer a", "Bearer b"), check: func(t *testing.T, err error) {
			assert.ErrorIs(t, err, gatehouse.ErrInvalidRequest)
		}},
		{name: "store down", mutate: bearer(unknown), fail: true, check: func(t *testing.T, err error) {
			var ge *gatehouse.Error
			require.ErrorAs(t, err, &ge)
			assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
			assert.ErrorIs(t, err, storeDown, "the cause is kept for logs")
			assert.Equal(t, gatehouse.ReasonBackend, ge.Reason)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			failing.Store(tt.fail)
			if tt.fail {
				f.cache.InvalidateAll()
			}
			w := get(h, tt.mutate)
			assert.Equal(t, http.StatusTeapot, w.Code)
			assert.Empty(t, w.Header().Values("WWW-Authenticate"), "the replacement writes everything")
			require.Error(t, got)
			tt.check(t, got)
		})
	}

	// Middleware.Error goes through the same handler.
	got = nil
	w := httptest.NewRecorder()
	f.mw.Error(w, httptest.NewRequest(http.MethodGet, "/", nil), gatehouse.ErrForbidden)
	assert.Equal(t, http.StatusTeapot, w.Code)
	assert.ErrorIs(t, got, gatehouse.ErrForbidden)
}

// recordingObserver records the events of a middleware.
type recordingObserver struct {
	accepted []*gatehouse.Principal
	refused  []error
}

func (o *recordingObserver) Authenticated(_ *http.Request, p *gatehouse.Principal) {
	o.accepted = append(o.accepted, p)
}
func (o *recordingObserver) Refused(_ *http.Request, err error) { o.refused = append(o.refused, err) }

func TestObserver(t *testing.T) {
	obs := &recordingObserver{}
	f := newFixture(t, withConfig(middleware.Config{Observer: obs}))
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	h := f.mw.Handler(f.mw.MustRequireScopes("projects:write")(echo))
	opt := f.mw.Optional(echo)

	assert.Equal(t, http.StatusForbidden, get(h, bearer(key)).Code)
	assert.Equal(t, http.StatusUnauthorized, get(h, nil).Code)
	assert.Equal(t, http.StatusOK, get(opt, bearer(key)).Code)
	assert.Equal(t, http.StatusOK, get(opt, nil).Code, "anonymous is neither accepted nor refused")

	require.Len(t, obs.accepted, 2)
	assert.Equal(t, "usr_alice", obs.accepted[0].ID)
	require.Len(t, obs.refused, 2)
	assert.ErrorIs(t, obs.refused[0], gatehouse.ErrInsufficientScope)
	assert.ErrorIs(t, obs.refused[1], gatehouse.ErrNoCredentials)
}

func TestOptional(t *testing.T) {
	storeDown := errors.New("store down")
	var failing atomic.Bool
	f := newFixture(t)
	f.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) {
		if failing.Load() {
			return nil, storeDown
		}
		return f.mem.KeyByDigest(ctx, d)
	}
	key, _ := f.issue(t, apikey.Params{OwnerID: "usr_alice", Scopes: []string{"projects:read"}})
	unknown, err := testFormat.Generate()
	require.NoError(t, err)
	h := f.mw.Optional(echo)

	tests := []struct {
		name   string
		mutate func(*http.Request)
		fail   bool
		status int
		body   string
		code   string
	}{
		{name: "anonymous", status: http.StatusOK, body: "anonymous"},
		{name: "anonymous with other cookies", mutate: func(r *http.Request) { r.Header.Set("Cookie", "theme=dark") },
			status: http.StatusOK, body: "anonymous"},
		{name: "valid key", mutate: bearer(key), status: http.StatusOK, body: "hello usr_alice"},
		{name: "lower-case scheme", mutate: authz("bearer " + key), status: http.StatusOK, body: "hello usr_alice"},
		{name: "bad checksum", mutate: bearer(badChecksum(key)), status: 401, code: "invalid_token"},
		{name: "unknown key", mutate: bearer(unknown), status: 401, code: "invalid_token"},
		// A credential is there, in a scheme no authenticator takes:
		// refused, not served as anonymous, with no error code.
		{name: "unsupported scheme", mutate: authz("Digest abc"), status: 401, code: "unauthenticated"},
		{name: "empty header", mutate: authz(""), status: 400, code: "invalid_request"},
		{name: "scheme only", mutate: authz("Bearer"), status: 400, code: "invalid_request"},
		{name: "two headers", mutate: authz("Bearer "+key, "Bearer "+key), status: 400, code: "invalid_request"},
		{name: "access_token in query", mutate: func(r *http.Request) { r.URL.RawQuery = "access_token=" + key },
			status: 400, code: "invalid_request"},
		{name: "store down", mutate: bearer(unknown), fail: true, status: 503, code: "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failing.Store(tt.fail)
			f.cache.InvalidateAll()
			w := get(h, tt.mutate)
			if tt.code == "" {
				require.Equal(t, tt.status, w.Code)
				assert.Equal(t, tt.body, w.Body.String())
				return
			}
			requireProblem(t, w, tt.status, tt.code)
			if tt.code == "unauthenticated" {
				assert.Equal(t, map[string]string{"realm": "api"}, bearerChallenge(t, w).Params)
			}
			assertNoLeak(t, w, key, unknown)
		})
	}
}

// TestGuardWithoutHandler checks that a scope guard used without
// Handler in front of it refuses every request: a forgotten half cannot
// open a route.
func TestGuardWithoutHandler(t *testing.T) {
	f := newFixture(t)
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	for name, guard := range map[string]func(http.Handler) http.Handler{
		"RequireScopes":   f.mw.MustRequireScopes("projects:read"),
		"RequireAnyScope": f.mw.MustRequireAnyScope("projects:read", "admin"),
	} {
		t.Run(name, func(t *testing.T) {
			w := get(guard(echo), bearer(key))
			requireProblem(t, w, http.StatusUnauthorized, "unauthenticated")
			assert.Equal(t, map[string]string{"realm": "api"}, bearerChallenge(t, w).Params)
		})
	}
}

// nilAuth returns neither a principal nor an error.
type nilAuth struct{}

func (nilAuth) Accepts(c gatehouse.Credential) bool { return c.Scheme == "Nil" }
func (nilAuth) Authenticate(context.Context, gatehouse.Credential) (*gatehouse.Principal, error) {
	return nil, nil
}

// TestAuthenticatorFaults checks that a broken authenticator fails closed:
// a panic or a nil principal without an error is a 503, never a pass, and
// the panic's value (here carrying the credential) is not echoed.
func TestAuthenticatorFaults(t *testing.T) {
	panicky := &stubAuth{scheme: "Panic", panics: true}
	var got error
	f := newFixture(t, withAuthenticators([]gatehouse.Authenticator{panicky, nilAuth{}}, nil),
		withConfig(middleware.Config{Observer: observerFunc(func(err error) { got = err })}))
	h := f.mw.Handler(echo)
	for _, tt := range []struct{ name, header, secret string }{
		{name: "panic", header: "Panic s3cr3t-t0ken-value", secret: "s3cr3t-t0ken-value"},
		{name: "nil principal", header: "Nil s3cr3t-t0ken-value", secret: "s3cr3t-t0ken-value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			w := get(h, authz(tt.header))
			p := requireProblem(t, w, http.StatusServiceUnavailable, "unavailable")
			assert.Equal(t, detailUnavailable, p.Detail)
			assertNoLeak(t, w, tt.secret, "panicked", "exploded")
			assert.ErrorIs(t, got, gatehouse.ErrUnavailable)
		})
	}
}

// observerFunc is an Observer that reports refusals to a function.
type observerFunc func(err error)

func (observerFunc) Authenticated(*http.Request, *gatehouse.Principal) {}
func (o observerFunc) Refused(_ *http.Request, err error)              { o(err) }
