package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// NewUsersHandler returns the users API, authenticated by mw, under
// cfg.Prefix (default "/api/auth/users"):
//
//	GET    {prefix}        list (?tenant_id= &after= &limit=); {"users": [...], "next": "..."}
//	POST   {prefix}        create {"email", "name", "tenant_id", "level", "scopes", "password"}; 201
//	GET    {prefix}/{id}   one user (members: only themselves)
//	PATCH  {prefix}/{id}   {"name", "level", "scopes"}; anything else is a 400
//	DELETE {prefix}/{id}   revoke the user's keys and delete the user; 204
//
// The rules are the [Manager]'s: an org admin with the admin scope acts
// inside their own organization and never above their own level; another
// organization's users are 404. Users are returned as [UserJSON], never
// with a password or hash. Refusals are problem+json as [NewHandler]'s.
func NewUsersHandler(m *Manager, mw *middleware.Middleware, cfg HandlerConfig) (http.Handler, error) {
	return newAPIHandler(m, mw, cfg, "/api/auth/users", "No such user", func(mux *http.ServeMux, p string, h *handler) {
		mux.HandleFunc("GET "+p, h.listUsers)
		mux.HandleFunc("POST "+p, h.createUser)
		mux.HandleFunc("GET "+p+"/{id}", h.getUser)
		mux.HandleFunc("PATCH "+p+"/{id}", h.updateUser)
		mux.HandleFunc("DELETE "+p+"/{id}", h.deleteUser)
		mux.HandleFunc(p, allow("GET, POST"))
		mux.HandleFunc(p+"/{id}", allow("GET, PATCH, DELETE"))
		mux.HandleFunc(p+"/", h.noRoute)
	})
}

// page reads ?after= and ?limit= (1 to 1000); a bad limit is answered
// with its problem, and ok false.
func (h *handler) page(w http.ResponseWriter, r *http.Request) (after string, limit int, ok bool) {
	q := r.URL.Query()
	v := &ValidationError{Fields: map[string]string{}}
	if limit = limitQuery(v, q); len(v.Fields) > 0 {
		h.fail(w, r, v)
		return "", 0, false
	}
	return q.Get("after"), limit, true
}

// limitQuery reads ?limit= (1 to 1000); 0 when absent.
func limitQuery(v *ValidationError, q url.Values) int {
	s := q.Get("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		v.Fields["limit"] = "must be a whole number from 1 to 1000"
	}
	return n
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := h.page(w, r)
	if !ok {
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	users, next, err := h.m.ListUsers(r.Context(), p, UserListRequest{TenantID: r.URL.Query().Get("tenant_id"), After: after, Limit: limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": mapJSON(users, UserToJSON), "next": next})
}

type createUserBody struct {
	Email    string          `json:"email"`
	Name     string          `json:"name"`
	TenantID string          `json:"tenant_id"`
	Level    string          `json:"level"`
	Scopes   json.RawMessage `json:"scopes"`
	Password string          `json:"password"`
}

// userScopes reads a scopes member: absent, or null when nullOK, is nil;
// otherwise it must be an array of strings (the Manager checks each).
func userScopes(v *ValidationError, raw json.RawMessage, nullOK bool) (sc []string, given bool) {
	if len(raw) == 0 {
		return nil, false
	}
	if string(raw) == "null" {
		if !nullOK {
			v.Fields["scopes"] = "must be an array of scopes"
		}
		return nil, false
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		v.Fields["scopes"] = "must be an array of scopes"
		return nil, false
	}
	if sc == nil {
		sc = []string{}
	}
	return sc, true
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	if !h.decode(w, r, &b, "email, name, tenant_id, level, scopes and password") {
		return
	}
	v := &ValidationError{Fields: map[string]string{}}
	sc, _ := userScopes(v, b.Scopes, true)
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	u, err := h.m.CreateUser(r.Context(), p, NewUser{Email: b.Email, Name: b.Name, TenantID: b.TenantID,
		Level: store.Level(b.Level), Scopes: sc, Password: b.Password})
	respond(h, w, r, http.StatusCreated, u, err, UserToJSON)
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	u, err := h.m.GetUser(r.Context(), p, r.PathValue("id"))
	respond(h, w, r, http.StatusOK, u, err, UserToJSON)
}

type updateUserBody struct {
	Name   *string         `json:"name"`
	Level  *string         `json:"level"`
	Scopes json.RawMessage `json:"scopes"`
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) {
	var b updateUserBody
	if !h.decode(w, r, &b, "name, level and scopes") {
		return
	}
	v := &ValidationError{Fields: map[string]string{}}
	c := UserChange{Name: b.Name}
	if b.Level != nil {
		l := store.Level(*b.Level)
		c.Level = &l
	}
	if sc, ok := userScopes(v, b.Scopes, false); ok {
		c.Scopes = &sc
	}
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	u, err := h.m.UpdateUser(r.Context(), p, r.PathValue("id"), c)
	respond(h, w, r, http.StatusOK, u, err, UserToJSON)
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	if err := h.m.DeleteUser(r.Context(), p, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
