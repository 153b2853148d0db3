package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
	"github.com/gatehouse-go/gatehouse/webhook"
	"github.com/gatehouse-go/gatehouse/webhook/outbox"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// receiver is a webhook endpoint that verifies every message, fails its
// first failFirst attempts with a 500, and deduplicates by webhook-id.
type receiver struct {
	t         *testing.T
	secret    string
	clock     *testclock.Clock
	failFirst int
	// hangOn is the attempt (1-based; 0: none) that gets no answer: the
	// receiver signals hung and waits until the sender gives up.
	hangOn int
	hung   chan struct{}

	mu       sync.Mutex
	attempts []string       // webhook-id of every attempt, in order
	statuses []int          // the answer to each
	handled  map[string]int // successful receipts per webhook-id
	payloads map[string]webhook.Payload
}

func newReceiver(t *testing.T, clock *testclock.Clock, failFirst int) (*receiver, *httptest.Server) {
	secret, err := webhook.NewSecret()
	require.NoError(t, err)
	r := &receiver{t: t, secret: secret, clock: clock, failFirst: failFirst, handled: map[string]int{}, payloads: map[string]webhook.Payload{},
		hung: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || webhook.Verify(r.secret, req.Header, body, r.clock.Now(), 0) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.attempts = append(r.attempts, id)
	if r.hangOn > 0 && len(r.attempts) == r.hangOn {
		r.statuses = append(r.statuses, 0)
		r.mu.Unlock()
		r.hung <- struct{}{}
		<-req.Context().Done()
		return
	}
	defer r.mu.Unlock()
	if len(r.attempts) <= r.failFirst {
		r.statuses = append(r.statuses, http.StatusInternalServerError)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.statuses = append(r.statuses, http.StatusNoContent)
	r.handled[id]++
	var p webhook.Payload
	if assert.NoError(r.t, json.Unmarshal(body, &p)) {
		r.payloads[id] = p
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() (attempts []string, statuses []int, handled map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := map[string]int{}
	for k, v := range r.handled {
		h[k] = v
	}
	return append([]string(nil), r.attempts...), append([]int(nil), r.statuses...), h
}

func addEndpoint(t *testing.T, s store.WebhookStore, url, secret string, events ...string) *store.WebhookEndpoint {
	t.Helper()
	e := &store.WebhookEndpoint{ID: store.NewID("whe"), URL: url, Secret: secret, Events: events, CreatedAt: t0}
	require.NoError(t, s.CreateWebhookEndpoint(context.Background(), e))
	return e
}

// fixture is a receiver that fails its first requests, a memory store
// with one endpoint for it, and a dispatcher on the store.
type fixture struct {
	clock *testclock.Clock
	rec   *receiver
	s     *store.MemoryWebhooks
	e     *store.WebhookEndpoint
	d     *outbox.Dispatcher
}

// newFixture returns a fixture whose receiver fails its first failFirst
// requests and whose dispatcher has cfg, with the fixture's clock as Now
// and, unless cfg sets one, a Logger that discards.
func newFixture(t *testing.T, failFirst int, cfg outbox.Config) *fixture {
	t.Helper()
	f := &fixture{clock: testclock.New(t0), s: store.NewMemoryWebhooks()}
	var srv *httptest.Server
	f.rec, srv = newReceiver(t, f.clock, failFirst)
	f.e = addEndpoint(t, f.s, srv.URL, f.rec.secret)
	cfg.Now = f.clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var err error
	f.d, err = outbox.NewDispatcher(f.s, cfg)
	require.NoError(t, err)
	return f
}

// enqueue emits a key.created event with ID id now.
func (f *fixture) enqueue(t *testing.T, id string) {
	t.Helper()
	_, err := f.s.EnqueueWebhookEvent(context.Background(), store.WebhookEvent{ID: id, Type: "key.created", Payload: []byte(`{}`), At: f.clock.Now()})
	require.NoError(t, err)
}

func testKey(id string) *store.Key {
	return &store.Key{ID: id, Digest: store.Digest{1, 2, 3}, Prefix: "cpx_live.", Last4: "AbCd", Name: "ci",
		OwnerID: "usr_1", TenantID: "org_1", Scopes: []string{"read"}, CreatedAt: t0}
}

func noJitter() float64 { return 0 }

// TestExactlyOnceAcrossRestart: five events reach a receiver that fails
// its first three attempts, through a sender that is stopped (its
// dispatcher and database closed) midway and started again on the same
// database (a SQLite file, a PostgreSQL database); the receiver,
// deduplicating by webhook-id, handles each event exactly once.
func TestExactlyOnceAcrossRestart(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") },
		"postgres": func(t *testing.T) string { return testdb.Postgres(t, "gh_outbox_") },
	} {
		t.Run(name, func(t *testing.T) { testExactlyOnceAcrossRestart(t, dsn(t)) })
	}
}

func testExactlyOnceAcrossRestart(t *testing.T, path string) {
	ctx := context.Background()
	clock := testclock.New(t0)
	rec, srv := newReceiver(t, clock, 3)
	cfg := outbox.Config{Now: clock.Now, Jitter: noJitter, BaseBackoff: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}

	db, err := sqlstore.Open(ctx, path, sqlstore.Config{})
	require.NoError(t, err)
	addEndpoint(t, db, srv.URL, rec.secret)
	sink, err := outbox.NewSink(db, outbox.SinkConfig{Now: clock.Now})
	require.NoError(t, err)
	var ids []string
	for i := range 5 {
		k := testKey("key_" + string(rune('a'+i)))
		require.NoError(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyCreated, Key: k, ActorID: "usr_1", At: clock.Now()}))
		ds, _, err := db.ListWebhookDeliveries(ctx, mustOnlyEndpoint(t, db), "", 100)
		require.NoError(t, err)
		ids = append(ids, ds[0].EventID)
	}
	// First life: the first pass sends each event once; the receiver
	// fails the first three of them.
	d, err := outbox.NewDispatcher(db, cfg)
	require.NoError(t, err)
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	attempts, statuses, handled := rec.snapshot()
	assert.Equal(t, []int{500, 500, 500, 204, 204}, statuses)
	assert.Len(t, handled, 2)
	require.NoError(t, d.Close())
	require.NoError(t, db.Close())

	// Second life, on the same file: the three failed ones are due after
	// their backoff, not before.
	db, err = sqlstore.Open(ctx, path, sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	d, err = outbox.NewDispatcher(db, cfg)
	require.NoError(t, err)
	defer d.Close()
	clock.Advance(2 * time.Second)
	n, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "not before the backoff (2.5 s with no jitter)")
	clock.Advance(time.Second)
	n, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left")

	attempts2, statuses, handled := rec.snapshot()
	assert.Equal(t, []int{500, 500, 500, 204, 204, 204, 204, 204}, statuses)
	assert.ElementsMatch(t, attempts[:3], attempts2[5:], "the retries carry the failed attempts' webhook-ids")
	require.Len(t, handled, 5)
	for _, id := range ids {
		assert.Equal(t, 1, handled[id], "event %s handled exactly once", id)
	}
	ds, _, err := db.ListWebhookDeliveries(ctx, mustOnlyEndpoint(t, db), "", 100)
	require.NoError(t, err)
	for _, x := range ds {
		assert.Equal(t, "delivered", x.Status())
	}
	rec.mu.Lock()
	p := rec.payloads[ids[0]]
	rec.mu.Unlock()
	assert.Equal(t, "key.created", p.Type)
	assert.Equal(t, "key_a", p.Data.KeyID)
	assert.Equal(t, "AbCd", p.Data.Last4)
	assert.Equal(t, "usr_1", p.Data.ActorID)
	assert.True(t, p.Timestamp.Equal(t0))
}

// TestOneEventAcrossRestart: one event, whose receiver fails its first
// three attempts, is in its third attempt when the sender stops (its
// dispatcher and database closed); the sender starts again on the same
// database (a SQLite file, a PostgreSQL database) at the same instant,
// sends it at once (no old lease to wait for) and it is delivered: the
// receiver, deduplicating by webhook-id, handles it exactly once.
func TestOneEventAcrossRestart(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatehouse.db") },
		"postgres": func(t *testing.T) string { return testdb.Postgres(t, "gh_outbox_") },
	} {
		t.Run(name, func(t *testing.T) { testOneEventAcrossRestart(t, dsn(t)) })
	}
}

