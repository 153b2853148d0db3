package admin

import (
	"net/url"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// WebhookJSON is an endpoint as the API returns it: never its secret.
type WebhookJSON struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Status         string     `json:"status"` // "enabled" or "disabled"
	Failures       int        `json:"consecutive_failures"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
}

// WebhookToJSON converts an endpoint for a response.
func WebhookToJSON(e *store.WebhookEndpoint) WebhookJSON {
	evs := e.Events
	if evs == nil {
		evs = []string{}
	}
	status := "enabled"
	if !e.DisabledAt.IsZero() {
		status = "disabled"
	}
	return WebhookJSON{ID: e.ID, URL: e.URL, Events: evs, Status: status, Failures: e.Failures, CreatedBy: e.CreatedBy,
		CreatedAt: e.CreatedAt.UTC(), DisabledAt: timePtr(e.DisabledAt), DisabledReason: e.DisabledReason}
}

// DeliveryJSON is a delivery as the API returns it: its state, never its
// payload's signature.
type DeliveryJSON struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"` // the webhook-id header
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // pending, delivered or failed
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// DeliveryToJSON converts a delivery for a response.
func DeliveryToJSON(d *store.WebhookDelivery) DeliveryJSON {
	return DeliveryJSON{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status(), Attempts: d.Attempts,
		CreatedAt: d.CreatedAt.UTC(), NextAttemptAt: timePtr(d.NextAt), LastAttemptAt: timePtr(d.LastAttemptAt),
		LastStatus: d.LastStatus, LastError: d.LastError, DeliveredAt: timePtr(d.DeliveredAt)}
}

// redactURL drops a URL's query and user info, which may hold a token,
// for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
