package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// strictStub is a stubAuth that declares StrictSyntax: it refuses every
// value but its one valid value, which is a token68.
type strictStub struct{ *stubAuth }

func (strictStub) StrictSyntax() {}

var _ middleware.StrictSyntax = strictStub{}

// seenAuth records every value its Accepts and Authenticate see.
type seenAuth struct {
	stubAuth
	mu   sync.Mutex
	seen []string
}

func (s *seenAuth) Accepts(c gatehouse.Credential) bool {
	s.mu.Lock()
	s.seen = append(s.seen, c.Value)
	s.mu.Unlock()
	return s.stubAuth.Accepts(c)
}

// TestStrictSyntax checks that a credential that is not a token68 gets the
// same refusal whether the authenticator that claims it checks characters
// itself (StrictSyntax, checked after its refusal) or not (checked before
// it sees the credential), and that an authenticator without StrictSyntax
// never sees such a credential, even after a strict one.
func TestStrictSyntax(t *testing.T) {
	const badChars = "The credential holds characters that no valid credential has"
	p := &gatehouse.Principal{ID: "usr_1"}
	tests := []struct {
		name       string
		strict     bool // the Bearer authenticator declares StrictSyntax
		header     string
		wantStatus int
		wantDetail string
		wantCalls  int64  // calls of the Bearer authenticator's Authenticate
		wantCode   string // with wantDetail; "" for invalid_token
	}{
		{name: "strict, valid", strict: true, header: "Bearer good_token", wantStatus: http.StatusNoContent, wantCalls: 1},
		{name: "strict, bad bytes refused after its refusal", strict: true, header: "Bearer bad\x01token",
			wantStatus: http.StatusUnauthorized, wantDetail: badChars, wantCalls: 1},
		{name: "strict, non-ASCII", strict: true, header: "Bearer caf\xc3\xa9",
			wantStatus: http.StatusUnauthorized, wantDetail: badChars, wantCalls: 1},
		{name: "strict, a well-formed unknown value keeps its own refusal", strict: true, header: "Bearer other_token",
			wantStatus: http.StatusUnauthorized, wantDetail: "unknown token", wantCalls: 1},
		{name: "plain, valid", header: "Bearer good_token", wantStatus: http.StatusNoContent, wantCalls: 1},
		{name: "plain, bad bytes refused before it is called", header: "Bearer bad\x01token",
			wantStatus: http.StatusUnauthorized, wantDetail: badChars},
		{name: "plain, non-ASCII", header: "Bearer caf\xc3\xa9",
			wantStatus: http.StatusUnauthorized, wantDetail: badChars},
		{name: "unclaimed scheme with bad bytes", strict: true, header: "Other bad\x01token",
			wantStatus: http.StatusUnauthorized, wantDetail: badChars},
		// A scheme nobody takes is an unsupported authentication method:
		// no error code (RFC 6750 section 3.1).
		{name: "unclaimed scheme", strict: true, header: "Other token",
			wantStatus: http.StatusUnauthorized, wantDetail: "The Authorization scheme is not supported: use Bearer",
			wantCode: "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bearer := &stubAuth{scheme: gatehouse.SchemeBearer, valid: "good_token", p: p,
				err: &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown, Detail: "unknown token"}}
			var first gatehouse.Authenticator = bearer
			if tt.strict {
				first = strictStub{bearer}
			}
			// A plain Basic authenticator after the Bearer one: it must
			// never see a value that is not a token68.
			after := &seenAuth{stubAuth: stubAuth{scheme: gatehouse.SchemeBasic}}
			m, err := middleware.New(middleware.Config{}, first, after)
			require.NoError(t, err)

			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", tt.header)
			w := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, ok := gatehouse.FromContext(r.Context())
				assert.True(t, ok)
				assert.Same(t, p, got)
				w.WriteHeader(http.StatusNoContent)
			})).ServeHTTP(w, r)

			if tt.wantDetail == "" {
				assert.Equal(t, tt.wantStatus, w.Code)
			} else {
				code := tt.wantCode
				if code == "" {
					code = "invalid_token"
				}
				assert.Equal(t, tt.wantDetail, requireProblem(t, w, tt.wantStatus, code).Detail)
			}
			assert.Equal(t, tt.wantCalls, bearer.calls.Load())
			for _, v := range after.seen {
				assert.NotContains(t, []string{"bad\x01token", "caf\xc3\xa9"}, v, "a plain authenticator saw a value that is not a token68")
			}
		})
	}
}

// TestParseAuthorizationChecksToken68 keeps the exported parser strict:
// the middleware's deferred check is internal to it.
func TestParseAuthorizationChecksToken68(t *testing.T) {
	for _, v := range []string{"Bearer bad\x01token", "Bearer caf\xc3\xa9", "bearer a b", "Basic =abc"} {
		_, err := middleware.ParseAuthorization(v)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, v)
	}
	c, err := middleware.ParseAuthorization("Bearer abc.def-_~+/==")
	require.NoError(t, err)
	assert.Equal(t, "abc.def-_~+/==", c.Value)
}
