package admin

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook"
)

// EventTypes are the event types a webhook endpoint may subscribe to.
var EventTypes = []string{EventKeyCreated, EventKeyUpdated, EventKeyRotated, EventKeyRevoked, EventKeyExpiring, EventKeyLeaked}

// WebhookConfig holds the optional settings of [NewWebhooks].
type WebhookConfig struct {
	// Logger receives the audit events gatehouse.webhook.added,
	// gatehouse.webhook.removed and gatehouse.webhook.enabled. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Webhooks manages webhook endpoints: the rules behind the webhooks API
// and the CLI. It does no permission check: [NewWebhookHandler] lets only
// super admins in. It is safe for concurrent use.
type Webhooks struct {
	store store.WebhookStore
	log   *slog.Logger
	now   func() time.Time
}

// NewWebhooks returns the endpoint manager over s.
func NewWebhooks(s store.WebhookStore, cfg WebhookConfig) (*Webhooks, error) {
	if s == nil {
		return nil, errors.New("admin: nil webhook store")
	}
	w := &Webhooks{store: s, log: cfg.Logger, now: cfg.Now}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Add creates an endpoint for url (https, or http on loopback) that
// receives events (nil: all of them), and returns it with its signing
// secret, "whsec_..." and shown this once. by is who adds it.
func (w *Webhooks) Add(ctx context.Context, by, url string, events []string) (*store.WebhookEndpoint, string, error) {
	v := &ValidationError{Fields: map[string]string{}}
	if webhook.CheckURL(url) != nil {
		v.Fields["url"] = "must be an https URL with a host and no user info (http only to localhost), at most 2048 bytes"
	}
	var evs []string
	for _, e := range events {
		if !slices.Contains(EventTypes, e) {
			v.Fields["events"] = "each must be one of key.created, key.updated, key.rotated, key.revoked, key.expiring, key.leaked"
			break
		}
		if !slices.Contains(evs, e) {
			evs = append(evs, e)
		}
	}
	if len(v.Fields) > 0 {
		return nil, "", v
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	slices.Sort(evs)
	e := &store.WebhookEndpoint{ID: store.NewID("whe"), URL: url, Secret: secret, Events: evs, CreatedBy: by, CreatedAt: w.now()}
	if err := w.store.CreateWebhookEndpoint(ctx, e); err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.webhook.added", slog.String("endpoint_id", e.ID),
		slog.String("url", redactURL(url)), slog.Any("events", evs), slog.String("actor_id", by))
	return e, secret, nil
}

// List returns every endpoint, in ID order.
func (w *Webhooks) List(ctx context.Context) ([]*store.WebhookEndpoint, error) {
	es, err := w.store.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	return es, nil
}

// Remove deletes the endpoint and its deliveries: [ErrNotFound] when
// there is none.
func (w *Webhooks) Remove(ctx context.Context, by, id string) error {
	if _, err := w.store.WebhookEndpoint(ctx, id); err != nil {
		return storeError(err)
	}
	if err := w.store.DeleteWebhookEndpoint(ctx, id); err != nil {
		return gatehouse.Unavailable(err)
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.webhook.removed", slog.String("endpoint_id", id), slog.String("actor_id", by))
	return nil
}

// Enable enables an endpoint that the dispatcher disabled, keeping its
// secret, and resets its consecutive failures; it returns the endpoint
// and whether this call enabled it (false: it was not disabled, and
// nothing changed). Its pending deliveries are sent when due; failed ones
// stay failed, and events emitted while it was disabled never reach it.
// [ErrNotFound] when there is no such endpoint. by is who enables it.
func (w *Webhooks) Enable(ctx context.Context, by, id string) (*store.WebhookEndpoint, bool, error) {
	enabled, err := w.store.EnableWebhookEndpoint(ctx, id)
	if err != nil {
		return nil, false, storeError(err)
	}
	if enabled {
		w.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.webhook.enabled", slog.String("endpoint_id", id), slog.String("actor_id", by))
	}
	e, err := w.store.WebhookEndpoint(ctx, id)
	if err != nil {
		return nil, false, storeError(err)
	}
	return e, enabled, nil
}

// Deliveries returns a page of the endpoint's deliveries, newest first,
// and the cursor of the next page: [ErrNotFound] when there is no such
// endpoint, a [*ValidationError] when before is neither "" nor a cursor
// that Deliveries returned (a delivery ID).
func (w *Webhooks) Deliveries(ctx context.Context, id, before string, limit int) ([]*store.WebhookDelivery, string, error) {
	if before != "" && !isDeliveryID(before) {
		return nil, "", invalid("before", "must be the next cursor of a previous page (a delivery ID, whd_...)")
	}
	if _, err := w.store.WebhookEndpoint(ctx, id); err != nil {
		return nil, "", storeError(err)
	}
	ds, next, err := w.store.ListWebhookDeliveries(ctx, id, before, limit)
	if err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	return ds, next, nil
}

// isDeliveryID reports whether s has the shape of a delivery ID (see
// [store.IsID]).
func isDeliveryID(s string) bool { return store.IsID("whd", s) }
