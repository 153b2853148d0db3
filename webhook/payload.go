package webhook

import "time"

// Payload is the JSON body of every Gatehouse key event. It names the key
// (ID, name, owner, tenant, prefix and last 4 characters, as the
// management API shows them) and never carries the key, its digest or any
// other secret.
type Payload struct {
	// Type is the event: key.created, key.updated, key.rotated,
	// key.revoked, key.expiring or key.leaked.
	Type string `json:"type"`
	// Timestamp is when the event happened (RFC 3339, UTC).
	Timestamp time.Time `json:"timestamp"`
	Data      KeyData   `json:"data"`
}

// KeyData describes the key of an event, as it was after the event.
type KeyData struct {
	KeyID     string     `json:"key_id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Last4     string     `json:"last4"`
	OwnerID   string     `json:"owner_id"`
	TenantID  string     `json:"tenant_id"`
	Scopes    []string   `json:"scopes,omitempty"`
	Role      string     `json:"role,omitempty"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	// ActorID is who caused the event; empty for the system (reminders,
	// leak reports).
	ActorID string `json:"actor_id,omitempty"`
	// OldKeyID is the rotated key (key.rotated).
	OldKeyID string `json:"old_key_id,omitempty"`
	// DaysLeft is the whole days before expiry (key.expiring).
	DaysLeft *int `json:"days_left,omitempty"`
	// LeakAction is "revoked" or "flagged", and LeakURL where the key was
	// found (key.leaked).
	LeakAction string `json:"leak_action,omitempty"`
	LeakURL    string `json:"leak_url,omitempty"`
}
