package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

const hooksPath = "/api/auth/webhooks"

// webhookEnv is newEnv with the webhooks API on its own server.
func webhookEnv(t *testing.T) (*env, *store.MemoryWebhooks, *httptest.Server) {
	t.Helper()
	s := store.NewMemoryWebhooks()
	e, srv := webhookEnvWith(t, s)
	return e, s, srv
}

// webhookEnvWith is webhookEnv over the webhook store s.
func webhookEnvWith(t *testing.T, s store.WebhookStore) (*env, *httptest.Server) {
	t.Helper()
	e := newEnv(t, envConfig{})
	w, err := admin.NewWebhooks(s, admin.WebhookConfig{Logger: slogJSON(e.logs), Now: e.clock.Now})
	require.NoError(t, err)
	h, err := admin.NewWebhookHandler(w, e.mgr, e.mw, admin.HandlerConfig{})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.srv = srv // e.do now talks to the webhooks API
	return e, srv
}

func TestWebhookAPI(t *testing.T) {
	e, s, _ := webhookEnv(t)
	admin := e.boot[sam]
	res := requireStatus(t, e.do(t, "POST", hooksPath, admin, map[string]any{"url": "https://hooks.example.com/in?token=abc",
		"events": []string{"key.revoked", "key.leaked", "key.revoked"}}), http.StatusCreated)
	secret, _ := res["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret is shown once: %v", res)
	hook := res["webhook"].(map[string]any)
	id := hook["id"].(string)
	assert.Equal(t, []any{"key.leaked", "key.revoked"}, hook["events"])
	assert.Equal(t, "enabled", hook["status"])
	assert.Equal(t, sam, hook["created_by"])
	stored, err := s.WebhookEndpoint(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, secret, stored.Secret)

	list := e.do(t, "GET", hooksPath, admin, nil)
	requireStatus(t, list, http.StatusOK)
	assert.Contains(t, string(list.body), id)
	assert.NotContains(t, string(list.body), secret, "never listed again")
	assert.NotContains(t, e.logs.String(), secret, "never logged")
	assert.NotContains(t, e.logs.String(), "token=abc", "the URL's query is not logged")

	_, err = s.EnqueueWebhookEvent(context.Background(), store.WebhookEvent{ID: "msg_1", Type: "key.revoked", Payload: []byte(`{}`), At: t0})
	require.NoError(t, err)
	ds := requireStatus(t, e.do(t, "GET", hooksPath+"/"+id+"/deliveries", admin, nil), http.StatusOK)
	require.Len(t, ds["deliveries"], 1)
	d := ds["deliveries"].([]any)[0].(map[string]any)
	assert.Equal(t, "msg_1", d["event_id"])
	assert.Equal(t, "pending", d["status"])

	r := e.do(t, "DELETE", hooksPath+"/"+id, admin, nil)
	assert.Equal(t, http.StatusNoContent, r.status)
	assertProblem(t, e.do(t, "DELETE", hooksPath+"/"+id, admin, nil), http.StatusNotFound, "not_found")
	assertProblem(t, e.do(t, "GET", hooksPath+"/"+id+"/deliveries", admin, nil), http.StatusNotFound, "not_found")
	assert.Contains(t, e.logs.String(), "gatehouse.webhook.added")
	assert.Contains(t, e.logs.String(), "gatehouse.webhook.removed")
}

// TestWebhookAPIEnable: an endpoint the dispatcher disabled is enabled
// again through the API, with its secret unchanged and never shown, its
// failures reset, and one audit event; enabling it again changes nothing.
func TestWebhookAPIEnable(t *testing.T) {
	ctx := context.Background()
	e, s, _ := webhookEnv(t)
	admin := e.boot[sam]
	res := requireStatus(t, e.do(t, "POST", hooksPath, admin, map[string]any{"url": "https://hooks.example.com/in?token=abc"}), http.StatusCreated)
	secret := res["secret"].(string)
	id := res["webhook"].(map[string]any)["id"].(string)
	_, err := s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_1", Type: "key.revoked", Payload: []byte(`{}`), At: t0})
	require.NoError(t, err)
	ds, err := s.ClaimWebhookDeliveries(ctx, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[0].ID, LeaseToken: ds[0].LeaseToken, At: t0,
		Status: 500, Error: "status 500", NextAt: t0.Add(time.Minute)})
	require.NoError(t, err)
	_, err = s.DisableWebhookEndpoint(ctx, id, t0, "1 consecutive failed attempts")
	require.NoError(t, err)
	list := requireStatus(t, e.do(t, "GET", hooksPath, admin, nil), http.StatusOK)
	assert.Equal(t, "disabled", list["webhooks"].([]any)[0].(map[string]any)["status"])

	for i, tt := range []struct {
		name string
		logs int
	}{{"disabled: enabled", 1}, {"enabled: nothing changes", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", hooksPath+"/"+id+"/enable", admin, nil)
			hook := requireStatus(t, r, http.StatusOK)
			assert.Equal(t, id, hook["id"])
			assert.Equal(t, "enabled", hook["status"])
			assert.Equal(t, float64(0), hook["consecutive_failures"])
			assert.Nil(t, hook["disabled_at"])
			assert.NotContains(t, hook, "disabled_reason")
			assert.NotContains(t, hook, "secret")
			assert.NotContains(t, string(r.body), secret, "never the secret")
			assert.Equal(t, tt.logs, strings.Count(e.logs.String(), "gatehouse.webhook.enabled"), "call %d", i+1)
		})
	}
	stored, err := s.WebhookEndpoint(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, secret, stored.Secret, "the secret is kept")
	d, err := s.ClaimWebhookDeliveries(ctx, t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	assert.Len(t, d, 1, "the pending delivery is due again")
	logs := e.logs.String()
	assert.Contains(t, logs, `"actor_id":"`+sam+`"`)
	assert.NotContains(t, logs, secret, "never logged")
	assert.NotContains(t, logs, "token=abc", "the URL's query is not logged")
}

