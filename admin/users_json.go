package admin

import (
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// UserJSON is a user as the users API returns it: never the password or
// its hash, only whether there is one.
type UserJSON struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Level    string `json:"level"`
	// Scopes bound the user's keys; null means no bound beyond the
	// creator's scopes.
	Scopes      []string  `json:"scopes"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
}

// UserToJSON converts a user record for a response.
func UserToJSON(u *store.User) UserJSON {
	return UserJSON{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Level: string(u.Level),
		Scopes: u.Scopes, HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt.UTC()}
}

// OrgJSON is an organization as the organizations API returns it.
type OrgJSON struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	CreatedAt time.Time   `json:"created_at"`
	Policy    *PolicyJSON `json:"policy"` // null: the default policy applies
}

// PolicyJSON is a key expiry policy in the organizations API.
type PolicyJSON struct {
	RequireExpiry       bool       `json:"require_expiry"`
	MaxLifetimeDays     int        `json:"max_lifetime_days"`
	DefaultLifetimeDays int        `json:"default_lifetime_days"`
	UpdatedAt           *time.Time `json:"updated_at,omitempty"`
	UpdatedBy           string     `json:"updated_by,omitempty"`
}

// OrgToJSON converts an organization record for a response.
func OrgToJSON(o *store.Org) OrgJSON {
	out := OrgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt.UTC()}
	if p := o.Policy; p != nil {
		out.Policy = &PolicyJSON{RequireExpiry: p.RequireExpiry, MaxLifetimeDays: p.MaxLifetimeDays,
			DefaultLifetimeDays: p.DefaultLifetimeDays, UpdatedAt: timePtr(p.UpdatedAt), UpdatedBy: p.UpdatedBy}
	}
	return out
}

// PolicyView is the answer of the policy endpoint: the organization's own
// policy (null when it has none) and the policy its keys follow.
type PolicyView struct {
	OrgID     string      `json:"org_id"`
	Policy    *PolicyJSON `json:"policy"`
	Effective PolicyJSON  `json:"effective"`
	// Source is "organization" when the organization's own policy is in
	// force, "default" when the application's is.
	Source string `json:"source"`
}
