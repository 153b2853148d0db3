package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

type policyData struct {
	Org           *store.Org
	Own           bool // the organization has its own policy
	RequireExpiry bool
	MaxDays       string
	DefaultDays   string
	Cap           int
	Errors        map[string]string
	// ReadOnly shows the policy without its form: to a member, who may
	// read it but not change it.
	ReadOnly bool
	// CanRelax offers the reset to the default: only a super admin may
	// relax or clear a policy (an org admin may only tighten it).
	CanRelax bool
}

// showPolicy is an organization's key policy and the form that sets it.
func (c *Console) showPolicy(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	o, err := c.m.GetOrg(ctx, v.P, r.PathValue("org"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	pol, err := c.m.PolicyOf(o)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := policyData{Org: o, Own: o.Policy != nil, RequireExpiry: pol.RequireExpiry, MaxDays: days(pol.MaxLifetimeDays),
		DefaultDays: days(pol.DefaultLifetimeDays)}
	c.renderPolicy(w, r, v, http.StatusOK, d, flashOf(r))
}

func days(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (c *Console) renderPolicy(w http.ResponseWriter, r *http.Request, v *viewer, status int, d policyData, flash string) {
	d.Cap, d.ReadOnly, d.CanRelax = admin.MaxLifetimeDaysCap, !v.OrgAdmin(), v.SuperAdmin()
	nav := "orgs"
	if d.Org.ID == v.TenantID() {
		nav = "org"
	}
	c.render(w, r, status, "policy", page{Title: "Key policy", Nav: nav, Me: v, Flash: flash, Data: d})
}

// setPolicy saves the organization's key policy, or clears it (reset).
func (c *Console) setPolicy(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	ctx := r.Context()
	o, err := c.m.GetOrg(ctx, v.P, r.PathValue("org"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	f := r.PostForm
	d := policyData{Org: o, Own: o.Policy != nil, RequireExpiry: f.Get("require_expiry") != "",
		MaxDays: strings.TrimSpace(f.Get("max_lifetime_days")), DefaultDays: strings.TrimSpace(f.Get("default_lifetime_days")),
		Errors: map[string]string{}}
	var pol *admin.Policy
	if f.Get("reset") == "" {
		pol = &admin.Policy{RequireExpiry: d.RequireExpiry}
		pol.MaxLifetimeDays = parseDays(d.MaxDays, "max_lifetime_days", d.Errors)
		pol.DefaultLifetimeDays = parseDays(d.DefaultDays, "default_lifetime_days", d.Errors)
		if len(d.Errors) > 0 {
			c.renderPolicy(w, r, v, http.StatusUnprocessableEntity, d, "")
			return
		}
	}
	_, err = c.m.SetOrgPolicy(ctx, v.P, o.ID, pol)
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Errors = fieldErrors(ve, "require_expiry", "max_lifetime_days", "default_lifetime_days")
		c.renderPolicy(w, r, v, http.StatusUnprocessableEntity, d, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.orgPath(o.ID)+"/policy?m=policy", http.StatusSeeOther)
}

// parseDays reads an optional number of days; empty is 0.
func parseDays(s, field string, errs map[string]string) int {
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		errs[field] = "Give a whole number of days, or leave it empty."
		return 0
	}
	return n
}
