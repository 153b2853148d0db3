package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// demoScopes are every scope the demo API uses; the bootstrap key has all.
var demoScopes = []string{"admin", "predict", "read", "write"}

// demo is a tiny API to show the middleware at work: projects are kept in
// memory.
type demo struct {
	mu       sync.Mutex
	projects []project
}

type project struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func newDemo(m *middleware.Middleware) http.Handler {
	d := &demo{projects: []project{{1, "apollo"}, {2, "gemini"}}}
	mux := http.NewServeMux()
	mux.Handle("GET /api/projects", m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(d.list))))
	mux.Handle("POST /api/projects", m.Handler(m.MustRequireScopes("write")(http.HandlerFunc(d.create))))
	mux.Handle("POST /api/predict", m.Handler(m.MustRequireScopes("predict")(http.HandlerFunc(d.predict))))
	mux.Handle("GET /api/me", m.Handler(http.HandlerFunc(me)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

func (d *demo) list(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	out := append([]project(nil), d.projects...)
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (d *demo) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Name == "" || len(in.Name) > 100 {
		middleware.WriteProblem(w, middleware.Problem{Type: "about:blank", Title: "Bad Request", Status: 400,
			Detail: `Send {"name": "..."} with a name of 1 to 100 characters`, Code: "invalid_body"})
		return
	}
	d.mu.Lock()
	p := project{ID: len(d.projects) + 1, Name: in.Name}
	d.projects = append(d.projects, p)
	d.mu.Unlock()
	writeJSON(w, http.StatusCreated, p)
}

// predict stands in for an expensive endpoint: it reports the size of what
// it was sent.
func (d *demo) predict(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
	writeJSON(w, http.StatusOK, map[string]any{"prediction": "positive", "input_bytes": n})
}

func me(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"id": p.ID, "kind": p.Kind, "tenant_id": p.TenantID, "scopes": p.Scopes,
		"key_id": p.KeyID, "expires_at": nullTime(p),
	})
}

func nullTime(p *gatehouse.Principal) any {
	if p.ExpiresAt.IsZero() {
		return nil
	}
	return p.ExpiresAt
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
