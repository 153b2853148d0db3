package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

type listData struct {
	View      string // "mine" or "org"
	CanSeeOrg bool
	ShowOwner bool
	Rows      []keyRow
	Org       string // view=org of another organization (super admins)
	After     string // this page's cursor ("" on the first page)
	Next      string // the next page's cursor ("" on the last page)
}

// listKeys is the key list: the viewer's own keys, or (view=org, for
// admins) those of their organization, a page at a time.
func (c *Console) listKeys(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	d := listData{View: "mine", CanSeeOrg: v.OrgAdmin(), After: q.Get("after")}
	req := admin.ListRequest{OwnerID: v.P.ID, IncludeRevoked: true, After: d.After, Limit: c.pageSize}
	if q.Get("view") == "org" && d.CanSeeOrg {
		d.View, d.ShowOwner = "org", true
		req.OwnerID, req.TenantID = "", v.TenantID()
		if org := q.Get("org"); org != "" && org != v.TenantID() {
			// Another organization's keys: visible to super admins only
			// (the manager shows others none).
			if _, err := c.m.GetOrg(r.Context(), v.P, org); err != nil {
				c.fail(w, r, v, err)
				return
			}
			d.Org, req.TenantID = org, org
		}
	}
	keys, next, err := c.m.List(r.Context(), v.P, req)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	now := c.now()
	d.Rows = make([]keyRow, len(keys))
	for i, k := range keys {
		d.Rows[i] = rowOf(k, now)
	}
	if d.ShowOwner {
		if err := c.nameOwners(r.Context(), v, d.Rows); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	d.Next = next
	c.render(w, r, http.StatusOK, "keys", page{Title: "API keys", Nav: "keys", Me: v, Flash: flashOf(r), Data: d})
}

// keyForm is the create form's values and errors.
type keyForm struct {
	FormID      string
	Name        string
	Description string
	Role        string
	Scopes      string
	Expiry      expiryField
	Networks    string // the allowed networks field, one a line
	OwnerID     string
	Owner       string // the member's name, when OwnerID is set
	Roles       []string
	Policy      policyHint
	Errors      map[string]string
}

// Editing reports whether the form edits an existing key (it creates one).
func (keyForm) Editing() bool { return false }

// policyHint is the key policy as the create form explains it.
type policyHint struct {
	RequireExpiry bool
	MaxDays       int
	DefaultDays   int
	Zone          string // the time zone whose day ends expire keys
}

func (c *Console) policyFor(ctx context.Context, tenant string) (admin.Policy, policyHint, error) {
	p, err := c.m.PolicyFor(ctx, tenant)
	if err != nil {
		return admin.Policy{}, policyHint{}, err
	}
	return p, policyHint{RequireExpiry: p.RequireExpiry || p.MaxLifetimeDays > 0, MaxDays: p.MaxLifetimeDays,
		DefaultDays: p.DefaultLifetimeDays, Zone: zone(p).String()}, nil
}

func (c *Console) newKeyForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := keyForm{OwnerID: r.URL.Query().Get("owner"), Role: "viewer"}
	c.renderKeyForm(w, r, v, http.StatusOK, f)
}

func (c *Console) renderKeyForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, f keyForm) {
	f.FormID, f.Roles = newFormID(), c.roles
	tenant := v.TenantID()
	switch {
	case f.OwnerID == v.P.ID:
		f.OwnerID = ""
	case f.OwnerID != "":
		// A key for a member follows the member's organization's policy.
		u, err := c.m.GetUser(r.Context(), v.P, f.OwnerID)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		tenant, f.Owner = u.TenantID, displayName(u)
	}
	pol, hint, err := c.policyFor(r.Context(), tenant)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	now := c.now()
	f.Policy, f.Expiry = hint, expiryControl(f.Expiry.Choice, f.Expiry.Date, pol, now, now, time.Time{}, false)
	c.render(w, r, status, "newkey", page{Title: "Create an API key", Nav: "keys", Me: v, Data: f})
}

// shownData is the page that shows a new key once.
type shownData struct {
	Key     string
	Row     keyRow
	Rotated bool
	Old     *keyRow
}

