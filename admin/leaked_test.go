package admin_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testgithub"
	"github.com/gatehouse-go/gatehouse/store"
)

// lookups counts KeyByDigest calls and fails them while down is set.
type lookups struct {
	store.KeyStore
	n    atomic.Int64
	down atomic.Bool
}

func (l *lookups) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	l.n.Add(1)
	if l.down.Load() {
		return nil, errors.New("database is down")
	}
	return l.KeyStore.KeyByDigest(ctx, d)
}

type leakFixture struct {
	rep    *testgithub.Reporter
	keys   *lookups
	cache  *store.KeyCache
	auth   *apikey.Authenticator
	hasher *store.Hasher
	clock  *fakeClock
	logs   *syncBuffer
	srv    *httptest.Server
	mu     sync.Mutex
	events []admin.Event
}

func newLeakFixture(t *testing.T, action string) *leakFixture {
	t.Helper()
	f := &leakFixture{rep: testgithub.New(t, "k1"), keys: &lookups{KeyStore: store.NewMemory()}, clock: newClock(t0), logs: &syncBuffer{}}
	var err error
	f.hasher, err = store.NewHasher([]byte("pepper-for-leak-tests"))
	require.NoError(t, err)
	f.cache, err = store.NewKeyCache(f.keys, store.CacheConfig{Now: f.clock.Now})
	require.NoError(t, err)
	f.auth, err = apikey.NewAuthenticator(format, f.cache, apikey.Config{Hasher: f.hasher, Now: f.clock.Now})
	require.NoError(t, err)
	sink := admin.EventSinkFunc(func(_ context.Context, e admin.Event) error {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
		return nil
	})
	m, err := admin.NewManager(f.cache, store.NewMemory(), format, admin.Config{Hasher: f.hasher, Logger: slogJSON(f.logs),
		Events: sink, Now: f.clock.Now})
	require.NoError(t, err)
	l, err := admin.NewLeakedKeys(m, admin.LeakConfig{KeysURL: f.rep.URL, Action: action, MaxBody: 64 << 10, MaxTokens: 10})
	require.NoError(t, err)
	f.srv = httptest.NewServer(l)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *leakFixture) issue(t *testing.T) (string, *store.Key) {
	t.Helper()
	key, rec, err := apikey.Issue(context.Background(), f.cache, format, f.hasher, apikey.Params{Name: "ci", OwnerID: "usr_1",
		TenantID: "t1", Scopes: []string{"read"}, Now: t0})
	require.NoError(t, err)
	return key, rec
}

// post sends body signed by the reporter's key id (sig overrides the
// signature when set).
func (f *leakFixture) post(t *testing.T, id string, body []byte, sig string) (int, []byte) {
	t.Helper()
	status, _, resp := f.send(t, id, body, sig)
	return status, resp
}

