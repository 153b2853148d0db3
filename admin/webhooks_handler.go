package admin

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// NewWebhookHandler returns the webhooks API, authenticated by mw, for
// super admins holding the admin scope (endpoints receive every tenant's
// events, so no one less may manage them; everyone else gets 403):
//
//	GET    {prefix}                       list: {"webhooks": [...]}, never a secret
//	POST   {prefix}                       {"url": "https://...", "events": ["key.revoked"]}; 201 {"secret": "whsec_...", "webhook": {...}}: the secret is shown this once
//	DELETE {prefix}/{id}                  remove, with its deliveries; 204
//	POST   {prefix}/{id}/enable           enable one the dispatcher disabled (same secret, failures reset); 200 {...}, the endpoint, never its secret
//	GET    {prefix}/{id}/deliveries       ?before= &limit=: {"deliveries": [...], "next": "..."}, newest first
//
// cfg.Prefix defaults to "/api/auth/webhooks"; the other settings are
// those of [NewHandler]. Refusals are problem+json, as there.
func NewWebhookHandler(w *Webhooks, m *Manager, mw *middleware.Middleware, cfg HandlerConfig) (http.Handler, error) {
	if w == nil || m == nil || mw == nil {
		return nil, errors.New("admin: nil webhooks, manager or middleware")
	}
	return newAPIHandler(m, mw, cfg, "/api/auth/webhooks", "No such webhook", func(mux *http.ServeMux, p string, hh *handler) {
		h := &webhookHandler{handler: hh, w: w}
		mux.HandleFunc("GET "+p, h.guard(h.list))
		mux.HandleFunc("POST "+p, h.guard(h.add))
		mux.HandleFunc("DELETE "+p+"/{id}", h.guard(h.remove))
		mux.HandleFunc("POST "+p+"/{id}/enable", h.guard(h.enable))
		mux.HandleFunc("GET "+p+"/{id}/deliveries", h.guard(h.deliveries))
		mux.HandleFunc(p, h.notAllowed)
		mux.HandleFunc(p+"/", h.notAllowed)
	})
}

type webhookHandler struct {
	*handler
	w *Webhooks
}

// guard lets only super admins with the admin scope through.
func (h *webhookHandler) guard(next func(http.ResponseWriter, *http.Request, Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		a, err := h.m.ActorOf(r.Context(), p)
		if err != nil {
			h.mw.Error(w, r, err)
			return
		}
		if !h.m.isSuperAdmin(a) {
			problem(w, http.StatusForbidden, "forbidden", "Managing webhooks needs the admin scope and the super admin level", nil)
			return
		}
		next(w, r, a)
	}
}

func (h *webhookHandler) list(w http.ResponseWriter, r *http.Request, _ Actor) {
	es, err := h.w.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": mapJSON(es, WebhookToJSON)})
}

type addWebhookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (h *webhookHandler) add(w http.ResponseWriter, r *http.Request, a Actor) {
	var b addWebhookBody
	if !h.decode(w, r, &b, "url and events") {
		return
	}
	e, secret, err := h.w.Add(r.Context(), a.ID, b.URL, b.Events)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"secret": secret, "webhook": WebhookToJSON(e)})
}

func (h *webhookHandler) remove(w http.ResponseWriter, r *http.Request, a Actor) {
	if err := h.w.Remove(r.Context(), a.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhookHandler) enable(w http.ResponseWriter, r *http.Request, a Actor) {
	e, _, err := h.w.Enable(r.Context(), a.ID, r.PathValue("id"))
	respond(h.handler, w, r, http.StatusOK, e, err, WebhookToJSON)
}

func (h *webhookHandler) deliveries(w http.ResponseWriter, r *http.Request, _ Actor) {
	q := r.URL.Query()
	v := &ValidationError{Fields: map[string]string{}}
	limit := limitQuery(v, q)
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	ds, next, err := h.w.Deliveries(r.Context(), r.PathValue("id"), q.Get("before"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": mapJSON(ds, DeliveryToJSON), "next": next})
}
