package store

import (
	"context"
	"time"
)

// Org is an organization (a tenant): its ID is the TenantID of its users
// and keys. Tenants need no Org record; one gives the tenant a name and,
// optionally, a key expiry policy of its own.
type Org struct {
	ID        string
	Name      string
	Policy    *OrgPolicy // nil: the application's default policy applies
	CreatedAt time.Time
}

// Clone returns a deep copy of o.
func (o *Org) Clone() *Org {
	c := *o
	if o.Policy != nil {
		p := *o.Policy
		c.Policy = &p
	}
	return &c
}

// OrgPolicy is an organization's key expiry policy. The admin package
// validates and enforces it; stores keep it as given.
type OrgPolicy struct {
	RequireExpiry       bool
	MaxLifetimeDays     int // 0: no cap; at most 400 (admin.MaxLifetimeDaysCap)
	DefaultLifetimeDays int // 0: no default
	UpdatedAt           time.Time
	UpdatedBy           string // the user who set it
}

// OrgFilter selects organizations for [OrgStore.ListOrgs], in ID order.
type OrgFilter struct {
	After string // cursor: the last ID of the previous page
	Limit int    // as [PageLimit]: 0 means 100; capped at 1000
}

// OrgUpdate holds the changes [OrgStore.UpdateOrg] makes; nil fields are
// left as they are.
type OrgUpdate struct {
	Name   *string
	Policy *OrgPolicy // sets the policy
	// ClearPolicy removes the policy. It wins over Policy when both are
	// given.
	ClearPolicy bool
}

// OrgStore persists organizations. Every method is safe for concurrent
// use; returned records are the caller's own copies.
type OrgStore interface {
	// CreateOrg stores o. ErrConflict if its ID exists.
	CreateOrg(ctx context.Context, o *Org) error
	// OrgByID returns the organization, or ErrNotFound.
	OrgByID(ctx context.Context, id string) (*Org, error)
	// ListOrgs returns up to f.Limit organizations with IDs after f.After,
	// in ID order, and the cursor of the next page ("" at the end).
	ListOrgs(ctx context.Context, f OrgFilter) (orgs []*Org, next string, err error)
	// UpdateOrg applies u and returns the organization as it now is, or
	// ErrNotFound. An empty update returns it unchanged.
	UpdateOrg(ctx context.Context, id string, u OrgUpdate) (*Org, error)
}
