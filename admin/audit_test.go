package admin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
)

// TestAuditEvents drives a key through its lifecycle and some refusals over
// HTTP and checks the audit log: one event per change with the key and the
// actor, one per refused request with the reason, and never a key.
func TestAuditEvents(t *testing.T) {
	e := newEnv(t, envConfig{})
	me := e.boot[alice]
	keys := []string{}
	for _, k := range e.boot {
		keys = append(keys, k)
	}

	r := e.do(t, http.MethodPost, apiPath, me, map[string]any{"name": "audited", "scopes": []string{"read"}})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	created := r.object(t)
	first := created["key"].(string)
	firstID := created["api_key"].(map[string]any)["id"].(string)
	keys = append(keys, first)

	requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+firstID, me, map[string]any{"name": "audited-2"}), http.StatusOK)

	r = e.do(t, http.MethodPost, apiPath+"/"+firstID+"/rotate", me, nil)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	rotated := r.object(t)
	second := rotated["key"].(string)
	secondID := rotated["api_key"].(map[string]any)["id"].(string)
	keys = append(keys, second)

	requireStatus(t, e.do(t, http.MethodDelete, apiPath+"/"+secondID, me, nil), http.StatusOK)

	// Refusals: the revoked key, the key revoked by the rotation, an
	// unknown key, no credential.
	unknown := unissuedKey(t)
	keys = append(keys, unknown)
	assertProblem(t, e.do(t, http.MethodGet, mePath, second, nil), http.StatusUnauthorized, "invalid_token")
	assertProblem(t, e.do(t, http.MethodGet, mePath, first, nil), http.StatusUnauthorized, "invalid_token")
	assertProblem(t, e.do(t, http.MethodGet, mePath, unknown, nil), http.StatusUnauthorized, "invalid_token")
	assertProblem(t, e.do(t, http.MethodGet, apiPath, "", nil), http.StatusUnauthorized, "unauthenticated")

	events := logEvents(t, e.logs)
	byMsg := map[string][]map[string]any{}
	for _, ev := range events {
		msg, _ := ev["msg"].(string)
		byMsg[msg] = append(byMsg[msg], ev)
	}

	changes := []struct {
		msg   string
		keyID string
	}{
		{"gatehouse.key.created", firstID},
		{"gatehouse.key.updated", firstID},
		{"gatehouse.key.rotated", secondID},
		{"gatehouse.key.revoked", secondID},
	}
	for _, c := range changes {
		t.Run(c.msg, func(t *testing.T) {
			require.Len(t, byMsg[c.msg], 1)
			ev := byMsg[c.msg][0]
			assert.Equal(t, "INFO", ev["level"])
			assert.Equal(t, c.keyID, ev["key_id"])
			assert.Equal(t, alice, ev["actor_id"])
			assert.Equal(t, alice, ev["owner_id"])
			assert.Equal(t, "t1", ev["tenant_id"])
		})
	}
	assert.Equal(t, firstID, byMsg["gatehouse.key.rotated"][0]["old_key_id"])

	t.Run("gatehouse.auth.refused", func(t *testing.T) {
		refused := byMsg["gatehouse.auth.refused"]
		require.Len(t, refused, 4)
		want := []struct {
			reason string
			keyID  string
			code   string
			path   string
		}{
			{"revoked", secondID, "invalid_token", mePath},
			{"revoked", firstID, "invalid_token", mePath},
			{"unknown", "", "invalid_token", mePath},
			{"missing", "", "unauthenticated", apiPath},
		}
		for i, w := range want {
			ev := refused[i]
			assert.Equal(t, w.reason, ev["reason"], "event %d", i)
			assert.Equal(t, w.code, ev["code"], "event %d", i)
			assert.Equal(t, float64(http.StatusUnauthorized), ev["status"], "event %d", i)
			assert.Equal(t, "127.0.0.1", ev["client_ip"], "event %d", i)
			assert.Equal(t, http.MethodGet, ev["method"], "event %d", i)
			assert.Equal(t, w.path, ev["path"], "event %d", i)
			if w.keyID == "" {
				assert.NotContains(t, ev, "key_id", "event %d", i)
				continue
			}
			assert.Equal(t, w.keyID, ev["key_id"], "event %d", i)
			assert.Equal(t, "t1", ev["tenant_id"], "event %d", i)
		}
	})

	t.Run("the log never holds a key", func(t *testing.T) {
		log := e.logs.String()
		require.NotEmpty(t, log)
		for _, k := range keys {
			assert.NotContains(t, log, k)
			assert.NotContains(t, log, strings.TrimPrefix(k, format.Prefix()), "nor the key without its prefix")
		}
	})
}

// TestAuditObserver checks the observer on its own: the client address
// function, the level of backend failures and their cause, and that
// accepted requests are not logged.
func TestAuditObserver(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		clientIP func(*http.Request) string
		want     map[string]any
	}{
		{"expired key", &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonExpired, KeyID: "key_1", TenantID: "t9"}, nil,
			map[string]any{"level": "INFO", "status": 401.0, "code": "invalid_token", "reason": "expired", "key_id": "key_1", "tenant_id": "t9", "client_ip": "192.0.2.7"}},
		{"backend down", gatehouse.Unavailable(errors.New("dial tcp: refused")), nil,
			map[string]any{"level": "ERROR", "status": 503.0, "code": "unavailable", "reason": "backend", "cause": "dial tcp: refused"}},
		{"a plain sentinel", gatehouse.ErrForbidden, func(*http.Request) string { return "203.0.113.9" },
			map[string]any{"level": "INFO", "status": 403.0, "code": "forbidden", "client_ip": "203.0.113.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := &syncBuffer{}
			o := admin.NewAuditObserver(slogJSON(buf), tt.clientIP)
			r := httptest.NewRequest(http.MethodPost, "/x?secret=1", nil)
			r.RemoteAddr = "192.0.2.7:5555"
			o.Authenticated(r, &gatehouse.Principal{ID: "u"})
			require.Empty(t, buf.String(), "accepted requests are not logged")
			o.Refused(r, tt.err)
			events := logEvents(t, buf)
			require.Len(t, events, 1)
			assert.Equal(t, "gatehouse.auth.refused", events[0]["msg"])
			assert.Equal(t, "/x", events[0]["path"], "the query string is left out")
			for k, v := range tt.want {
				assert.Equal(t, v, events[0][k], k)
			}
		})
	}
}
