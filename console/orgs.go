package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

type orgsData struct {
	Orgs   []*store.Org
	After  string
	Next   string
	ID     string
	Name   string
	Errors map[string]string
}

// listOrgs is every organization, for super admins, with the form that
// creates one.
func (c *Console) listOrgs(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.renderOrgs(w, r, v, http.StatusOK, orgsData{After: r.URL.Query().Get("after")}, flashOf(r))
}

func (c *Console) renderOrgs(w http.ResponseWriter, r *http.Request, v *viewer, status int, d orgsData, flash string) {
	orgs, next, err := c.m.ListOrgs(r.Context(), v.P, d.After, c.pageSize)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Orgs, d.Next = orgs, next
	c.render(w, r, status, "orgs", page{Title: "All organizations", Nav: "orgs", Me: v, Flash: flash, Data: d})
}

func (c *Console) createOrg(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	d := orgsData{ID: strings.TrimSpace(r.PostForm.Get("id")), Name: r.PostForm.Get("name")}
	o, err := c.m.CreateOrg(r.Context(), v.P, admin.NewOrg{ID: d.ID, Name: d.Name})
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Errors = fieldErrors(ve, "id", "name")
		c.renderOrgs(w, r, v, http.StatusUnprocessableEntity, d, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.orgPath(o.ID)+"?m=org-created", http.StatusSeeOther)
}

func (c *Console) orgPath(id string) string { return c.prefix + "/orgs/" + url.PathEscape(id) }

// memberRow is a user as the members page shows them.
type memberRow struct {
	ID, Email, Name string
	Level           store.Level
	Self            bool
}

type orgData struct {
	Org     *store.Org
	Members []memberRow
	After   string
	Next    string
	Levels  []store.Level
	New     newMember
	Errors  map[string]string
	// MemberError is the refusal of a level change, by member ID.
	MemberError map[string]string
}

type newMember struct{ Email, Name, Level string }

// levels are the levels the viewer may give: up to their own.
func levelsUpTo(l store.Level) []store.Level {
	out := []store.Level{store.LevelMember, store.LevelOrgAdmin}
	if l == store.LevelSuperAdmin {
		out = append(out, store.LevelSuperAdmin)
	}
	return out
}

// showOrg is an organization's page: its members, the form that adds
// one, and links to its keys and policy. Another organization is a 404
// unless the viewer is a super admin.
func (c *Console) showOrg(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.renderOrg(w, r, v, http.StatusOK, orgData{After: r.URL.Query().Get("after")}, flashOf(r))
}

func (c *Console) renderOrg(w http.ResponseWriter, r *http.Request, v *viewer, status int, d orgData, flash string) {
	ctx := r.Context()
	o, err := c.m.GetOrg(ctx, v.P, r.PathValue("org"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	users, next, err := c.m.ListUsers(ctx, v.P, admin.UserListRequest{TenantID: o.ID, After: d.After, Limit: c.pageSize})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Org, d.Next, d.Levels = o, next, levelsUpTo(v.Actor.Level)
	d.Members = make([]memberRow, len(users))
	for i, u := range users {
		d.Members[i] = memberRow{ID: u.ID, Email: u.Email, Name: u.Name, Level: u.Level, Self: u.ID == v.P.ID}
	}
	if d.New.Level == "" {
		d.New.Level = string(store.LevelMember)
	}
	nav := "orgs"
	if o.ID == v.TenantID() {
		nav = "org"
	}
	c.render(w, r, status, "org", page{Title: o.Name, Nav: nav, Me: v, Flash: flash, Data: d})
}

// addMember creates a user in the organization.
func (c *Console) addMember(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	org := r.PathValue("org")
	if _, err := c.m.GetOrg(r.Context(), v.P, org); err != nil {
		c.fail(w, r, v, err)
		return
	}
	nm := newMember{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Level: r.PostForm.Get("level")}
	_, err := c.m.CreateUser(r.Context(), v.P, admin.NewUser{Email: nm.Email, Name: nm.Name, TenantID: org,
		Level: store.Level(nm.Level), Password: r.PostForm.Get("password")})
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		c.renderOrg(w, r, v, http.StatusUnprocessableEntity, orgData{New: nm, Errors: fieldErrors(ve, "email", "name", "level", "password")}, "")
		return
	case errors.Is(err, admin.ErrForbidden):
		detail, _ := admin.ForbiddenDetail(err)
		c.renderOrg(w, r, v, http.StatusForbidden, orgData{New: nm, Errors: map[string]string{"form": detail}}, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.orgPath(org)+"?m=member-added", http.StatusSeeOther)
}

// updateMember changes a member's level.
func (c *Console) updateMember(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	org, id := r.PathValue("org"), r.PathValue("user")
	u, err := c.m.GetUser(r.Context(), v.P, id)
	if err == nil && u.TenantID != org {
		err = admin.ErrNotFound
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	level := store.Level(r.PostForm.Get("level"))
	_, err = c.m.UpdateUser(r.Context(), v.P, id, admin.UserChange{Level: &level})
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		c.renderOrg(w, r, v, http.StatusUnprocessableEntity, orgData{MemberError: map[string]string{id: joinMessages(ve)}}, "")
		return
	case errors.Is(err, admin.ErrForbidden):
		detail, _ := admin.ForbiddenDetail(err)
		c.renderOrg(w, r, v, http.StatusForbidden, orgData{MemberError: map[string]string{id: detail}}, "")
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.orgPath(org)+"?m=member-updated", http.StatusSeeOther)
}

// fieldErrors maps a validation error to the named form fields; any
// other field's message goes to "form".
func fieldErrors(ve *admin.ValidationError, fields ...string) map[string]string {
	out := make(map[string]string, len(ve.Fields))
	for k, raw := range ve.Fields {
		known := false
		for _, f := range fields {
			known = known || f == k
		}
		label := strings.ReplaceAll(k, "_", " ")
		if k == "id" {
			label = "ID"
		}
		if !known {
			out["form"] = strings.TrimSpace(out["form"] + " " + fieldMessage(label, raw))
			continue
		}
		out[k] = fieldMessage(label, raw)
	}
	return out
}

// continuations start the manager's messages that go on from the field's
// name ("is required", "must be ...").
var continuations = []string{"is ", "must ", "may ", "has ", "cannot ", "needs "}

// fieldMessage is the manager's message raw about the field labelled
// label as a sentence: "Name is required." for a message that goes on
// from the name, the message alone ("Another user has this address.")
// for one that is a sentence of its own.
func fieldMessage(label, raw string) string {
	for _, c := range continuations {
		if strings.HasPrefix(raw, c) {
			return sentence(label + " " + raw)
		}
	}
	return sentence(raw)
}
