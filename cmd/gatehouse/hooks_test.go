package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/internal/testgithub"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
	"github.com/gatehouse-go/gatehouse/webhook"
)

// hookReceiver is a webhook endpoint that verifies every message with its
// secret and counts receipts per webhook-id.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	receipts map[string]int // by webhook-id
	bodies   []string
	events   []webhook.Payload
	refused  int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{receipts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || webhook.Verify(r.secret, req.Header, body, time.Now(), 0) != nil {
			r.refused++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.receipts[req.Header.Get("webhook-id")]++
		r.bodies = append(r.bodies, string(body))
		var p webhook.Payload
		if json.Unmarshal(body, &p) == nil {
			r.events = append(r.events, p)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

// got returns how many events of typ about key ID it received.
func (r *hookReceiver) got(typ, keyID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.events {
		if p.Type == typ && p.Data.KeyID == keyID {
			n++
		}
	}
	return n
}

// TestServeWebhooks: an endpoint added with the CLI receives the key
// events of the management API, signed with the secret the CLI printed
// once; the API and the CLI list, show deliveries of and remove it.
func TestServeWebhooks(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	rec := newHookReceiver(t)
	code, secret, stderr := cli(t, vars, "webhooks", "add", "--url", rec.srv.URL+"/hook")
	require.Equal(t, 0, code, stderr)
	secret = strings.TrimSpace(secret)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	rec.setSecret(secret)
	id := strings.Fields(strings.TrimPrefix(stderr, "added webhook "))[0]

	code, _, stderr = cli(t, vars, "webhooks", "add", "--url", "http://hooks.example.com/x")
	assert.Equal(t, 2, code, "plain http off loopback is refused: %s", stderr)
	code, _, stderr = cli(t, vars, "webhooks", "add", "--url", rec.srv.URL, "--events", "key.eaten")
	assert.Equal(t, 2, code, stderr)

	inst := startInstance(t, vars)
	admin := bootstrapKey(t, inst.stdout)
	_, keyID := createKey(t, inst.base, admin, `{"name":"ci","scopes":["read"]}`)
	code, body, _ := call(t, "DELETE", inst.base+"/api/auth/api-keys/"+keyID, admin, "")
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return rec.got("key.created", keyID) == 1 && rec.got("key.revoked", keyID) == 1 },
		10*time.Second, 20*time.Millisecond, "both events delivered")

	code, out, stderr := cli(t, vars, "webhooks", "list")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, id)
	assert.Contains(t, out, rec.srv.URL+"/hook")
	assert.NotContains(t, out, secret)
	code, out, stderr = cli(t, vars, "webhooks", "deliveries", id)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "key.created")
	assert.Contains(t, out, "key.revoked")
	assert.Equal(t, 2, strings.Count(out, "delivered"), out)

	// The API: super admins add (the secret once), list and remove.
	code, body, _ = call(t, "POST", inst.base+"/api/auth/webhooks", admin, `{"url":"https://hooks.example.com/in","events":["key.leaked"]}`)
	require.Equal(t, http.StatusCreated, code, body)
	assert.Contains(t, body, `"secret":"whsec_`)
	code, body, _ = call(t, "GET", inst.base+"/api/auth/webhooks", admin, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, id)
	assert.Contains(t, body, "https://hooks.example.com/in")
	assert.NotContains(t, body, "whsec_")
	code, body, _ = call(t, "GET", inst.base+"/api/auth/webhooks/"+id+"/deliveries", admin, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, 2, strings.Count(body, `"status":"delivered"`), body)
	code, body, _ = call(t, "GET", inst.base+"/api/auth/webhooks", "", "")
	assert.Equal(t, http.StatusUnauthorized, code, body)
	code, body, _ = call(t, "POST", inst.base+"/api/auth/webhooks/"+id+"/enable", admin, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"status":"enabled"`)
	assert.NotContains(t, body, "whsec_")
	code, body, _ = call(t, "POST", inst.base+"/api/auth/webhooks/whe_missing/enable", admin, "")
	assert.Equal(t, http.StatusNotFound, code, body)

	// The CLI's own key changes are queued too, and the server delivers them.
	code, _, stderr = cli(t, vars, "keys", "create", "--name", "from-cli", "--scopes", "read")
	require.Equal(t, 0, code, stderr)
	cliKey := strings.Fields(strings.TrimPrefix(stderr, "created key "))[0]
	code, _, stderr = cli(t, vars, "keys", "revoke", cliKey)
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool { return rec.got("key.created", cliKey) == 1 && rec.got("key.revoked", cliKey) == 1 },
		10*time.Second, 20*time.Millisecond, "the CLI's events delivered by the server")

	code, _, stderr = cli(t, vars, "webhooks", "remove", id)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, vars, "webhooks", "remove", id)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no webhook")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Zero(t, rec.refused, "every message verified")
	for wid, n := range rec.receipts {
		assert.Equal(t, 1, n, "message %s received once", wid)
	}
}

// TestWebhooksEnable: an endpoint disabled after failing is enabled again
// with the CLI, keeping its secret, its failures reset and its pending
// delivery due again.
func TestWebhooksEnable(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "gatehouse.db")
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	code, secret, stderr := cli(t, vars, "webhooks", "add", "--url", "https://hooks.example.com/in")
	require.Equal(t, 0, code, stderr)
	id := strings.Fields(strings.TrimPrefix(stderr, "added webhook "))[0]
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	_, err = db.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_1", Type: "key.revoked", Payload: []byte(`{}`), At: now})
	require.NoError(t, err)
	ds, err := db.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = db.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[0].ID, LeaseToken: ds[0].LeaseToken, At: now,
		Status: 500, Error: "status 500", NextAt: now})
	require.NoError(t, err)
	_, err = db.DisableWebhookEndpoint(ctx, id, now, "1 consecutive failed attempts")
	require.NoError(t, err)
	code, out, stderr := cli(t, vars, "webhooks", "list")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "disabled (1 consecutive failed attempts)")

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"disabled", []string{id}, 0, "enabled webhook " + id},
		{"already enabled", []string{id}, 0, "was not disabled"},
		{"missing", []string{"whe_missing"}, 1, `no webhook with ID "whe_missing"`},
		{"no ID", nil, 2, "webhook ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := cli(t, vars, append([]string{"webhooks", "enable"}, tt.args...)...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.stderr)
			assert.Empty(t, out)
		})
	}
	code, out, stderr = cli(t, vars, "webhooks", "list")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "enabled")
	assert.NotContains(t, out, "disabled")
	e, err := db.WebhookEndpoint(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(secret), e.Secret, "the same secret")
	assert.Zero(t, e.Failures)
	ds, err = db.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
	require.NoError(t, err)
	assert.Len(t, ds, 1, "the pending delivery is due again")
}

// leakReporter is a fake GitHub secret scanning with one key,
// "test-key-1", that signs the reports it sends.
type leakReporter struct{ *testgithub.Reporter }

func newLeakReporter(t *testing.T) *leakReporter {
	return &leakReporter{testgithub.New(t, "test-key-1")}
}

func (l *leakReporter) report(t *testing.T, url string, tokens ...string) (int, string) {
	t.Helper()
	var rs []map[string]string
	for _, tok := range tokens {
		rs = append(rs, map[string]string{"token": tok, "type": "gatehouse_api_key", "url": "https://github.com/o/r/blob/1/.env", "source": "content"})
	}
	body, err := json.Marshal(rs)
	require.NoError(t, err)
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", "test-key-1")
	req.Header.Set("Github-Public-Key-Signature", testgithub.Sign(t, l.Key("test-key-1"), body))
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// TestServeLeakedKeyRefusedEverywhere: two instances on one database
// (PostgreSQL, and a SQLite file); a key reported to one of them through
// the leaked-key endpoint is refused by both within 1 s, and the webhook
// endpoint receives key.revoked and key.leaked once each although both
// instances deliver.
func TestServeLeakedKeyRefusedEverywhere(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { testServeLeakedKey(t, testdb.Postgres(t, "gh_leak_")) })
	t.Run("sqlite", func(t *testing.T) { testServeLeakedKey(t, filepath.Join(t.TempDir(), "gatehouse.db")) })
}

func testServeLeakedKey(t *testing.T, dsn string) {
	vars := map[string]string{"GATEHOUSE_DSN": dsn}
	rep := newLeakReporter(t)
	rec := newHookReceiver(t)
	code, secret, stderr := cli(t, vars, "webhooks", "add", "--url", rec.srv.URL, "--events", "key.revoked,key.leaked")
	require.Equal(t, 0, code, stderr)
	rec.setSecret(strings.TrimSpace(secret))

	flags := []string{"--leaked-keys-url", rep.URL}
	a := startInstance(t, vars, flags...)
	admin := bootstrapKey(t, a.stdout)
	b := startInstance(t, vars, flags...)
	key, keyID := createKey(t, a.base, admin, `{"name":"leaky","scopes":["read"]}`)
	for _, inst := range []instance{a, b} {
		require.Eventually(t, func() bool {
			code, _, _ := call(t, "GET", inst.base+"/api/projects", key, "")
			return code == http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "the key works on both instances first")
	}

	// Unsigned: refused, nothing revoked.
	code, body, _ := call(t, "POST", b.base+"/api/auth/leaked-keys", "", `[{"token":"`+key+`","type":"t","url":"u","source":"s"}]`)
	require.Equal(t, http.StatusUnauthorized, code, body)
	assert.Contains(t, body, "invalid_signature")
	code, _, _ = call(t, "GET", a.base+"/api/projects", key, "")
	require.Equal(t, http.StatusOK, code)

	code, body = rep.report(t, b.base+"/api/auth/leaked-keys", key)
	require.Equal(t, http.StatusOK, code, body)
	reported := time.Now()
	assert.JSONEq(t, `[{"token_raw":"`+key+`","token_type":"gatehouse_api_key","label":"true_positive"}]`, body)
	for _, inst := range []instance{b, a} {
		for {
			code, _, _ := call(t, "GET", inst.base+"/api/projects", key, "")
			if code == http.StatusUnauthorized {
				break
			}
			require.Equal(t, http.StatusOK, code)
			require.Less(t, time.Since(reported), 10*time.Second, "an instance never refused the leaked key")
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(reported)
		t.Logf("%s refused the leaked key %v after the report was answered", inst.base, took.Round(time.Millisecond))
		assert.Less(t, took, time.Second)
	}

	require.Eventually(t, func() bool { return rec.got("key.leaked", keyID) == 1 && rec.got("key.revoked", keyID) == 1 },
		10*time.Second, 20*time.Millisecond, "both events delivered")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for wid, n := range rec.receipts {
		assert.Equal(t, 1, n, "message %s received once, with two dispatchers", wid)
	}
	for _, p := range rec.events {
		if p.Type == "key.leaked" {
			assert.Equal(t, "revoked", p.Data.LeakAction)
			assert.Equal(t, "github-secret-scanning", p.Data.ActorID)
			assert.Equal(t, "https://github.com/o/r/blob/1/.env", p.Data.LeakURL)
		}
	}
	for _, body := range rec.bodies {
		assert.NotContains(t, body, key, "never the key in a payload")
	}
	assert.Contains(t, a.stderr.String()+b.stderr.String(), "gatehouse.key.leaked")
	assert.NotContains(t, a.stderr.String()+b.stderr.String(), key, "never the key in a log")
}

func TestServeLeakedKeysFlags(t *testing.T) {
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	code, _, stderr := cli(t, vars, "serve", "--leaked-keys-url", "http://keys.example.com/")
	assert.Equal(t, 2, code, stderr)
	code, _, stderr = cli(t, vars, "serve", "--leaked-keys-action", "ignore")
	assert.Equal(t, 2, code, stderr)
	// Without --leaked-keys-url the endpoint does not exist.
	inst := startInstance(t, vars)
	code, body, _ := call(t, "POST", inst.base+"/api/auth/leaked-keys", "", `[]`)
	assert.NotEqual(t, http.StatusOK, code, body)
}
