package console

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse-go/gatehouse/store"
)

func TestRowStatusAndBadge(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		key      store.Key
		status   string
		badge    string
		access   string
		lastUsed string
	}{
		{"no expiry", store.Key{Scopes: []string{"read", "write"}}, "active", "", "read write", "never"},
		{"far expiry", store.Key{Role: "editor", ExpiresAt: now.Add(30 * 24 * time.Hour)}, "active", "", "role editor", "never"},
		{"six and a half days", store.Key{ExpiresAt: now.Add(6*24*time.Hour + 12*time.Hour)}, "expiring", "expires in 6 days", "", "never"},
		{"exactly seven days", store.Key{ExpiresAt: now.Add(7 * 24 * time.Hour)}, "expiring", "expires in 7 days", "", "never"},
		{"seven days and a second", store.Key{ExpiresAt: now.Add(7*24*time.Hour + time.Second)}, "active", "", "", "never"},
		{"one day", store.Key{ExpiresAt: now.Add(24 * time.Hour)}, "expiring", "expires in 1 day", "", "never"},
		{"five hours", store.Key{ExpiresAt: now.Add(5 * time.Hour)}, "expiring", "expires in 5 hours", "", "never"},
		{"minutes", store.Key{ExpiresAt: now.Add(5 * time.Minute)}, "expiring", "expires within the hour", "", "never"},
		{"expired at the instant", store.Key{ExpiresAt: now}, "expired", "", "", "never"},
		{"revoked wins", store.Key{ExpiresAt: now.Add(time.Hour), RevokedAt: now.Add(-time.Hour)}, "revoked", "", "", "never"},
		{"used minutes ago", store.Key{LastUsedAt: now.Add(-3 * time.Minute)}, "active", "", "", "3 minutes ago"},
		{"used an hour ago", store.Key{LastUsedAt: now.Add(-time.Hour)}, "active", "", "", "1 hour ago"},
		{"used long ago", store.Key{LastUsedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, "active", "", "", "2 Jan 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rowOf(&tt.key, now)
			assert.Equal(t, tt.status, r.Status)
			assert.Equal(t, tt.badge, r.Badge)
			assert.Equal(t, tt.access, r.Access)
			assert.Equal(t, tt.lastUsed, r.LastUsedLabel)
			assert.Equal(t, tt.status == "active" || tt.status == "expiring", r.Active())
		})
	}
}

func TestFieldMessage(t *testing.T) {
	tests := []struct {
		label, raw, want string
	}{
		{"name", "is required", "Name is required."},
		{"email", "must be an address like ada@example.com", "Email must be an address like ada@example.com."},
		{"ID", "an organization with this ID exists", "An organization with this ID exists."},
		{"email", "another user has this address", "Another user has this address."},
		{"this role", "is not a known role", "This role is not a known role."},
		{"id", "the key is revoked", "The key is revoked."},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			assert.Equal(t, tt.want, fieldMessage(tt.label, tt.raw))
		})
	}
}
