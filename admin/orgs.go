package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// NewOrg describes an organization to create.
type NewOrg struct {
	ID   string // default: store.NewID("org")
	Name string
}

const maxOrgID = 64

// checkOrgID accepts 1 to 64 letters, digits, '_', '-' and '.': an ID
// that is safe in a URL path and a log line.
func checkOrgID(v *ValidationError, id string) {
	ok := id != "" && len(id) <= maxOrgID
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
	}
	if !ok {
		v.Fields["id"] = "must be 1 to 64 letters, digits, _, - or ."
	}
}

// isSuperAdmin reports whether a is a super admin holding the admin scope.
func (m *Manager) isSuperAdmin(a Actor) bool {
	return a.Level == store.LevelSuperAdmin && m.isAdmin(a)
}

var errSuperAdminOnly = &forbidden{"Only a super admin with the admin scope may list or create organizations"}

// ListOrgs returns a page of organizations in ID order and the next
// cursor. Super admins (with the admin scope) only; others get
// ErrForbidden.
func (m *Manager) ListOrgs(ctx context.Context, p *gatehouse.Principal, after string, limit int) ([]*store.Org, string, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if !m.isSuperAdmin(a) {
		return nil, "", errSuperAdminOnly
	}
	if m.orgs == nil {
		return []*store.Org{}, "", nil
	}
	orgs, next, err := m.orgs.ListOrgs(ctx, store.OrgFilter{After: after, Limit: limit})
	if err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	return orgs, next, nil
}

// GetOrg returns the actor's own organization, or any for a super admin;
// another organization is ErrNotFound.
func (m *Manager) GetOrg(ctx context.Context, p *gatehouse.Principal, id string) (*store.Org, error) {
	_, o, err := m.loadOrg(ctx, p, id)
	return o, err
}

// loadOrg resolves p to an actor and returns the organization id as that
// actor may see it: ErrNotFound for another organization.
func (m *Manager) loadOrg(ctx context.Context, p *gatehouse.Principal, id string) (Actor, *store.Org, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return Actor{}, nil, err
	}
	if !canSee(a, id) || m.orgs == nil || id == "" {
		return Actor{}, nil, ErrNotFound
	}
	o, err := m.orgs.OrgByID(ctx, id)
	if err != nil {
		return Actor{}, nil, storeError(err)
	}
	return a, o, nil
}

// CreateOrg creates an organization; super admins (with the admin scope)
// only. A taken ID is a *ValidationError on "id".
func (m *Manager) CreateOrg(ctx context.Context, p *gatehouse.Principal, o NewOrg) (*store.Org, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if !m.isSuperAdmin(a) || m.orgs == nil {
		return nil, errSuperAdminOnly
	}
	v := &ValidationError{Fields: map[string]string{}}
	if o.ID == "" {
		o.ID = store.NewID("org")
	}
	checkOrgID(v, o.ID)
	checkName(v, o.Name)
	if len(v.Fields) > 0 {
		return nil, v
	}
	rec := &store.Org{ID: o.ID, Name: o.Name, CreatedAt: m.stamp()}
	switch err := m.orgs.CreateOrg(ctx, rec); {
	case errors.Is(err, store.ErrConflict):
		return nil, invalid("id", "an organization with this ID exists")
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.org.created",
		slog.String("org_id", rec.ID), slog.String("org_name", rec.Name), slog.String("actor_id", a.ID))
	return rec, nil
}

