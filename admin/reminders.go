package admin

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Threshold is a reminder before expiry: Name is what the store remembers
// ("7d"), Within how long before expiry it fires.
type Threshold struct {
	Name   string
	Within time.Duration
}

// Notifier is told about a key that expires within a threshold.
type Notifier interface {
	NotifyExpiring(ctx context.Context, k *store.Key, t Threshold) error
}

// NotifierFunc adapts a function to [Notifier].
type NotifierFunc func(ctx context.Context, k *store.Key, t Threshold) error

// NotifyExpiring calls f.
func (f NotifierFunc) NotifyExpiring(ctx context.Context, k *store.Key, t Threshold) error {
	return f(ctx, k, t)
}

// LogNotifier logs a gatehouse.key.expiring event through log/slog.
type LogNotifier struct{ Log *slog.Logger }

// NotifyExpiring implements [Notifier].
func (n LogNotifier) NotifyExpiring(ctx context.Context, k *store.Key, t Threshold) error {
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.key.expiring",
		slog.String("key_id", k.ID), slog.String("key_name", k.Name), slog.String("owner_id", k.OwnerID),
		slog.String("tenant_id", k.TenantID), slog.Time("expires_at", k.ExpiresAt), slog.String("threshold", t.Name))
	return nil
}

// ReminderConfig holds the optional settings of [NewReminders].
type ReminderConfig struct {
	// Thresholds are the reminders to send. Default 7 days and 1 day.
	Thresholds []Threshold
	// Notifier receives reminders. Default [LogNotifier] on slog.Default().
	Notifier Notifier
	// Interval is how often Run checks. Default 1 hour.
	Interval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Reminders finds keys about to expire and notifies once per key and
// threshold: a key inside several thresholds at once gets only the most
// urgent reminder. What was sent is remembered in the store, so restarts
// and other processes do not repeat it. Delivery is at most once: the
// reminder is recorded before the notifier runs, so that two processes
// never both send it, and a notifier that fails does not get a second
// try for that threshold. It is safe for concurrent use.
type Reminders struct {
	store      store.ReminderStore
	thresholds []Threshold // longest first
	notify     Notifier
	interval   time.Duration
	now        func() time.Time
}

// NewReminders returns a reminder component over s.
func NewReminders(s store.ReminderStore, cfg ReminderConfig) (*Reminders, error) {
	if s == nil {
		return nil, errors.New("admin: reminders: nil store")
	}
	r := &Reminders{store: s, thresholds: slices.Clone(cfg.Thresholds), notify: cfg.Notifier, interval: cfg.Interval, now: cfg.Now}
	if len(r.thresholds) == 0 {
		r.thresholds = []Threshold{{"7d", 7 * 24 * time.Hour}, {"1d", 24 * time.Hour}}
	}
	seen := map[string]bool{}
	for _, t := range r.thresholds {
		if t.Name == "" || t.Within <= 0 || seen[t.Name] {
			return nil, errors.New("admin: reminders: thresholds need distinct names and positive durations")
		}
		seen[t.Name] = true
	}
	slices.SortFunc(r.thresholds, func(a, b Threshold) int { return cmp.Compare(b.Within, a.Within) })
	if r.notify == nil {
		r.notify = LogNotifier{}
	}
	if r.interval <= 0 {
		r.interval = time.Hour
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// RunOnce sends the reminders due now and returns how many it sent.
func (r *Reminders) RunOnce(ctx context.Context) (int, error) {
	now := r.now()
	sent := 0
	after := ""
	for {
		keys, err := r.store.ExpiringKeys(ctx, now, now.Add(r.thresholds[0].Within), after, 500)
		if err != nil {
			return sent, err
		}
		for _, k := range keys {
			t := r.mostUrgent(k.ExpiresAt.Sub(now))
			first, err := r.store.MarkReminded(ctx, k.ID, t.Name, now)
			if err != nil {
				return sent, err
			}
			if !first {
				continue
			}
			if err := r.notify.NotifyExpiring(ctx, k, t); err != nil {
				return sent, err
			}
			sent++
		}
		if len(keys) < 500 {
			return sent, nil
		}
		after = keys[len(keys)-1].ID
	}
}

// mostUrgent returns the smallest threshold that left fits in.
func (r *Reminders) mostUrgent(left time.Duration) Threshold {
	t := r.thresholds[0]
	for _, c := range r.thresholds[1:] {
		if left <= c.Within {
			t = c
		}
	}
	return t
}

// Run calls RunOnce at once and then every interval until ctx is done,
// passing errors to onError (nil: ignored). It blocks; run it in a
// goroutine you own.
func (r *Reminders) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
