package admin

import (
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// KeyJSON is a key record as the management API returns it: the last 4
// characters, never the key or its digest.
type KeyJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Prefix      string            `json:"prefix"`
	Last4       string            `json:"last4"`
	OwnerID     string            `json:"owner_id"`
	TenantID    string            `json:"tenant_id"`
	Scopes      []string          `json:"scopes"`
	Role        string            `json:"role,omitempty"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	LastUsedAt  *time.Time        `json:"last_used_at"`
	RevokedAt   *time.Time        `json:"revoked_at"`
	Status      string            `json:"status"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// AllowedCIDRs are the networks the key may be used from; empty: any.
	AllowedCIDRs []string `json:"allowed_cidrs"`
	// Credits is the key's allowance of uses; null: unlimited. Remaining
	// is the count the record holds (see [CreditsJSON]).
	Credits *CreditsJSON `json:"credits"`
}

// StatusOf is a key's status at now: "revoked", "expired" or "active".
func StatusOf(k *store.Key, now time.Time) string {
	switch {
	case k.Revoked():
		return "revoked"
	case k.ExpiredAt(now):
		return "expired"
	}
	return "active"
}

// ToJSON converts a record for a response at now (which decides the
// status: active, expired or revoked).
func ToJSON(k *store.Key, now time.Time) KeyJSON {
	status := StatusOf(k, now)
	sc := k.Scopes
	if sc == nil {
		sc = []string{}
	}
	return KeyJSON{
		ID: k.ID, Name: k.Name, Description: k.Description, Prefix: k.Prefix, Last4: k.Last4,
		OwnerID: k.OwnerID, TenantID: k.TenantID, Scopes: sc, Role: k.Role, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: timePtr(k.ExpiresAt), LastUsedAt: timePtr(k.LastUsedAt),
		RevokedAt: timePtr(k.RevokedAt), Status: status, Metadata: k.Metadata,
		AllowedCIDRs: cidrStrings(k.AllowedNetworks), Credits: creditsJSON(k.Credits, now),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
