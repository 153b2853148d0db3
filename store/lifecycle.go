package store

import (
	"context"
	"time"
)

// KeyUsage is one last-used time to record for a key.
type KeyUsage struct {
	KeyID string
	At    time.Time
}

// UsageStore records when keys were last used. Gatehouse never writes on
// the request path: usage is coalesced in memory and flushed in batches.
type UsageStore interface {
	// TouchKeys sets each key's LastUsedAt to At when At is later than
	// what is stored. Missing keys are skipped, not an error.
	TouchKeys(ctx context.Context, usage []KeyUsage) error
}

// ReminderStore remembers which expiry reminders were sent, so that a
// restart does not send them again.
type ReminderStore interface {
	// ExpiringKeys returns the keys that are not revoked and expire after
	// from and at or before to, with IDs after afterID, in ID order, at
	// most limit of them (0 means 100, capped at 1000).
	ExpiringKeys(ctx context.Context, from, to time.Time, afterID string, limit int) ([]*Key, error)
	// MarkReminded records that the reminder named threshold (such as "7d")
	// was sent for the key. It returns false when it was already recorded,
	// so that of several processes only one sends it.
	MarkReminded(ctx context.Context, keyID, threshold string, at time.Time) (bool, error)
}