// RenameOrg changes an organization's name: an org admin (with the admin
// scope) of it, or a super admin.
func (m *Manager) RenameOrg(ctx context.Context, p *gatehouse.Principal, id, name string) (*store.Org, error) {
	a, _, err := m.loadOrg(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !m.isAdmin(a) {
		return nil, &forbidden{"Renaming an organization needs the admin scope and an admin level"}
	}
	v := &ValidationError{Fields: map[string]string{}}
	checkName(v, name)
	if len(v.Fields) > 0 {
		return nil, v
	}
	o, err := m.orgs.UpdateOrg(ctx, id, store.OrgUpdate{Name: &name})
	if err != nil {
		return nil, storeError(err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.org.updated",
		slog.String("org_id", o.ID), slog.String("org_name", o.Name), slog.String("actor_id", a.ID))
	return o, nil
}

// PolicyFor returns the policy in force for keys of tenant: the
// organization's own, in the zone of Config.Policy, or Config.Policy when
// the organization has none (or there is no organization record, or no
// Config.Orgs). A store that does not answer is a 503 error
// (gatehouse.ErrUnavailable): a key is never created under a policy that
// could not be read.
func (m *Manager) PolicyFor(ctx context.Context, tenant string) (Policy, error) {
	if m.orgs == nil || tenant == "" {
		return m.policy, nil
	}
	o, err := m.orgs.OrgByID(ctx, tenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return m.policy, nil
	case err != nil:
		return Policy{}, gatehouse.Unavailable(err)
	}
	return m.PolicyOf(o)
}

// PolicyOf returns the policy in force for keys of the organization o, as
// [Manager.PolicyFor] does, without reading it again: its own, in the
// zone of Config.Policy, or Config.Policy when it has none (or o is nil).
func (m *Manager) PolicyOf(o *store.Org) (Policy, error) {
	if o == nil || o.Policy == nil {
		return m.policy, nil
	}
	pol := Policy{RequireExpiry: o.Policy.RequireExpiry, MaxLifetimeDays: o.Policy.MaxLifetimeDays,
		DefaultLifetimeDays: o.Policy.DefaultLifetimeDays, Location: m.policy.Location}
	if err := pol.validate(); err != nil {
		// Only a store written around the manager holds such a policy:
		// refuse to guess.
		return Policy{}, gatehouse.Unavailable(fmt.Errorf("admin: organization %q: stored %w", o.ID, err))
	}
	return pol, nil
}

// OrgPolicyView is o's policy and the one its keys follow ([Manager.PolicyOf]),
// as GET /api/auth/orgs/{id}/policy answers it, built from o as it is.
func (m *Manager) OrgPolicyView(o *store.Org) (PolicyView, error) {
	eff, err := m.PolicyOf(o)
	if err != nil {
		return PolicyView{}, err
	}
	view := PolicyView{OrgID: o.ID, Policy: OrgToJSON(o).Policy, Source: "default",
		Effective: PolicyJSON{RequireExpiry: eff.RequireExpiry, MaxLifetimeDays: eff.MaxLifetimeDays, DefaultLifetimeDays: eff.DefaultLifetimeDays}}
	if o.Policy != nil {
		view.Source = "organization"
	}
	return view, nil
}

// policyFields validates pol with [Policy]'s one validator.
func policyFields(pol *Policy) *ValidationError { return pol.check() }

var errPolicyRelax = &forbidden{"Only a super admin can relax or clear a key policy: set one at least as strict as the policy in force"}

// atLeastAsStrict reports whether every key pol allows is also allowed by
// cur, as far as expiry goes: pol requires an expiry if cur does, and caps
// lifetimes at cur's cap or below.
func atLeastAsStrict(pol, cur Policy) bool {
	if cur.RequireExpiry && !pol.RequireExpiry {
		return false
	}
	if cur.MaxLifetimeDays > 0 && (pol.MaxLifetimeDays == 0 || pol.MaxLifetimeDays > cur.MaxLifetimeDays) {
		return false
	}
	return true
}

// SetOrgPolicy sets the organization's key policy, or clears it when pol
// is nil (its keys then follow Config.Policy): an org admin (with the
// admin scope) of it, or a super admin. pol.Location is ignored (the
// zone is Config.Policy's). The policy applies to keys created, extended
// or rotated from then on; keys created before keep working as they are.
// Refusals are *ValidationError on require_expiry, max_lifetime_days or
// default_lifetime_days.
//
// Only a super admin relaxes a policy: an org admin may only set one at
// least as strict as the policy in force for the organization
// ([Manager.PolicyFor]: its own, or Config.Policy). RequireExpiry stays
// on once on, MaxLifetimeDays is never raised nor removed once set, and a
// clear (nil) is refused; DefaultLifetimeDays is free within the maximum.
// A refusal is ErrForbidden.
func (m *Manager) SetOrgPolicy(ctx context.Context, p *gatehouse.Principal, orgID string, pol *Policy) (*store.Org, error) {
	a, org, err := m.loadOrg(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if !m.isAdmin(a) {
		return nil, &forbidden{"Setting an organization's key policy needs the admin scope and an admin level"}
	}
	if pol == nil && !m.isSuperAdmin(a) {
		return nil, errPolicyRelax
	}
	u := store.OrgUpdate{ClearPolicy: pol == nil}
	if pol != nil {
		if v := policyFields(pol); v != nil {
			return nil, v
		}
		if !m.isSuperAdmin(a) {
			cur, err := m.PolicyOf(org)
			if err != nil {
				return nil, err
			}
			if !atLeastAsStrict(*pol, cur) {
				return nil, errPolicyRelax
			}
		}
		u.Policy = &store.OrgPolicy{RequireExpiry: pol.RequireExpiry, MaxLifetimeDays: pol.MaxLifetimeDays,
			DefaultLifetimeDays: pol.DefaultLifetimeDays, UpdatedAt: m.stamp(), UpdatedBy: a.ID}
	}
	o, err := m.orgs.UpdateOrg(ctx, orgID, u)
	if err != nil {
		return nil, storeError(err)
	}
	attrs := []slog.Attr{slog.String("org_id", o.ID), slog.String("actor_id", a.ID), slog.Bool("cleared", pol == nil)}
	if pol != nil {
		attrs = append(attrs, slog.Bool("require_expiry", pol.RequireExpiry),
			slog.Int("max_lifetime_days", pol.MaxLifetimeDays), slog.Int("default_lifetime_days", pol.DefaultLifetimeDays))
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse.policy.updated", attrs...)
	return o, nil
}

// CheckOrg validates an organization as [Manager.CreateOrg] does (an ID
// of 1 to 64 letters, digits, '_', '-' or '.'; a name of 1 to 200
// characters without control characters): nil, or a *ValidationError on
// "id" and "name". An empty ID is checked as the generated one would be.
// For tools that write the store without a Manager, such as the CLI.
func CheckOrg(o NewOrg) error {
	v := &ValidationError{Fields: map[string]string{}}
	if o.ID != "" {
		checkOrgID(v, o.ID)
	}
	checkName(v, o.Name)
	if len(v.Fields) > 0 {
		return v
	}
	return nil
}

// CheckPolicy validates an organization's policy as
// [Manager.SetOrgPolicy] does: nil, or a *ValidationError on
// max_lifetime_days or default_lifetime_days.
func CheckPolicy(p Policy) error {
	if v := p.check(); v != nil {
		return v
	}
	return nil
}

// stamp is the time a record written now carries: UTC, in microseconds,
// as the SQL stores keep it, so that a create's answer equals a later
// read.
func (m *Manager) stamp() time.Time { return m.now().UTC().Truncate(time.Microsecond) }
