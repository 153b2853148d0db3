package store

import (
	"context"
	"slices"
	"time"
)

// WebhookEndpoint is a URL that receives key events, signed with its
// secret. The secret is stored as it is (HMAC needs it to sign): anyone
// who reads the database can forge this endpoint's messages, so the
// database is as sensitive as the secrets it holds.
type WebhookEndpoint struct {
	ID     string
	URL    string
	Secret string   // "whsec_..." (see package webhook)
	Events []string // the event types it receives; empty: all
	// CreatedBy is the principal that added it.
	CreatedBy string
	CreatedAt time.Time
	// Failures counts consecutive failed attempts, and FailingSince is
	// when the first of them was made; a success, and enabling the
	// endpoint, reset both (zero Failures, zero FailingSince).
	Failures     int
	FailingSince time.Time
	// DisabledAt is when the dispatcher gave up on the endpoint (zero:
	// enabled), and DisabledReason why.
	DisabledAt     time.Time
	DisabledReason string
}

// Wants reports whether the endpoint receives events of type typ.
func (e *WebhookEndpoint) Wants(typ string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, typ)
}

// Clone returns a deep copy of e.
func (e *WebhookEndpoint) Clone() *WebhookEndpoint {
	c := *e
	c.Events = slices.Clone(e.Events)
	return &c
}

// WebhookEvent is an event to deliver: ID is the message ID every
// endpoint receives it under (webhook-id), Payload the JSON body.
type WebhookEvent struct {
	ID      string
	Type    string
	Payload []byte
	At      time.Time
}

// WebhookDelivery is one event on its way to one endpoint: the outbox row.
// It is pending while NextAt is set, delivered once DeliveredAt is, and
// failed when neither is (the dispatcher gave up).
type WebhookDelivery struct {
	ID         string
	EndpointID string
	EventID    string
	EventType  string
	Payload    []byte
	CreatedAt  time.Time
	Attempts   int
	NextAt     time.Time
	// LeaseToken is set by ClaimWebhookDeliveries; only the holder of the
	// current lease may record the attempt.
	LeaseToken    string
	LeaseUntil    time.Time
	LastAttemptAt time.Time
	LastStatus    int    // the HTTP status of the last attempt; 0: none
	LastError     string // a short reason, never a secret
	DeliveredAt   time.Time
}

// Status is "delivered", "pending" or "failed".
func (d *WebhookDelivery) Status() string {
	switch {
	case !d.DeliveredAt.IsZero():
		return "delivered"
	case !d.NextAt.IsZero():
		return "pending"
	}
	return "failed"
}

// WebhookFailures is an endpoint's current run of consecutive failed
// attempts, as [WebhookStore.RecordWebhookAttempt] returns it.
type WebhookFailures struct {
	Count int       // consecutive failed attempts; 0 after a success
	Since time.Time // when the first of them was made; zero when Count is 0
}

// WebhookAttempt is the outcome of one attempt at a delivery, for
// [WebhookStore.RecordWebhookAttempt].
type WebhookAttempt struct {
	DeliveryID string
	LeaseToken string
	At         time.Time
	Delivered  bool
	Status     int
	Error      string
	// NextAt is when to try again after a failure; zero: give up.
	NextAt time.Time
}

// WebhookStore holds webhook endpoints and the outbox of deliveries. Every
// method is safe for concurrent use, also from several processes sharing
// one database.
type WebhookStore interface {
	// CreateWebhookEndpoint stores e. ErrConflict if its ID exists.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpoint returns the endpoint with the given ID.
	WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// ListWebhookEndpoints returns every endpoint, in ID order.
	ListWebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error)
	// DeleteWebhookEndpoint removes the endpoint and its deliveries; a
	// missing endpoint is not an error.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// DisableWebhookEndpoint marks the endpoint disabled at t, and
	// reports whether this call disabled it (false: it already was).
	DisableWebhookEndpoint(ctx context.Context, id string, t time.Time, reason string) (bool, error)
	// EnableWebhookEndpoint undoes DisableWebhookEndpoint: it clears
	// DisabledAt and DisabledReason and resets Failures and FailingSince
	// to zero, and
	// reports whether this call enabled it (false: it was not disabled,
	// and nothing changed). ErrNotFound when there is no such endpoint.
	// The endpoint's pending deliveries are claimed again when due;
	// failed ones stay failed, and events enqueued while it was disabled
	// never reached it.
	EnableWebhookEndpoint(ctx context.Context, id string) (bool, error)

	// EnqueueWebhookEvent durably adds one pending delivery of ev, due
	// at ev.At, for every enabled endpoint that wants ev.Type, in one
	// transaction, and returns how many. Enqueueing an event ID twice
	// adds nothing for the endpoints that have it.
	EnqueueWebhookEvent(ctx context.Context, ev WebhookEvent) (int, error)
	// ClaimWebhookDeliveries leases up to limit pending deliveries due at
	// now, of enabled endpoints and not leased by anyone else, until
	// now+lease, oldest first, each with a new LeaseToken. Two callers
	// never hold the same delivery at once.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// RecordWebhookAttempt records an attempt under its lease: the
	// delivery's attempt count, status and next time, the lease released,
	// and the endpoint's run of consecutive failures (reset on success;
	// on failure one more, and FailingSince set to a.At if the run starts
	// with it), which it returns. ErrNotFound when the delivery is gone
	// or the lease is no longer a.LeaseToken.
	RecordWebhookAttempt(ctx context.Context, a WebhookAttempt) (WebhookFailures, error)
	// ReleaseWebhookDelivery ends the lease leaseToken on the delivery
	// without recording an attempt, so that it can be claimed again at
	// once (a dispatcher that stops releases what it claimed and did not
	// attempt). ErrNotFound when the delivery is gone or the lease is no
	// longer leaseToken.
	ReleaseWebhookDelivery(ctx context.Context, id, leaseToken string) error
	// ListWebhookDeliveries returns up to limit (see [PageLimit]) of the
	// endpoint's deliveries with IDs before before ("": from the newest),
	// newest first, and the cursor of the next page ("" at the end).
	ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*WebhookDelivery, string, error)
	// PruneWebhookDeliveries removes the deliveries that are done
	// (delivered, or failed for good) and whose last attempt was before
	// t, and returns how many. Pending deliveries are never removed.
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error)
}
