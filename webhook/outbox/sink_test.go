package outbox_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook/outbox"
)

func TestPayloadCarriesNoSecret(t *testing.T) {
	k := testKey("key_1")
	k.Digest = store.Digest{0xde, 0xad, 0xbe, 0xef, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}
	k.ExpiresAt = t0.Add(48 * time.Hour)
	k.Metadata = map[string]string{"note": "metadata is not sent"}
	tests := []struct {
		name string
		e    admin.Event
		want map[string]any
	}{
		{"expiring", admin.Event{Type: admin.EventKeyExpiring, Key: k, At: t0, DaysLeft: 2},
			map[string]any{"days_left": float64(2), "key_id": "key_1", "last4": "AbCd", "prefix": "cpx_live.", "expires_at": "2031-05-08T07:08:09Z"}},
		{"rotated", admin.Event{Type: admin.EventKeyRotated, Key: k, At: t0, OldKeyID: "key_0", ActorID: "usr_2"},
			map[string]any{"old_key_id": "key_0", "actor_id": "usr_2", "owner_id": "usr_1", "tenant_id": "org_1"}},
		{"leaked", admin.Event{Type: admin.EventKeyLeaked, Key: k, At: t0, LeakAction: "revoked", LeakURL: "https://github.com/o/r/blob/x"},
			map[string]any{"leak_action": "revoked", "leak_url": "https://github.com/o/r/blob/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(outbox.PayloadOf(tt.e))
			require.NoError(t, err)
			s := string(body)
			for _, secret := range []string{hex.EncodeToString(k.Digest[:]), base64.StdEncoding.EncodeToString(k.Digest[:]),
				base64.RawURLEncoding.EncodeToString(k.Digest[:]), "digest", "metadata is not sent"} {
				assert.NotContains(t, s, secret)
			}
			var m struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal(body, &m))
			assert.Equal(t, tt.e.Type, m.Type)
			for f, v := range tt.want {
				assert.Equal(t, v, m.Data[f], f)
			}
			if tt.e.Type != admin.EventKeyExpiring {
				assert.NotContains(t, m.Data, "days_left")
			}
		})
	}
}

func TestSinkFansOutDurably(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemoryWebhooks()
	a := addEndpoint(t, s, "https://a.example/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	b := addEndpoint(t, s, "https://b.example/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", admin.EventKeyLeaked)
	sink, err := outbox.NewSink(s, outbox.SinkConfig{})
	require.NoError(t, err)
	woken := 0
	sink.OnEnqueue(func() { woken++ })
	require.NoError(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyCreated, Key: testKey("key_1"), At: t0}))
	require.NoError(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyLeaked, Key: testKey("key_1"), At: t0}))
	da, _, err := s.ListWebhookDeliveries(ctx, a.ID, "", 10)
	require.NoError(t, err)
	db, _, err := s.ListWebhookDeliveries(ctx, b.ID, "", 10)
	require.NoError(t, err)
	assert.Len(t, da, 2)
	require.Len(t, db, 1)
	assert.Equal(t, admin.EventKeyLeaked, db[0].EventType)
	assert.Equal(t, 2, woken)
	assert.Error(t, sink.Emit(ctx, admin.Event{Type: admin.EventKeyCreated}), "an event without a key")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, sink.Emit(cctx, admin.Event{Type: admin.EventKeyCreated, Key: testKey("key_1")}),
		"an abandoned request's event is still stored")
	da, _, err = s.ListWebhookDeliveries(ctx, a.ID, "", 10)
	require.NoError(t, err)
	assert.Len(t, da, 3)
}

// flakyEnqueue is a webhook store whose first fail enqueues fail; with
// commit, each failing one stores the event before it reports the
// failure (a commit whose answer was lost).
type flakyEnqueue struct {
	*store.MemoryWebhooks
	fail   int
	commit bool
	calls  int
}

var errFlaky = errors.New("flaky: connection reset")

func (f *flakyEnqueue) EnqueueWebhookEvent(ctx context.Context, ev store.WebhookEvent) (int, error) {
	f.calls++
	if f.calls <= f.fail {
		if f.commit {
			_, _ = f.MemoryWebhooks.EnqueueWebhookEvent(ctx, ev)
		}
		return 0, errFlaky
	}
	return f.MemoryWebhooks.EnqueueWebhookEvent(ctx, ev)
}

// TestSinkRetries: a failed write of an event is tried again, under the
// same event ID, with a doubling wait, up to Attempts times; then Emit
// returns the error (for the manager's gatehouse.event.failed).
func TestSinkRetries(t *testing.T) {
	tests := []struct {
		name       string
		fail       int
		commit     bool
		wantErr    bool
		wantCalls  int
		wantWaits  []time.Duration
		deliveries int
	}{
		{"transient failure", 2, false, false, 3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, 1},
		{"failure after commit: stored once", 1, true, false, 2, []time.Duration{100 * time.Millisecond}, 1},
		{"store down: gives up", 100, false, true, 5,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := &flakyEnqueue{MemoryWebhooks: store.NewMemoryWebhooks(), fail: tt.fail, commit: tt.commit}
			e := addEndpoint(t, s, "https://a.example/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
			var waits []time.Duration
			sink, err := outbox.NewSink(s, outbox.SinkConfig{Sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}})
			require.NoError(t, err)
			woken := 0
			sink.OnEnqueue(func() { woken++ })
			err = sink.Emit(ctx, admin.Event{Type: admin.EventKeyRevoked, Key: testKey("key_1"), At: t0})
			if tt.wantErr {
				assert.ErrorIs(t, err, errFlaky)
				assert.Zero(t, woken)
			} else {
				assert.NoError(t, err)
				assert.Equal(t, 1, woken)
			}
			assert.Equal(t, tt.wantCalls, s.calls)
			assert.Equal(t, tt.wantWaits, waits)
			ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			assert.Len(t, ds, tt.deliveries)
		})
	}
}