func testOneEventAcrossRestart(t *testing.T, path string) {
	ctx := context.Background()
	clock := testclock.New(t0)
	rec, srv := newReceiver(t, clock, 3)
	rec.hangOn = 3
	cfg := outbox.Config{Now: clock.Now, Jitter: noJitter, BaseBackoff: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}

	db, err := sqlstore.Open(ctx, path, sqlstore.Config{})
	require.NoError(t, err)
	endpointID := addEndpoint(t, db, srv.URL, rec.secret).ID
	sink, err := outbox.NewSink(db, outbox.SinkConfig{Now: clock.Now})
	require.NoError(t, err)
	require.NoError(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyRevoked, Key: testKey("key_a"), ActorID: "usr_1"}))
	ds, _, err := db.ListWebhookDeliveries(ctx, endpointID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	id := ds[0].EventID

	// First life: two failed attempts, then a third that is under way
	// when the sender stops.
	d, err := outbox.NewDispatcher(db, cfg)
	require.NoError(t, err)
	for _, wait := range []time.Duration{3 * time.Second, 6 * time.Second} { // past each backoff (2.5 s, 5 s)
		n, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		clock.Advance(wait)
	}
	ran := make(chan struct{})
	go func() { defer close(ran); d.Run(ctx) }()
	select {
	case <-rec.hung:
	case <-time.After(10 * time.Second):
		t.Fatal("the third attempt never reached the receiver")
	}
	require.NoError(t, d.Close())
	<-ran
	require.NoError(t, db.Close())

	// Second life, on the same database, at the same instant.
	db, err = sqlstore.Open(ctx, path, sqlstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ds, _, err = db.ListWebhookDeliveries(ctx, endpointID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Empty(t, ds[0].LeaseToken, "the stopped sender released its lease")
	d, err = outbox.NewDispatcher(db, cfg)
	require.NoError(t, err)
	defer d.Close()
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "sent at once, not when the old lease ends")
	n, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left")

	attempts, statuses, handled := rec.snapshot()
	assert.Equal(t, []string{id, id, id, id}, attempts, "every attempt under the event's webhook-id")
	assert.Equal(t, []int{500, 500, 0, 204}, statuses)
	assert.Equal(t, map[string]int{id: 1}, handled, "handled exactly once")
	ds, _, err = db.ListWebhookDeliveries(ctx, endpointID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "delivered", ds[0].Status())
	assert.Equal(t, 3, ds[0].Attempts, "the interrupted attempt is not counted")
}

// TestCloseReleasesUnattempted: a dispatcher closed while a claimed
// delivery waits for its endpoint's rate limit releases it; another
// dispatcher claims it at once.
func TestCloseReleasesUnattempted(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(t0)
	rec, srv := newReceiver(t, clock, 0)
	s := store.NewMemoryWebhooks()
	addEndpoint(t, s, srv.URL, rec.secret)
	waiting := make(chan struct{}, 1)
	d, err := outbox.NewDispatcher(s, outbox.Config{Now: clock.Now, Rate: 1, Burst: 1, Interval: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Sleep: func(ctx context.Context, _ time.Duration) error {
			waiting <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}})
	require.NoError(t, err)
	for _, id := range []string{"msg_1", "msg_2", "msg_3"} {
		_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: id, Type: "key.created", Payload: []byte(`{}`), At: t0})
		require.NoError(t, err)
	}
	ran := make(chan struct{})
	go func() { defer close(ran); d.Run(ctx) }()
	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the second delivery never waited for the rate limit")
	}
	require.NoError(t, d.Close())
	<-ran
	ds, err := s.ClaimWebhookDeliveries(ctx, clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	assert.Len(t, ds, 2, "the two unattempted deliveries are claimed again at once")
	_, _, handled := rec.snapshot()
	assert.Len(t, handled, 1)
}

