package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
)

// TestExpiryUpperBound: an expiry beyond 100 years is a 422 on its field,
// never a key whose expiry cannot be shown; creating, extending and
// listing keep answering JSON.
func TestExpiryUpperBound(t *testing.T) {
	e := newEnv(t, envConfig{})
	me := e.boot[alice]
	tests := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"100 years in days", `{"expires_in_days": 36500}`, http.StatusCreated, ""},
		{"a day more", `{"expires_in_days": 36501}`, http.StatusUnprocessableEntity, "expires_in_days"},
		{"year 10240", `{"expires_in_days": 3000000}`, http.StatusUnprocessableEntity, "expires_in_days"},
		{"a billion days", `{"expires_in_days": 1000000000}`, http.StatusUnprocessableEntity, "expires_in_days"},
		{"MaxInt64 days", `{"expires_in_days": 9223372036854775807}`, http.StatusUnprocessableEntity, "expires_in_days"},
		{"in 99 years", `{"expires_at": "2125-03-01T00:00:00Z"}`, http.StatusCreated, ""},
		{"in 101 years", `{"expires_at": "2127-03-02T00:00:00Z"}`, http.StatusUnprocessableEntity, "expires_at"},
		{"year 9999", `{"expires_at": "9999-12-31T23:59:59Z"}`, http.StatusUnprocessableEntity, "expires_at"},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodPost, http.MethodPatch} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				path, body := apiPath, `{"name":"x","scopes":["read"],`+tt.body[1:]
				status := tt.status
				if method == http.MethodPatch {
					_, rec := e.issue(t, alice, apikey.Params{})
					path, body = apiPath+"/"+rec.ID, tt.body
					if status == http.StatusCreated {
						status = http.StatusOK
					}
				}
				r := e.do(t, method, path, me, body)
				if tt.field != "" {
					p := assertProblem(t, r, status, "invalid_body")
					assert.Contains(t, p.Errors, tt.field)
					return
				}
				require.Equal(t, status, r.status, "body: %s", r.body)
				assert.NotEmpty(t, r.object(t))
			})
		}
	}
	list := requireStatus(t, e.do(t, http.MethodGet, apiPath, me, nil), http.StatusOK)
	assert.NotEmpty(t, list["api_keys"])

	t.Run("a stored expiry JSON cannot show is a 500, not an empty 200", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		e.issue(t, alice, apikey.Params{ExpiresAt: time.Date(10240, 1, 1, 0, 0, 0, 0, time.UTC)})
		r := e.do(t, http.MethodGet, apiPath, e.boot[alice], nil)
		p := assertProblem(t, r, http.StatusInternalServerError, "internal_error")
		assert.NotContains(t, p.Detail, "10240")
		assert.NotContains(t, string(r.body), "year")
	})
}
