package admin

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// EventNotifier is a [Notifier] that emits a key.expiring [Event] (for
// webhooks) with the whole days left before expiry, rounded down.
type EventNotifier struct {
	Events EventSink
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// NotifyExpiring implements [Notifier].
func (n EventNotifier) NotifyExpiring(ctx context.Context, k *store.Key, _ Threshold) error {
	if n.Events == nil {
		return errors.New("admin: event notifier without a sink")
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	at := now()
	days := max(int(k.ExpiresAt.Sub(at)/(24*time.Hour)), 0)
	return n.Events.Emit(ctx, Event{Type: EventKeyExpiring, Key: k, At: at, DaysLeft: days})
}

// Notifiers returns a [Notifier] that tells each of ns in turn, all of
// them even when one fails, and returns their errors joined.
func Notifiers(ns ...Notifier) Notifier {
	return NotifierFunc(func(ctx context.Context, k *store.Key, t Threshold) error {
		var errs []error
		for _, n := range ns {
			if err := n.NotifyExpiring(ctx, k, t); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}
