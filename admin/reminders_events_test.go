package admin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestRemindersEmitExpiringEvents: the 7-day and the 1-day reminders are
// key.expiring events with the days left, and still log lines.
func TestRemindersEmitExpiringEvents(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2031, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := testclock.New(t0)
	s := store.NewMemory()
	k := &store.Key{ID: "key_1", Digest: store.Digest{1}, Name: "ci", CreatedAt: t0, ExpiresAt: t0.Add(8 * 24 * time.Hour)}
	require.NoError(t, s.CreateKey(ctx, k))
	var events []admin.Event
	sink := admin.EventSinkFunc(func(_ context.Context, e admin.Event) error { events = append(events, e); return nil })
	var logs bytes.Buffer
	r, err := admin.NewReminders(s, admin.ReminderConfig{Now: clock.Now, Notifier: admin.Notifiers(
		admin.LogNotifier{Log: slog.New(slog.NewTextHandler(&logs, nil))},
		admin.EventNotifier{Events: sink, Now: clock.Now})})
	require.NoError(t, err)
	tests := []struct {
		advance time.Duration
		sent    int
		days    []int
	}{
		{0, 0, nil},
		{25 * time.Hour, 1, []int{6}},                // 6 days 23 h left: the 7-day reminder
		{time.Hour, 0, []int{6}},                     // sent once
		{6*24*time.Hour - time.Hour, 1, []int{6, 0}}, // 23 h left: the 1-day reminder
	}
	for i, tt := range tests {
		clock.Advance(tt.advance)
		n, err := r.RunOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, tt.sent, n, "step %d", i)
		var days []int
		for _, e := range events {
			assert.Equal(t, admin.EventKeyExpiring, e.Type)
			assert.Equal(t, "key_1", e.Key.ID)
			days = append(days, e.DaysLeft)
		}
		assert.Equal(t, tt.days, days, "step %d", i)
	}
	assert.Equal(t, 2, bytes.Count(logs.Bytes(), []byte("gatehouse.key.expiring")), "the log events stay")
}

func TestNotifiersJoinErrors(t *testing.T) {
	boom := errors.New("boom")
	called := 0
	n := admin.Notifiers(
		admin.NotifierFunc(func(context.Context, *store.Key, admin.Threshold) error { return boom }),
		admin.NotifierFunc(func(context.Context, *store.Key, admin.Threshold) error { called++; return nil }))
	err := n.NotifyExpiring(context.Background(), &store.Key{}, admin.Threshold{})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 1, called, "the second is told even when the first fails")
	assert.Error(t, admin.EventNotifier{}.NotifyExpiring(context.Background(), &store.Key{}, admin.Threshold{}))
}