// createKey issues a key and shows it in the response to this POST: never
// in a redirect, and never again.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	p := r.PostForm
	formID := p.Get("form_id")
	if !c.takeForm(w, r, v, formID) {
		return
	}
	done := false
	defer func() {
		if !done {
			c.sent.release(formID)
		}
	}()
	f := keyForm{Name: p.Get("name"), Description: p.Get("description"), Role: p.Get("role"),
		Scopes: p.Get("scopes"), Expiry: expiryField{Choice: p.Get("expires"), Date: p.Get("expires_on")},
		Networks: p.Get("allowed_cidrs"), OwnerID: p.Get("owner_id"), Errors: map[string]string{}}
	req := admin.CreateRequest{Name: f.Name, Description: f.Description, OwnerID: f.OwnerID}
	switch {
	case f.Role != "" && strings.TrimSpace(f.Scopes) != "":
		// Never drop what was typed: the role select has a default.
		f.Errors["access"] = "Choose a role or custom scopes, not both. To use the scopes, choose “custom scopes” as the role."
	case f.Role != "":
		req.Role = f.Role
	default:
		req.Scopes = strings.Fields(f.Scopes)
	}
	var msg string
	if req.Expiry, msg = parseExpiry(f.Expiry.Choice, f.Expiry.Date, c.m.Policy(), false); msg != "" {
		f.Errors["expires"] = msg
	}
	nets, msg := parseNetworks(f.Networks)
	switch {
	case msg != "":
		f.Errors["networks"] = msg
	case len(nets) > 0:
		req.Controls.AllowedNetworks = &nets
	}
	if len(f.Errors) > 0 {
		c.renderKeyForm(w, r, v, http.StatusUnprocessableEntity, f)
		return
	}
	created, err := c.m.Create(r.Context(), v.P, req)
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		f.Errors = formErrors(ve)
		c.renderKeyForm(w, r, v, http.StatusUnprocessableEntity, f)
		return
	case errors.Is(err, admin.ErrForbidden):
		detail, _ := admin.ForbiddenDetail(err)
		if detail == "" {
			detail = "You may not create this key."
		}
		f.Errors["form"] = detail
		c.renderKeyForm(w, r, v, http.StatusForbidden, f)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	done = true
	c.render(w, r, http.StatusCreated, "shown", page{Title: "Your new API key", Nav: "keys", Me: v,
		Data: shownData{Key: created.Key, Row: rowOf(created.Record, c.now())}})
}

// takeForm takes the once-only form_id of a create or rotate form before
// its action runs; the caller releases it when the action fails. A
// missing or malformed form_id is a 400; one already taken (the form was
// sent before and acted, or is being sent right now) is a 409.
func (c *Console) takeForm(w http.ResponseWriter, r *http.Request, v *viewer, id string) bool {
	switch {
	case !validFormID(id):
		c.errorPage(w, r, v, http.StatusBadRequest, "Bad request",
			"The form could not be read. Open the page again and send the form from there.")
		return false
	case !c.sent.take(id):
		c.errorPage(w, r, v, http.StatusConflict, "This form was already sent",
			"A new key is shown only once, so it is not shown again. Find it in your list of keys; if you did not keep it, rotate or revoke it there.")
		return false
	}
	return true
}

// formErrors maps the manager's field names to the form's.
func formErrors(ve *admin.ValidationError) map[string]string {
	out := make(map[string]string, len(ve.Fields))
	for k, raw := range ve.Fields {
		switch k {
		case "name", "description":
			out[k] = fieldMessage(k, raw)
		case "scopes":
			out["access"] = fieldMessage("the scopes", raw)
		case "role":
			out["access"] = fieldMessage("this role", raw)
		case "expires_at", "expires_in_days":
			// The API's hints ("give expires_at ...") are not the form's.
			m, _, _ := strings.Cut(raw, ":")
			if !strings.HasPrefix(m, "an ") {
				m = "the expiry " + m
			}
			out["expires"] = sentence(m)
		case "tenant_id":
			out["owner"] = fieldMessage("the organization", raw)
		case "allowed_cidrs":
			out["networks"] = "Give one network or address per line, such as 10.0.0.0/8 or 2001:db8::/32."
		default:
			out["form"] = fieldMessage(strings.ReplaceAll(k, "_", " "), raw)
		}
	}
	return out
}

// sentence capitalizes msg and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

type keyPage struct {
	Row      keyRow
	Name     string
	Desc     string
	Expiry   expiryField
	Networks string // the allowed networks field, one a line
	Policy   policyHint
	FormID   string
	Errors   map[string]string
	MaxGrace time.Duration
	// Alert is a refusal shown at the top of the page: the edit and
	// rotate forms, where errors are shown, are not on the page of a key
	// that is revoked or expired.
	Alert string
}

// Editing reports whether the form edits an existing key (it does).
func (keyPage) Editing() bool { return true }

// keyPageOf is the page of k with its edit form as it is saved.
func keyPageOf(k *store.Key, now time.Time) keyPage {
	row := rowOf(k, now)
	return keyPage{Row: row, Name: row.Name, Desc: row.Description, Networks: networksText(k.AllowedNetworks)}
}

// showKey is a key's page: its details, the edit form, rotation and
// revocation.
func (c *Console) showKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	k, err := c.m.Get(r.Context(), v.P, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.renderKey(w, r, v, http.StatusOK, keyPageOf(k, c.now()), flashOf(r))
}

