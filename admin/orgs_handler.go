package admin

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// NewOrgsHandler returns the organizations API, authenticated by mw,
// under cfg.Prefix (default "/api/auth/orgs"):
//
//	GET    {prefix}               list (?after= &limit=); super admins only; {"orgs": [...], "next": "..."}
//	POST   {prefix}               create {"id", "name"} (id default: generated); super admins only; 201
//	GET    {prefix}/{id}          one organization: one's own, or any for a super admin
//	PATCH  {prefix}/{id}          {"name"}; its org admin or a super admin
//	GET    {prefix}/{id}/policy   the key policy: {"org_id", "policy", "effective", "source"}
//	PUT    {prefix}/{id}/policy   {"require_expiry": bool, "max_lifetime_days": n, "default_lifetime_days": n}
//	DELETE {prefix}/{id}/policy   clear it: the organization's keys follow the default policy
//
// Another organization is 404; a policy beyond the limits (a maximum
// lifetime above 400 days, a default above the maximum) is a 422 naming
// the field. Refusals are problem+json as [NewHandler]'s. It needs a
// Manager with Config.Orgs.
func NewOrgsHandler(m *Manager, mw *middleware.Middleware, cfg HandlerConfig) (http.Handler, error) {
	return newAPIHandler(m, mw, cfg, "/api/auth/orgs", "No such organization", func(mux *http.ServeMux, p string, h *handler) {
		mux.HandleFunc("GET "+p, h.listOrgs)
		mux.HandleFunc("POST "+p, h.createOrg)
		mux.HandleFunc("GET "+p+"/{id}", h.getOrg)
		mux.HandleFunc("PATCH "+p+"/{id}", h.renameOrg)
		mux.HandleFunc("GET "+p+"/{id}/policy", h.getPolicy)
		mux.HandleFunc("PUT "+p+"/{id}/policy", h.setPolicy)
		mux.HandleFunc("DELETE "+p+"/{id}/policy", h.clearPolicy)
		mux.HandleFunc(p, allow("GET, POST"))
		mux.HandleFunc(p+"/{id}", allow("GET, PATCH"))
		mux.HandleFunc(p+"/{id}/policy", allow("GET, PUT, DELETE"))
		mux.HandleFunc(p+"/", h.noRoute)
	})
}

func (h *handler) listOrgs(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := h.page(w, r)
	if !ok {
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	orgs, next, err := h.m.ListOrgs(r.Context(), p, after, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": mapJSON(orgs, OrgToJSON), "next": next})
}

type createOrgBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (h *handler) createOrg(w http.ResponseWriter, r *http.Request) {
	var b createOrgBody
	if !h.decode(w, r, &b, "id and name") {
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	o, err := h.m.CreateOrg(r.Context(), p, NewOrg(b))
	respond(h, w, r, http.StatusCreated, o, err, OrgToJSON)
}

func (h *handler) getOrg(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	o, err := h.m.GetOrg(r.Context(), p, r.PathValue("id"))
	respond(h, w, r, http.StatusOK, o, err, OrgToJSON)
}

type renameOrgBody struct {
	Name *string `json:"name"`
}

func (h *handler) renameOrg(w http.ResponseWriter, r *http.Request) {
	var b renameOrgBody
	if !h.decode(w, r, &b, "name") {
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	if b.Name == nil {
		// Nothing to change: answer as a read would, permissions included.
		o, err := h.m.GetOrg(r.Context(), p, r.PathValue("id"))
		respond(h, w, r, http.StatusOK, o, err, OrgToJSON)
		return
	}
	o, err := h.m.RenameOrg(r.Context(), p, r.PathValue("id"), *b.Name)
	respond(h, w, r, http.StatusOK, o, err, OrgToJSON)
}

// policyView answers with o's policy and the one its keys follow, or with
// the problem for err, the error of reading o.
func (h *handler) policyView(w http.ResponseWriter, r *http.Request, o *store.Org, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	view, err := h.m.OrgPolicyView(o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

func (h *handler) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	o, err := h.m.GetOrg(r.Context(), p, r.PathValue("id"))
	h.policyView(w, r, o, err)
}

type policyBody struct {
	RequireExpiry       bool `json:"require_expiry"`
	MaxLifetimeDays     int  `json:"max_lifetime_days"`
	DefaultLifetimeDays int  `json:"default_lifetime_days"`
}

func (h *handler) setPolicy(w http.ResponseWriter, r *http.Request) {
	var b policyBody
	if !h.decode(w, r, &b, "require_expiry, max_lifetime_days and default_lifetime_days") {
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	o, err := h.m.SetOrgPolicy(r.Context(), p, r.PathValue("id"),
		&Policy{RequireExpiry: b.RequireExpiry, MaxLifetimeDays: b.MaxLifetimeDays, DefaultLifetimeDays: b.DefaultLifetimeDays})
	h.policyView(w, r, o, err)
}

func (h *handler) clearPolicy(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	o, err := h.m.SetOrgPolicy(r.Context(), p, r.PathValue("id"), nil)
	h.policyView(w, r, o, err)
}
