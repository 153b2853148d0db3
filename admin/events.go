package admin

import (
	"context"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Event types, as webhooks name them.
const (
	EventKeyCreated  = "key.created"
	EventKeyUpdated  = "key.updated"
	EventKeyRotated  = "key.rotated"
	EventKeyRevoked  = "key.revoked"
	EventKeyExpiring = "key.expiring"
	EventKeyLeaked   = "key.leaked"
)

// Event is a change in a key's life, for an [EventSink]. Key is the record
// as it is after the change; a record never holds the key's value, and
// sinks must not publish its digest.
type Event struct {
	Type    string
	Key     *store.Key
	ActorID string    // who acted; empty for the system (reminders)
	At      time.Time // when it happened
	// OldKeyID is the rotated key's ID (key.rotated only).
	OldKeyID string
	// DaysLeft is the whole days before expiry (key.expiring only).
	DaysLeft int
	// LeakAction is "revoked" or "flagged", and LeakURL where the key was
	// found (key.leaked only).
	LeakAction string
	LeakURL    string
}

// EventSink receives key events after they happen, such as a webhook
// outbox. Emit is called after the change is stored, outside its
// transaction; an error is logged (gatehouse.event.failed, at ERROR) and
// does not undo the change, so a sink that must not lose events stores
// them durably before it returns, and retries a failed write itself. A
// process that dies between the change and Emit loses that event.
type EventSink interface {
	Emit(ctx context.Context, e Event) error
}

// EventSinkFunc adapts a function to [EventSink].
type EventSinkFunc func(ctx context.Context, e Event) error

// Emit implements [EventSink].
func (f EventSinkFunc) Emit(ctx context.Context, e Event) error { return f(ctx, e) }