func (c *Console) renderKey(w http.ResponseWriter, r *http.Request, v *viewer, status int, d keyPage, flash string) {
	rows := []keyRow{d.Row}
	if err := c.nameOwners(r.Context(), v, rows); err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Row = rows[0]
	if len(d.Errors) > 0 && !d.Row.Active() {
		// Sent from a page opened before the key was revoked or expired.
		d.Alert = "This key has expired; it cannot be edited or rotated."
		if d.Row.Status == "revoked" {
			d.Alert = "This key was revoked; it cannot be edited or rotated."
		}
	}
	pol, hint, err := c.policyFor(r.Context(), d.Row.TenantID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Policy = hint
	d.Expiry = expiryControl(d.Expiry.Choice, d.Expiry.Date, pol, d.Row.Created, c.now(), d.Row.Expires, true)
	d.FormID = newFormID()
	c.render(w, r, status, "key", page{Title: d.Row.Name, Nav: "keys", Me: v, Flash: flash, Data: d})
}

// updateKey saves a key's name, description, expiry and allowed
// networks (an empty field removes them).
func (c *Console) updateKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	id, p := r.PathValue("id"), r.PostForm
	d := keyPage{Name: p.Get("name"), Desc: p.Get("description"), Networks: p.Get("allowed_cidrs"),
		Expiry: expiryField{Choice: p.Get("expires"), Date: p.Get("expires_on")}, Errors: map[string]string{}}
	req := admin.UpdateRequest{Name: &d.Name, Description: &d.Desc}
	var msg string
	if req.Expiry, msg = parseExpiry(d.Expiry.Choice, d.Expiry.Date, c.m.Policy(), true); msg != "" {
		d.Errors["expires"] = msg
	}
	nets, msg := parseNetworks(d.Networks)
	if msg != "" {
		d.Errors["networks"] = msg
	}
	req.Controls.AllowedNetworks = &nets
	var err error
	if len(d.Errors) == 0 {
		_, err = c.m.Update(r.Context(), v.P, id, req)
	}
	var ve *admin.ValidationError
	switch {
	case len(d.Errors) > 0 || errors.As(err, &ve):
		k, gerr := c.m.Get(r.Context(), v.P, id)
		if gerr != nil {
			c.fail(w, r, v, gerr)
			return
		}
		if ve != nil {
			d.Errors = formErrors(ve)
		}
		d.Row = rowOf(k, c.now())
		c.renderKey(w, r, v, http.StatusUnprocessableEntity, d, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.prefix+"/keys/"+url.PathEscape(id)+"?m=updated", http.StatusSeeOther)
}

// graces are the rotation grace periods the form offers.
var graces = map[string]time.Duration{"0": 0, "3600": time.Hour, "86400": 24 * time.Hour, "604800": 7 * 24 * time.Hour}

// rotateKey issues the key's successor and shows it once.
func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	grace, ok := graces[r.PostForm.Get("grace")]
	if !ok {
		c.errorPage(w, r, v, http.StatusBadRequest, "Bad request", "Choose one of the grace periods offered.")
		return
	}
	formID := r.PostForm.Get("form_id")
	if !c.takeForm(w, r, v, formID) {
		return
	}
	done := false
	defer func() {
		if !done {
			c.sent.release(formID)
		}
	}()
	rot, err := c.m.Rotate(r.Context(), v.P, r.PathValue("id"), grace)
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		k, gerr := c.m.Get(r.Context(), v.P, r.PathValue("id"))
		if gerr != nil {
			c.fail(w, r, v, gerr)
			return
		}
		d := keyPageOf(k, c.now())
		d.Errors = map[string]string{"rotate": joinMessages(ve)}
		c.renderKey(w, r, v, http.StatusUnprocessableEntity, d, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	done = true
	now := c.now()
	old := rowOf(rot.Old, now)
	c.render(w, r, http.StatusCreated, "shown", page{Title: "Your rotated API key", Nav: "keys", Me: v,
		Data: shownData{Key: rot.Key, Row: rowOf(rot.Record, now), Rotated: true, Old: &old}})
}

func joinMessages(ve *admin.ValidationError) string {
	var parts []string
	for _, m := range formErrors(ve) {
		parts = append(parts, m)
	}
	return strings.Join(parts, " ")
}

// revokeKey revokes a key at once.
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	if _, err := c.m.Revoke(r.Context(), v.P, id); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.prefix+"/keys?m=revoked", http.StatusSeeOther)
}

// nameOwners sets each row's Owner to its owner's name or e-mail address:
// one lookup per distinct owner on the page. An owner the viewer may not
// read, or that no longer exists, is shown by ID.
func (c *Console) nameOwners(ctx context.Context, v *viewer, rows []keyRow) error {
	names := map[string]string{v.P.ID: v.Name} // the viewer's own keys need no lookup
	for i := range rows {
		id := rows[i].OwnerID
		name, ok := names[id]
		if !ok {
			u, err := c.m.GetUser(ctx, v.P, id)
			switch {
			case err == nil:
				name = displayName(u)
			case errors.Is(err, admin.ErrNotFound) || errors.Is(err, admin.ErrForbidden):
				name = id
			default:
				return err
			}
			names[id] = name
		}
		rows[i].Owner = name
	}
	return nil
}