// TestWebhookAPIDeliveriesCursor: a before= that is not a cursor this
// API returned is a 422, like a bad limit; a real one pages.
func TestWebhookAPIDeliveriesCursor(t *testing.T) {
	ctx := context.Background()
	e, s, _ := webhookEnv(t)
	admin := e.boot[sam]
	res := requireStatus(t, e.do(t, "POST", hooksPath, admin, map[string]any{"url": "https://hooks.example.com/in"}), http.StatusCreated)
	id := res["webhook"].(map[string]any)["id"].(string)
	for _, msg := range []string{"msg_1", "msg_2"} {
		_, err := s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: msg, Type: "key.revoked", Payload: []byte(`{}`), At: t0})
		require.NoError(t, err)
	}
	first := requireStatus(t, e.do(t, "GET", hooksPath+"/"+id+"/deliveries?limit=1", admin, nil), http.StatusOK)
	next, _ := first["next"].(string)
	require.NotEmpty(t, next)
	valid := strings.Repeat("0", 26)
	tests := []struct {
		name, before string
		status       int
	}{
		{"garbage", "garbage", 422},
		{"another record's ID", "whe_" + valid, 422},
		{"too short", "whd_" + valid[:25], 422},
		{"too long", "whd_" + valid + "0", 422},
		{"upper case", "whd_" + strings.Repeat("A", 26), 422},
		{"letter outside the alphabet", "whd_" + valid[:25] + "u", 422},
		{"non-ASCII", "whd_" + valid[:24] + "é", 422},
		{"the next cursor", next, 200},
		{"well formed, no such delivery", "whd_" + valid, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", hooksPath+"/"+id+"/deliveries?before="+url.QueryEscape(tt.before), admin, nil)
			if tt.status == 422 {
				assertProblem(t, r, 422, "invalid_body")
				assert.NotContains(t, string(r.body), tt.before, "the input is not echoed")
				return
			}
			requireStatus(t, r, tt.status)
		})
	}
}

// failingEnable is a webhook store whose EnableWebhookEndpoint fails with
// an internal error.
type failingEnable struct{ *store.MemoryWebhooks }

func (failingEnable) EnableWebhookEndpoint(context.Context, string) (bool, error) {
	return false, errors.New("dial tcp 10.1.2.3:5432: connection refused")
}

func TestWebhookAPIEnableStoreDown(t *testing.T) {
	e, _ := webhookEnvWith(t, failingEnable{store.NewMemoryWebhooks()})
	r := e.do(t, "POST", hooksPath+"/whe_x/enable", e.boot[sam], nil)
	assertProblem(t, r, http.StatusServiceUnavailable, "unavailable")
	assert.NotContains(t, string(r.body), "10.1.2.3", "no internal error in the body")
}

func TestWebhookAPIRefusals(t *testing.T) {
	e, _, _ := webhookEnv(t)
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		code                    string
	}{
		{"no credentials", "GET", hooksPath, "", nil, 401, "unauthenticated"},
		{"org admin", "GET", hooksPath, e.boot[olga], nil, 403, "forbidden"},
		{"member with the admin scope", "POST", hooksPath, e.boot[mallory], map[string]any{"url": "https://a.example/"}, 403, "forbidden"},
		{"member", "GET", hooksPath, e.boot[alice], nil, 403, "forbidden"},
		{"other tenant's org admin", "GET", hooksPath, e.boot[otto], nil, 403, "forbidden"},
		{"plain http", "POST", hooksPath, e.boot[sam], map[string]any{"url": "http://hooks.example.com/"}, 422, "invalid_body"},
		{"no url", "POST", hooksPath, e.boot[sam], map[string]any{}, 422, "invalid_body"},
		{"user info", "POST", hooksPath, e.boot[sam], map[string]any{"url": "https://u:p@a.example/"}, 422, "invalid_body"},
		{"unknown event", "POST", hooksPath, e.boot[sam], map[string]any{"url": "https://a.example/", "events": []string{"key.eaten"}}, 422, "invalid_body"},
		{"unknown member", "POST", hooksPath, e.boot[sam], map[string]any{"url": "https://a.example/", "secret": "mine"}, 400, "unknown_field"},
		{"not JSON", "POST", hooksPath, e.boot[sam], "url=x", 400, "malformed_body"},
		{"bad limit", "GET", hooksPath + "/whe_x/deliveries?limit=0", e.boot[sam], nil, 422, "invalid_body"},
		{"missing endpoint", "DELETE", hooksPath + "/whe_missing", e.boot[sam], nil, 404, "not_found"},
		{"enable: missing endpoint", "POST", hooksPath + "/whe_missing/enable", e.boot[sam], nil, 404, "not_found"},
		{"enable: no credentials", "POST", hooksPath + "/whe_missing/enable", "", nil, 401, "unauthenticated"},
		{"enable: org admin", "POST", hooksPath + "/whe_missing/enable", e.boot[olga], nil, 403, "forbidden"},
		{"enable: member with the admin scope", "POST", hooksPath + "/whe_missing/enable", e.boot[mallory], nil, 403, "forbidden"},
		{"enable: GET", "GET", hooksPath + "/whe_missing/enable", e.boot[sam], nil, 405, "method_not_allowed"},
		{"method", "PUT", hooksPath, e.boot[sam], nil, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, e.do(t, tt.method, tt.path, tt.key, tt.body), tt.status, tt.code)
		})
	}
}
