package admin_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// notice is one reminder a recordingNotifier received.
type notice struct {
	KeyName   string
	Threshold string
}

// recordingNotifier collects reminders. It is safe for concurrent use.
type recordingNotifier struct {
	mu   sync.Mutex
	got  []notice
	fail error // returned by every call when set
}

func (n *recordingNotifier) NotifyExpiring(_ context.Context, k *store.Key, t admin.Threshold) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, notice{k.Name, t.Name})
	return n.fail
}

func (n *recordingNotifier) take() []notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

// reminderKeys stores keys named after when they expire from t0, and
// returns the store.
func reminderKeys(t *testing.T) *store.Memory {
	t.Helper()
	ctx := context.Background()
	mem := store.NewMemory()
	issue := func(name string, expires time.Time) *store.Key {
		_, rec, err := apikey.Issue(ctx, mem, format, nil, apikey.Params{Name: name, OwnerID: alice, TenantID: "t1", Scopes: []string{"read"}, ExpiresAt: expires, Now: t0})
		require.NoError(t, err)
		return rec
	}
	issue("10d", t0.Add(10*24*time.Hour))
	issue("3d", t0.Add(3*24*time.Hour))
	issue("12h", t0.Add(12*time.Hour))
	issue("30d", t0.Add(30*24*time.Hour))
	issue("never", time.Time{})
	revoked := issue("revoked 2d", t0.Add(2*24*time.Hour))
	_, err := mem.RevokeKey(ctx, revoked.ID, t0)
	require.NoError(t, err)
	return mem
}

// TestRemindersOncePerThreshold runs reminders at several clock points, and
// restarts them (a new instance over the same store) between runs: each key
// gets each threshold's reminder once, the most urgent only when it is in
// several windows, and a revoked key gets none.
func TestRemindersOncePerThreshold(t *testing.T) {
	for _, order := range []struct {
		name       string
		thresholds []admin.Threshold
	}{
		{"default thresholds", nil},
		{"thresholds given shortest first", []admin.Threshold{{Name: "1d", Within: 24 * time.Hour}, {Name: "7d", Within: 7 * 24 * time.Hour}}},
	} {
		t.Run(order.name, func(t *testing.T) {
			mem := reminderKeys(t)
			clock := newClock(t0)
			rec := &recordingNotifier{}
			start := func() *admin.Reminders {
				r, err := admin.NewReminders(mem, admin.ReminderConfig{Thresholds: order.thresholds, Notifier: rec, Now: clock.Now})
				require.NoError(t, err)
				return r
			}
			r := start()
			steps := []struct {
				name    string
				advance time.Duration // from t0
				restart bool
				want    []notice
			}{
				{"at t0", 0, false, []notice{{"3d", "7d"}, {"12h", "1d"}}},
				{"again at t0", 0, false, nil},
				{"restarted at t0", 0, true, nil},
				{"an hour later", time.Hour, false, nil},
				{"2 days and an hour later", 2*24*time.Hour + time.Hour, false, []notice{{"3d", "1d"}}},
				{"restarted 2 days and an hour later", 2*24*time.Hour + time.Hour, true, nil},
				{"3 days and an hour later", 3*24*time.Hour + time.Hour, false, []notice{{"10d", "7d"}}},
				{"restarted 3 days and an hour later", 3*24*time.Hour + time.Hour, true, nil},
				{"9 days and an hour later", 9*24*time.Hour + time.Hour, true, []notice{{"10d", "1d"}}},
				{"23 days later", 23 * 24 * time.Hour, false, []notice{{"30d", "7d"}}},
				{"29 days and an hour later", 29*24*time.Hour + time.Hour, true, []notice{{"30d", "1d"}}},
				{"40 days later", 40 * 24 * time.Hour, true, nil},
			}
			for _, s := range steps {
				clock.Set(t0.Add(s.advance))
				if s.restart {
					r = start()
				}
				n, err := r.RunOnce(context.Background())
				require.NoError(t, err, s.name)
				got := rec.take()
				assert.ElementsMatch(t, s.want, got, s.name)
				assert.Equal(t, len(s.want), n, s.name)
			}
		})
	}
}