// send is post that also returns the response's header.
func (f *leakFixture) send(t *testing.T, id string, body []byte, sig string) (int, http.Header, []byte) {
	t.Helper()
	if sig == "" {
		k := f.rep.Key(id)
		require.NotNil(t, k, "reporter key %s", id)
		sig = testgithub.Sign(t, k, body)
	}
	req, err := http.NewRequest("POST", f.srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("GITHUB-PUBLIC-KEY-IDENTIFIER", id)
	req.Header.Set("GITHUB-PUBLIC-KEY-SIGNATURE", sig)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(res.Body)
	require.NoError(t, err)
	if res.StatusCode != http.StatusOK {
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	}
	return res.StatusCode, res.Header, buf.Bytes()
}

func reportBody(t *testing.T, tokens ...string) []byte {
	t.Helper()
	var rs []map[string]string
	for _, tok := range tokens {
		rs = append(rs, map[string]string{"token": tok, "type": "gatehouse_api_key",
			"url": "https://github.com/octo/repo/blob/abc/config.yml", "source": "content"})
	}
	b, err := json.Marshal(rs)
	require.NoError(t, err)
	return b
}

func badChecksum(key string) string {
	last := key[len(key)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return key[:len(key)-1] + string(repl)
}

func TestLeakedKeyRevoked(t *testing.T) {
	f := newLeakFixture(t, "")
	key, rec := f.issue(t)
	_, err := f.auth.Verify(context.Background(), key)
	require.NoError(t, err, "works before the report")
	unknown, err := format.Generate()
	require.NoError(t, err)
	before := f.keys.n.Load()
	status, body := f.post(t, "k1", reportBody(t, badChecksum(key), "not-a-key", key+"\n", "gh_live."+key[len("cpx_live."):]), "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.NotContains(t, string(body), "true_positive")
	assert.Equal(t, before, f.keys.n.Load(), "look-alikes never reach the store")
	status, body = f.post(t, "k1", reportBody(t, key, badChecksum(key), unknown, "not-a-key"), "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var results []admin.LeakResult
	require.NoError(t, json.Unmarshal(body, &results))
	assert.Equal(t, []admin.LeakResult{
		{TokenRaw: key, TokenType: "gatehouse_api_key", Label: "true_positive"},
		{TokenRaw: badChecksum(key), TokenType: "gatehouse_api_key", Label: "false_positive"},
		{TokenRaw: unknown, TokenType: "gatehouse_api_key", Label: "false_positive"},
		{TokenRaw: "not-a-key", TokenType: "gatehouse_api_key", Label: "false_positive"},
	}, results)
	assert.Equal(t, int64(1), f.keys.n.Load()-before, "the unknown well-formed token reaches the store (the known one is cached)")

	_, err = f.auth.Verify(context.Background(), key)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "refused at once in this process")
	got, err := f.keys.KeyByID(context.Background(), rec.ID)
	require.NoError(t, err)
	assert.True(t, got.Revoked())

	f.mu.Lock()
	events := append([]admin.Event(nil), f.events...)
	f.mu.Unlock()
	require.Len(t, events, 2)
	assert.Equal(t, admin.EventKeyRevoked, events[0].Type)
	assert.Equal(t, admin.LeakActorID, events[0].ActorID)
	assert.Equal(t, admin.EventKeyLeaked, events[1].Type)
	assert.Equal(t, "revoked", events[1].LeakAction)
	assert.Equal(t, "https://github.com/octo/repo/blob/abc/config.yml", events[1].LeakURL)
	assert.Equal(t, rec.ID, events[1].Key.ID)
	assert.Contains(t, f.logs.String(), "gatehouse.key.leaked")
	assert.NotContains(t, f.logs.String(), key, "the token is never logged")

	// Reported again (a replay, or GitHub finding it elsewhere): still a
	// true positive, and no event, since nothing changed.
	status, body = f.post(t, "k1", reportBody(t, key), "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "true_positive")
	f.mu.Lock()
	assert.Len(t, f.events, 2, "no second key.leaked, no second key.revoked")
	f.mu.Unlock()
}

// TestLeakedKeyRevokedBefore: a key that an admin revoked before it was
// reported is a true positive, and the report emits nothing.
func TestLeakedKeyRevokedBefore(t *testing.T) {
	f := newLeakFixture(t, "")
	key, rec := f.issue(t)
	_, err := f.cache.RevokeKey(context.Background(), rec.ID, t0)
	require.NoError(t, err)
	status, body := f.post(t, "k1", reportBody(t, key), "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "true_positive")
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Empty(t, f.events)
}

// TestLeakedKeyFlaggedOncePerDay: in flag mode a key reported again and
// again emits key.leaked at most once per 24 hours.
func TestLeakedKeyFlaggedOncePerDay(t *testing.T) {
	f := newLeakFixture(t, admin.LeakFlag)
	key, _ := f.issue(t)
	other, _ := f.issue(t)
	tests := []struct {
		name    string
		advance time.Duration
		tokens  []string
		events  int
	}{
		{"first report", 0, []string{key}, 1},
		{"replayed at once", 0, []string{key}, 1},
		{"twice in one report", time.Hour, []string{key, key}, 1},
		{"another key", 0, []string{other}, 2},
		{"just under 24 hours later", 23*time.Hour - time.Second, []string{key}, 2},
		{"24 hours after the first", time.Second, []string{key}, 3},
		{"replayed after that", time.Minute, []string{key}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(tt.advance)
			status, body := f.post(t, "k1", reportBody(t, tt.tokens...), "")
			require.Equal(t, http.StatusOK, status)
			assert.Contains(t, string(body), "true_positive")
			f.mu.Lock()
			defer f.mu.Unlock()
			assert.Len(t, f.events, tt.events)
		})
	}
}

func TestLeakedKeyFlagged(t *testing.T) {
	f := newLeakFixture(t, admin.LeakFlag)
	key, _ := f.issue(t)
	status, body := f.post(t, "k1", reportBody(t, key), "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(body), "true_positive")
	_, err := f.auth.Verify(context.Background(), key)
	assert.NoError(t, err, "flagged, not revoked")
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.events, 1)
	assert.Equal(t, admin.EventKeyLeaked, f.events[0].Type)
	assert.Equal(t, "flagged", f.events[0].LeakAction)
}

func TestLeakedKeysSignature(t *testing.T) {
	f := newLeakFixture(t, "")
	key, _ := f.issue(t)
	body := reportBody(t, key)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		id     string
		body   []byte
		sig    string
		status int
	}{
		{"signed by another key", "k1", body, testgithub.Sign(t, other, body), 401},
		{"signature of another body", "k1", body, testgithub.Sign(t, f.rep.Key("k1"), []byte("[]")), 401},
		{"no signature", "k1", body, "-", 401},
		{"signature not base64", "k1", body, "%%%", 401},
		{"huge signature", "k1", body, strings.Repeat("A", 1000), 401},
		{"no key id", "", body, testgithub.Sign(t, f.rep.Key("k1"), body), 401},
		{"key id too long", strings.Repeat("k", 300), body, testgithub.Sign(t, f.rep.Key("k1"), body), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			if sig == "-" {
				sig = " "
			}
			status, resp := f.post(t, tt.id, tt.body, sig)
			assert.Equal(t, tt.status, status, "%s", resp)
			assert.Contains(t, string(resp), "invalid_signature")
		})
	}
	_, err = f.auth.Verify(context.Background(), key)
	assert.NoError(t, err, "no refused report revoked anything")
	f.mu.Lock()
	assert.Empty(t, f.events)
	f.mu.Unlock()
}

// TestLeakedKeysKeySetRefresh: the key set is fetched once, again when an
// unknown key ID appears (a rotation), at most once per interval, and a
// key set that cannot be fetched is a 503.
func TestLeakedKeysKeySetRefresh(t *testing.T) {
	f := newLeakFixture(t, admin.LeakFlag)
	empty := []byte("[]")
	status, _ := f.post(t, "k1", empty, "")
	require.Equal(t, 200, status)
	status, _ = f.post(t, "k1", empty, "")
	require.Equal(t, 200, status)
	assert.Equal(t, int64(1), f.rep.Fetches.Load(), "cached")

	f.clock.Advance(time.Minute)
	k2 := f.rep.AddKey(t, "k2") // GitHub rotates its key
	status, _ = f.post(t, "k2", empty, testgithub.Sign(t, k2, empty))
	assert.Equal(t, 200, status)
	assert.Equal(t, int64(2), f.rep.Fetches.Load(), "refetched for the unknown ID")

	for range 5 {
		status, header, _ := f.send(t, "k-unknown", empty, testgithub.Sign(t, k2, empty))
		assert.Equal(t, 503, status, "unknown within the interval: maybe new, try again")
		assert.Equal(t, "60", header.Get("Retry-After"))
	}
	assert.Equal(t, int64(2), f.rep.Fetches.Load(), "a flood of unknown IDs costs at most one fetch per interval")
	f.clock.Advance(time.Minute)
	status, _ = f.post(t, "k-unknown", empty, testgithub.Sign(t, k2, empty))
	assert.Equal(t, 401, status, "unknown to a fresh fetch")
	assert.Equal(t, int64(3), f.rep.Fetches.Load())

	f.rep.SetDown(true)
	f.clock.Advance(time.Minute)
	k3 := f.rep.AddKey(t, "k3")
	status, header, body := f.send(t, "k3", empty, testgithub.Sign(t, k3, empty))
	assert.Equal(t, 503, status, "%s", body)
	assert.Equal(t, "60", header.Get("Retry-After"))
	f.clock.Advance(20 * time.Second)
	status, header, _ = f.send(t, "k3", empty, testgithub.Sign(t, k3, empty))
	assert.Equal(t, 503, status, "still unavailable within the interval")
	assert.Equal(t, "40", header.Get("Retry-After"))
	status, _ = f.post(t, "k1", empty, "")
	assert.Equal(t, 200, status, "known keys still verify")
}

// TestLeakedKeysRotationAfterProbe: a request signed with a random key
// ID makes the key set be fetched; a genuine report signed with a key
// GitHub rotated in just after is answered 503 with Retry-After (not 401)
// until the key set may be fetched again, and then verifies.
func TestLeakedKeysRotationAfterProbe(t *testing.T) {
	f := newLeakFixture(t, admin.LeakFlag)
	key, _ := f.issue(t)
	empty := []byte("[]")
	status, _ := f.post(t, "k1", empty, "")
	require.Equal(t, 200, status)
	f.clock.Advance(time.Minute)
	status, _ = f.post(t, "k-random", empty, testgithub.Sign(t, f.rep.Key("k1"), empty))
	require.Equal(t, 401, status, "unknown after a fresh fetch")
	require.Equal(t, int64(2), f.rep.Fetches.Load())

	k2 := f.rep.AddKey(t, "k2")
	report := reportBody(t, key)
	tests := []struct {
		name       string
		advance    time.Duration
		status     int
		retryAfter string
	}{
		{"just after the probe's fetch", time.Second, 503, "59"},
		{"later in the interval", 30 * time.Second, 503, "29"},
		{"once the interval is over", 29 * time.Second, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(tt.advance)
			status, header, body := f.send(t, "k2", report, testgithub.Sign(t, k2, report))
			assert.Equal(t, tt.status, status, "%s", body)
			assert.Equal(t, tt.retryAfter, header.Get("Retry-After"))
		})
	}
	assert.Equal(t, int64(3), f.rep.Fetches.Load())
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.events, 1, "the genuine report was handled")
	assert.Equal(t, admin.EventKeyLeaked, f.events[0].Type)
}

