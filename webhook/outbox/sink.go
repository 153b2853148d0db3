package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook"
)

// SinkConfig holds the optional settings of [NewSink].
type SinkConfig struct {
	// Timeout bounds the write of one event. The write does not end with
	// the caller's context: an event whose change was made is stored
	// even when the request that made it was abandoned meanwhile.
	// Default 5 seconds.
	Timeout time.Duration
	// Now is the clock for events without a time. Default time.Now.
	Now func() time.Time
}

// Sink is an [admin.EventSink] that stores each event in the outbox. It
// is safe for concurrent use.
type Sink struct {
	store     store.WebhookStore
	timeout   time.Duration
	now       func() time.Time
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
	return &Sink{store: s, timeout: cfg.Timeout, now: cfg.Now}, nil
}

// OnEnqueue sets a function called after an event was stored for at least
// one endpoint, such as [Dispatcher.Wake].
func (s *Sink) OnEnqueue(f func()) { s.onEnqueue.Store(&f) }

// Emit implements [admin.EventSink]: it returns once the event is stored
// for every endpoint that wants it. The event is written just after the
// change that caused it, not in the change's transaction: a process that
// dies between the two loses that one event.
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
	n, err := s.store.EnqueueWebhookEvent(ctx, store.WebhookEvent{ID: store.NewID("msg"), Type: e.Type, Payload: body, At: e.At})
	if err != nil {
		return err
	}
	if f := s.onEnqueue.Load(); n > 0 && f != nil {
		(*f)()
	}
	return nil
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
