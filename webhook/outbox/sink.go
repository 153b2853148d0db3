package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook"
)

// SinkConfig holds the optional settings of [NewSink].
type SinkConfig struct {
	// Timeout bounds the write of one event, retries included. The write
	// does not end with the caller's context: an event whose change was
	// made is stored even when the request that made it was abandoned
	// meanwhile. Default 5 seconds.
	Timeout time.Duration
	// Attempts is how many times Emit tries to store an event before it
	// returns the error (which the key manager logs as
	// gatehouse.event.failed, at ERROR). It waits 100 ms after the first
	// failure and twice as long after each next one, within Timeout.
	// Default 5.
	Attempts int
	// Now is the clock for events without a time. Default time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, between attempts. Default a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sink is an [admin.EventSink] that stores each event in the outbox. It
// is safe for concurrent use.
type Sink struct {
	store     store.WebhookStore
	timeout   time.Duration
	attempts  int
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error
	onEnqueue atomic.Pointer[func()]
}

var _ admin.EventSink = (*Sink)(nil)

// NewSink returns a sink that enqueues into s.
func NewSink(s store.WebhookStore, cfg SinkConfig) (*Sink, error) {
	if s == nil {
		return nil, errors.New("outbox: nil store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Sink{store: s, timeout: cfg.Timeout, attempts: cfg.Attempts, now: cfg.Now, sleep: cfg.Sleep}, nil
}

// OnEnqueue sets a function called after an event was stored for at least
// one endpoint, such as [Dispatcher.Wake].
func (s *Sink) OnEnqueue(f func()) { s.onEnqueue.Store(&f) }

// Emit implements [admin.EventSink]: it returns once the event is stored
// for every endpoint that wants it, trying again (under the same event
// ID, so never twice) after a failure, up to Attempts times within
// Timeout. The event is written just after the change that caused it,
// not in the change's transaction: when every attempt fails, or the
// process dies between the change and the write, that one event is lost
// (the change stands, and the audit log records it).
func (s *Sink) Emit(ctx context.Context, e admin.Event) error {
	if e.Key == nil || e.Type == "" {
		return errors.New("outbox: event without a type or key")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	body, err := json.Marshal(PayloadOf(e))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	ev := store.WebhookEvent{ID: store.NewID("msg"), Type: e.Type, Payload: body, At: e.At}
	wait := 100 * time.Millisecond
	for i := 1; ; i++ {
		n, err := s.store.EnqueueWebhookEvent(ctx, ev)
		if err == nil {
			// After a retry n may be 0 although the event is stored (a
			// write reported as failed may have committed): wake anyway.
			if f := s.onEnqueue.Load(); (n > 0 || i > 1) && f != nil {
				(*f)()
			}
			return nil
		}
		if i >= s.attempts || ctx.Err() != nil || s.sleep(ctx, wait) != nil {
			return fmt.Errorf("outbox: event %s not stored after %d attempts: %w", e.Type, i, err)
		}
		wait *= 2
	}
}

// PayloadOf returns the webhook body of an event: the key's ID, name,
// prefix, last 4 characters, owner, tenant, scopes or role, expiry and
// revocation, and the event's own fields. Never the key's digest.
func PayloadOf(e admin.Event) webhook.Payload {
	k := e.Key
	d := webhook.KeyData{
		KeyID: k.ID, Name: k.Name, Prefix: k.Prefix, Last4: k.Last4, OwnerID: k.OwnerID, TenantID: k.TenantID,
		Scopes: k.Scopes, Role: k.Role, ExpiresAt: timePtr(k.ExpiresAt), RevokedAt: timePtr(k.RevokedAt),
		ActorID: e.ActorID, OldKeyID: e.OldKeyID, LeakAction: e.LeakAction, LeakURL: e.LeakURL,
	}
	if e.Type == admin.EventKeyExpiring {
		days := e.DaysLeft
		d.DaysLeft = &days
	}
	return webhook.Payload{Type: e.Type, Timestamp: e.At.UTC().Truncate(time.Millisecond), Data: d}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