// TestLeakedKeysFetchOutlivesCaller: a caller who hangs up while the key
// set is being fetched does not make the fetch fail: it completes, and
// reports signed by its keys verify.
func TestLeakedKeysFetchOutlivesCaller(t *testing.T) {
	f := newLeakFixture(t, admin.LeakFlag)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		f.rep.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gated.Close)
	m, err := admin.NewManager(f.cache, store.NewMemory(), format, admin.Config{Hasher: f.hasher, Now: f.clock.Now,
		Logger: slogJSON(f.logs)})
	require.NoError(t, err)
	l, err := admin.NewLeakedKeys(m, admin.LeakConfig{KeysURL: gated.URL})
	require.NoError(t, err)
	body := []byte("[]")
	sig := testgithub.Sign(t, f.rep.Key("k1"), body)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Check(ctx, body, "k1", sig) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the key set was never fetched")
	}
	cancel() // the caller hangs up mid-fetch
	close(release)
	assert.NoError(t, <-errc, "the fetch completed")
	assert.NoError(t, l.Check(context.Background(), body, "k1", sig), "and its keys verify, within the interval too")
}

func TestLeakedKeysRefusals(t *testing.T) {
	f := newLeakFixture(t, "")
	key, _ := f.issue(t)
	many := make([]string, 11)
	for i := range many {
		many[i] = key
	}
	status, body := f.post(t, "k1", reportBody(t, many...), "")
	assert.Equal(t, 400, status, "more than MaxTokens: %s", body)
	status, _ = f.post(t, "k1", []byte(`{"token":"x"}`), "")
	assert.Equal(t, 400, status, "not an array")
	status, _ = f.post(t, "k1", []byte(`null`), "")
	assert.Equal(t, 400, status)
	big := append(reportBody(t, key), bytes.Repeat([]byte(" "), 64<<10)...)
	status, _ = f.post(t, "k1", big, "")
	assert.Equal(t, 413, status)
	res, err := http.Get(f.srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 405, res.StatusCode)

	f.keys.down.Store(true)
	status, body = f.post(t, "k1", reportBody(t, key), "")
	assert.Equal(t, 503, status, "%s", body)
	assert.NotContains(t, string(body), "database is down")
	f.keys.down.Store(false)
	_, err = f.auth.Verify(context.Background(), key)
	assert.NoError(t, err, "nothing revoked by the failed report")
}

func FuzzParseLeakReports(f *testing.F) {
	f.Add([]byte(`[{"token":"cpx_live.x","type":"t","url":"https://github.com/x","source":"content"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"token":1}]`))
	f.Add([]byte(`[{},{},{}]`))
	f.Add([]byte("[\"\xff\"]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := admin.ParseLeakReports(body, 2)
		if err != nil {
			require.ErrorIs(t, err, admin.ErrLeakReport)
			require.Nil(t, rs)
			return
		}
		require.NotNil(t, rs)
		require.LessOrEqual(t, len(rs), 2)
	})
}