func mustOnlyEndpoint(t *testing.T, s store.WebhookStore) string {
	t.Helper()
	es, err := s.ListWebhookEndpoints(context.Background())
	require.NoError(t, err)
	require.Len(t, es, 1)
	return es[0].ID
}

func TestDisableAfterConsecutiveFailures(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(t0)
	rec, srv := newReceiver(t, clock, 1000)
	s := store.NewMemoryWebhooks()
	var logs bytes.Buffer
	e := addEndpoint(t, s, srv.URL+"?token=hidden", rec.secret)
	d, err := outbox.NewDispatcher(s, outbox.Config{Now: clock.Now, Jitter: noJitter, DisableAfterFailures: 3, DisableAfter: 4 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_1", Type: "key.created", Payload: []byte(`{}`), At: t0})
	require.NoError(t, err)
	for range 3 {
		n, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		clock.Advance(2 * time.Hour)
	}
	got, err := s.WebhookEndpoint(ctx, e.ID)
	require.NoError(t, err)
	assert.False(t, got.DisabledAt.IsZero(), "disabled after 3 failures over 4 hours")
	assert.Equal(t, "3 consecutive failed attempts since 2031-05-06T07:08:09Z", got.DisabledReason)
	assert.Contains(t, logs.String(), "gatehouse.webhook.disabled")
	assert.NotContains(t, logs.String(), "hidden", "the URL's query is not logged")
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a disabled endpoint gets nothing")
	attempts, _, _ := rec.snapshot()
	assert.Len(t, attempts, 3)
}

// TestShortOutageDoesNotDisable: an unreachable endpoint with 8 queued
// events fails far more than 20 times in its first hour and stays
// enabled; it is disabled only once it has been failing for 24 hours
// (the defaults), at its first failure after that.
func TestShortOutageDoesNotDisable(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(t0)
	rec, srv := newReceiver(t, clock, 1_000_000)
	s := store.NewMemoryWebhooks()
	e := addEndpoint(t, s, srv.URL, rec.secret)
	d, err := outbox.NewDispatcher(s, outbox.Config{Now: clock.Now, Jitter: noJitter, Logger: slog.New(slog.DiscardHandler),
		Sleep: func(_ context.Context, w time.Duration) error { clock.Advance(w); return nil }})
	require.NoError(t, err)
	for i := range 8 {
		_, err := s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_" + string(rune('a'+i)), Type: "key.created", Payload: []byte(`{}`), At: t0})
		require.NoError(t, err)
	}
	endpoint := func() *store.WebhookEndpoint {
		t.Helper()
		got, err := s.WebhookEndpoint(ctx, e.ID)
		require.NoError(t, err)
		return got
	}
	runUntil := func(end time.Time, step time.Duration) {
		t.Helper()
		for clock.Now().Before(end) {
			_, err := d.RunOnce(ctx)
			require.NoError(t, err)
			clock.Advance(step)
		}
	}
	runUntil(t0.Add(time.Minute), time.Second)
	got := endpoint()
	require.Greater(t, got.Failures, 20, "more than 20 failures within a minute")
	assert.True(t, got.DisabledAt.IsZero(), "a one-minute outage does not disable it")
	runUntil(t0.Add(25*time.Hour), time.Minute)
	got = endpoint()
	assert.True(t, got.DisabledAt.IsZero(), "not disabled while no attempt is made")
	assert.True(t, got.FailingSince.Equal(t0), "failing since the first failure")
	_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_late", Type: "key.created", Payload: []byte(`{}`), At: clock.Now()})
	require.NoError(t, err)
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got = endpoint()
	assert.True(t, got.DisabledAt.Equal(clock.Now()), "disabled at its first failure after 24 hours of failing")
	assert.Equal(t, "121 consecutive failed attempts since 2031-05-06T07:08:09Z", got.DisabledReason)
}

// TestEnableDeliversPending: an endpoint disabled after 3 consecutive
// failures over 4 hours is enabled again; the delivery that was pending while it was
// disabled is sent, the failure count starts from zero (2 more failures
// do not disable it), and an event emitted while it was disabled never
// reaches it.
func TestEnableDeliversPending(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, outbox.Config{Jitter: noJitter, DisableAfterFailures: 3, DisableAfter: 4 * time.Hour})
	clock, rec, s, e, d := f.clock, f.rec, f.s, f.e, f.d
	enqueue := func(id string) { f.enqueue(t, id) }
	pass := func() int {
		t.Helper()
		n, err := d.RunOnce(ctx)
		require.NoError(t, err)
		clock.Advance(2 * time.Hour)
		return n
	}
	endpoint := func() *store.WebhookEndpoint {
		t.Helper()
		got, err := s.WebhookEndpoint(ctx, e.ID)
		require.NoError(t, err)
		return got
	}
	enqueue("msg_1")
	for range 3 {
		require.Equal(t, 1, pass())
	}
	require.False(t, endpoint().DisabledAt.IsZero(), "disabled after 3 failures")
	enqueue("msg_while_disabled")
	assert.Zero(t, pass(), "a disabled endpoint gets nothing")
	ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the event emitted while disabled was not queued for it")
	assert.Equal(t, "pending", ds[0].Status(), "its delivery waits")

	enabled, err := s.EnableWebhookEndpoint(ctx, e.ID)
	require.NoError(t, err)
	require.True(t, enabled)
	for i := 1; i <= 2; i++ {
		require.Equal(t, 1, pass())
		got := endpoint()
		assert.True(t, got.DisabledAt.IsZero(), "failure %d after enabling does not disable it", i)
		assert.Equal(t, i, got.Failures)
	}
	require.Equal(t, 1, pass(), "the pending delivery is sent again")
	assert.Zero(t, pass(), "nothing left")
	attempts, statuses, handled := rec.snapshot()
	assert.Equal(t, []int{500, 500, 500, 500, 500, 204}, statuses)
	assert.Equal(t, map[string]int{"msg_1": 1}, handled)
	for _, id := range attempts {
		assert.Equal(t, "msg_1", id)
	}
	ds, _, err = s.ListWebhookDeliveries(ctx, e.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "delivered", ds[0].Status())
	assert.Equal(t, 6, ds[0].Attempts)
	assert.Zero(t, endpoint().Failures)
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1000, outbox.Config{Jitter: noJitter, MaxAttempts: 4})
	clock, rec, s, e, d := f.clock, f.rec, f.s, f.e, f.d
	f.enqueue(t, "msg_1")
	for range 10 {
		_, err := d.RunOnce(ctx)
		require.NoError(t, err)
		clock.Advance(2 * time.Hour)
	}
	attempts, _, _ := rec.snapshot()
	assert.Len(t, attempts, 4)
	ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "failed", ds[0].Status())
	assert.Equal(t, "status 500", ds[0].LastError)
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	redirect := httptest.NewServer(http.RedirectHandler("https://elsewhere.example/", http.StatusFound))
	t.Cleanup(redirect.Close)
	slow := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(slow); hang.Close() })
	secret, err := webhook.NewSecret()
	require.NoError(t, err)
	tests := []struct {
		name, url, secret, reason string
		status                    int
		retried                   bool
	}{
		{"redirect is not followed", redirect.URL, secret, "status 302", 302, true},
		{"plain http off loopback", "http://hooks.example.com/x", secret, "endpoint URL refused (https, or http on loopback only)", 0, false},
		{"malformed secret", redirect.URL, "whsec_short", "endpoint secret is malformed", 0, true},
		{"timeout", hang.URL, secret, "timeout", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testclock.New(t0)
			s := store.NewMemoryWebhooks()
			e := addEndpoint(t, s, tt.url, tt.secret)
			d, err := outbox.NewDispatcher(s, outbox.Config{Now: clock.Now, Timeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_1", Type: "key.created", Payload: []byte(`{}`), At: t0})
			require.NoError(t, err)
			n, err := d.RunOnce(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			assert.Equal(t, tt.reason, ds[0].LastError)
			assert.Equal(t, tt.status, ds[0].LastStatus)
			assert.Equal(t, tt.retried, ds[0].Status() == "pending")
		})
	}
}

// TestRatePerEndpoint: one endpoint limited to 1 request a second waits
// between its deliveries; another endpoint in the same pass does not.
func TestRatePerEndpoint(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(t0)
	recA, srvA := newReceiver(t, clock, 0)
	recB, srvB := newReceiver(t, clock, 0)
	s := store.NewMemoryWebhooks()
	addEndpoint(t, s, srvA.URL, recA.secret, "key.created")
	addEndpoint(t, s, srvB.URL, recB.secret, "key.revoked")
	var mu sync.Mutex
	var waits []time.Duration
	d, err := outbox.NewDispatcher(s, outbox.Config{Now: clock.Now, Rate: 1, Burst: 1, Logger: slog.New(slog.DiscardHandler),
		Sleep: func(ctx context.Context, w time.Duration) error {
			mu.Lock()
			waits = append(waits, w)
			mu.Unlock()
			clock.Advance(w)
			return nil
		}})
	require.NoError(t, err)
	for i := range 3 {
		_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_a" + string(rune('0'+i)), Type: "key.created", Payload: []byte(`{}`), At: t0})
		require.NoError(t, err)
	}
	_, err = s.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: "msg_b", Type: "key.revoked", Payload: []byte(`{}`), At: t0})
	require.NoError(t, err)
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, waits, 2, "endpoint A waits before its 2nd and 3rd; B never")
	for _, w := range waits {
		assert.InDelta(t, time.Second, w, float64(time.Millisecond), "1 per second")
	}
	_, _, handledA := recA.snapshot()
	_, _, handledB := recB.snapshot()
	assert.Len(t, handledA, 3)
	assert.Len(t, handledB, 1)
}

func TestRunWakeAndClose(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0, outbox.Config{Interval: time.Hour})
	rec, d := f.rec, f.d
	sink, err := outbox.NewSink(f.s, outbox.SinkConfig{Now: f.clock.Now})
	require.NoError(t, err)
	sink.OnEnqueue(d.Wake)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	require.NoError(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyRevoked, Key: testKey("key_1")}))
	require.Eventually(t, func() bool {
		_, _, h := rec.snapshot()
		return len(h) == 1
	}, 10*time.Second, 5*time.Millisecond, "woken, not after the hour-long interval")
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "idempotent")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

// TestPruneAfterRetention: delivered deliveries leave the outbox once
// they are older than Retention, checked at most once an hour.
func TestPruneAfterRetention(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0, outbox.Config{Retention: 24 * time.Hour})
	clock, s, e, d := f.clock, f.s, f.e, f.d
	f.enqueue(t, "msg_1")
	count := func() int {
		ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
		require.NoError(t, err)
		return len(ds)
	}
	_, err := d.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, count(), "delivered, kept")
	clock.Advance(24*time.Hour + time.Second)
	_, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, count(), "pruned after the retention")
}