// TestRemindersMostUrgentAtTheBoundary checks which threshold a key gets
// exactly at and around the edges of the windows.
func TestRemindersMostUrgentAtTheBoundary(t *testing.T) {
	thresholds := []admin.Threshold{{Name: "12h", Within: 12 * time.Hour}, {Name: "7d", Within: 7 * 24 * time.Hour}, {Name: "2d", Within: 48 * time.Hour}}
	tests := []struct {
		name string
		left time.Duration
		want []notice
	}{
		{"just outside the longest window", 7*24*time.Hour + time.Second, nil},
		{"at the edge of the longest window", 7 * 24 * time.Hour, []notice{{"k", "7d"}}},
		{"between windows", 3 * 24 * time.Hour, []notice{{"k", "7d"}}},
		{"at the edge of the middle window", 48 * time.Hour, []notice{{"k", "2d"}}},
		{"at the edge of the shortest window", 12 * time.Hour, []notice{{"k", "12h"}}},
		{"a second before expiry", time.Second, []notice{{"k", "12h"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := store.NewMemory()
			_, _, err := apikey.Issue(context.Background(), mem, format, nil, apikey.Params{Name: "k", ExpiresAt: t0.Add(tt.left), Now: t0.Add(-time.Hour)})
			require.NoError(t, err)
			rec := &recordingNotifier{}
			r, err := admin.NewReminders(mem, admin.ReminderConfig{Thresholds: thresholds, Notifier: rec, Now: func() time.Time { return t0 }})
			require.NoError(t, err)
			_, err = r.RunOnce(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tt.want, rec.take())
		})
	}
}

func TestRemindersManyKeys(t *testing.T) {
	mem := store.NewMemory()
	for range 1203 {
		_, _, err := apikey.Issue(context.Background(), mem, format, nil, apikey.Params{Name: "k", ExpiresAt: t0.Add(time.Hour), Now: t0})
		require.NoError(t, err)
	}
	rec := &recordingNotifier{}
	r, err := admin.NewReminders(mem, admin.ReminderConfig{Notifier: rec, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	n, err := r.RunOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1203, n, "every page is read")
	assert.Len(t, rec.take(), 1203)
}

func TestNewRemindersValidates(t *testing.T) {
	tests := []struct {
		name       string
		store      store.ReminderStore
		thresholds []admin.Threshold
	}{
		{"nil store", nil, nil},
		{"empty name", store.NewMemory(), []admin.Threshold{{Name: "", Within: time.Hour}}},
		{"zero duration", store.NewMemory(), []admin.Threshold{{Name: "now", Within: 0}}},
		{"negative duration", store.NewMemory(), []admin.Threshold{{Name: "past", Within: -time.Hour}}},
		{"duplicate names", store.NewMemory(), []admin.Threshold{{Name: "x", Within: time.Hour}, {Name: "x", Within: 2 * time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := admin.NewReminders(tt.store, admin.ReminderConfig{Thresholds: tt.thresholds})
			assert.Error(t, err)
			assert.Nil(t, r)
		})
	}
}

// failingReminderStore fails every ExpiringKeys call.
type failingReminderStore struct{ store.ReminderStore }

var errStoreDown = errors.New("store down")

func (failingReminderStore) ExpiringKeys(context.Context, time.Time, time.Time, string, int) ([]*store.Key, error) {
	return nil, errStoreDown
}

// TestRemindersRunEndsWithContext runs Run in a goroutine, waits for its
// first pass and checks that it returns once the context is cancelled.
func TestRemindersRunEndsWithContext(t *testing.T) {
	tests := []struct {
		name  string
		store func() store.ReminderStore
	}{
		{"working store", func() store.ReminderStore { return reminderKeys(t) }},
		{"failing store", func() store.ReminderStore {
			return failingReminderStore{store.NewMemory()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			passed := make(chan struct{}, 1)
			notifier := admin.NotifierFunc(func(context.Context, *store.Key, admin.Threshold) error {
				select {
				case passed <- struct{}{}:
				default:
				}
				return nil
			})
			var errMu sync.Mutex
			var errs []error
			onError := func(err error) {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
				select {
				case passed <- struct{}{}:
				default:
				}
			}
			r, err := admin.NewReminders(tt.store(), admin.ReminderConfig{Notifier: notifier, Interval: time.Hour, Now: func() time.Time { return t0 }})
			require.NoError(t, err)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				r.Run(ctx, onError)
			}()
			select {
			case <-passed:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not make its first pass")
			}
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
			errMu.Lock()
			defer errMu.Unlock()
			for _, err := range errs {
				assert.ErrorIs(t, err, errStoreDown)
			}
		})
	}
}

// TestRemindersNotifierError checks that a failing notifier stops the pass
// and reports the error.
func TestRemindersNotifierError(t *testing.T) {
	mem := reminderKeys(t)
	rec := &recordingNotifier{fail: errors.New("mail down")}
	r, err := admin.NewReminders(mem, admin.ReminderConfig{Notifier: rec, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	n, err := r.RunOnce(context.Background())
	assert.EqualError(t, err, "mail down")
	assert.Equal(t, 0, n)
	assert.Len(t, rec.take(), 1, "the pass stops at the first failure")
}

func TestLogNotifier(t *testing.T) {
	buf := &syncBuffer{}
	n := admin.LogNotifier{Log: slogJSON(buf)}
	k := &store.Key{ID: "key_1", Name: "ci", OwnerID: alice, TenantID: "t1", ExpiresAt: t0, Last4: "abcd"}
	require.NoError(t, n.NotifyExpiring(context.Background(), k, admin.Threshold{Name: "7d", Within: 7 * 24 * time.Hour}))
	events := logEvents(t, buf)
	require.Len(t, events, 1)
	assert.Equal(t, "gatehouse.key.expiring", events[0]["msg"])
	assert.Equal(t, "WARN", events[0]["level"])
	assert.Equal(t, "key_1", events[0]["key_id"])
	assert.Equal(t, "7d", events[0]["threshold"])
	assert.Equal(t, "2026-03-01T15:04:05Z", events[0]["expires_at"])
}
