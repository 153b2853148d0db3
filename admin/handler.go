package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// HandlerConfig holds the optional settings of [NewHandler]. The zero
// value is usable.
type HandlerConfig struct {
	// Prefix is the path the API is served under. Default
	// "/api/auth/api-keys".
	Prefix string
	// MaxBody caps request bodies, in bytes. Default 64 KiB.
	MaxBody int64
	// StoreTimeout bounds each request, authentication included: its
	// store calls end by then, and a request that could not finish is
	// answered 503. Default [middleware.DefaultStoreTimeout] (5 s);
	// negative means none.
	StoreTimeout time.Duration
}

// NewHandler returns the management API, authenticated by mw:
//
//	POST   {prefix}              create; 201 {"key": "...", "api_key": {...}}: the key is shown this once
//	GET    {prefix}              list (?owner_id= &tenant_id= &include_revoked=true &after= &limit=)
//	GET    {prefix}/{id}         one key
//	PATCH  {prefix}/{id}         name, description, expires_at, expires_in_days; anything else is a 400
//	DELETE {prefix}/{id}         revoke
//	POST   {prefix}/{id}/rotate  {"grace_seconds": 86400} optional; 201 with the new key once
//
// Refusals are problem+json: 400 for malformed JSON or unknown members,
// 422 with an "errors" member naming each invalid field, 403, 404 (also
// for another tenant's keys), 503 (also when the store did not answer
// within StoreTimeout). Mount it on any router at Prefix.
func NewHandler(m *Manager, mw *middleware.Middleware, cfg HandlerConfig) (http.Handler, error) {
	return newAPIHandler(m, mw, cfg, "/api/auth/api-keys", "No such API key", func(mux *http.ServeMux, p string, h *handler) {
		mux.HandleFunc("POST "+p, h.create)
		mux.HandleFunc("GET "+p, h.list)
		mux.HandleFunc("GET "+p+"/{id}", h.get)
		mux.HandleFunc("PATCH "+p+"/{id}", h.update)
		mux.HandleFunc("DELETE "+p+"/{id}", h.revoke)
		mux.HandleFunc("POST "+p+"/{id}/rotate", h.rotate)
		mux.HandleFunc(p, h.notAllowed)
		mux.HandleFunc(p+"/", h.notAllowed)
	})
}

// newAPIHandler checks cfg (prefix defaulting to prefix), lets routes
// register the API's patterns under it, and wraps the mux in the
// middleware and the store timeout. notFound is the detail of a 404.
func newAPIHandler(m *Manager, mw *middleware.Middleware, cfg HandlerConfig, prefix, notFound string,
	routes func(mux *http.ServeMux, p string, h *handler)) (http.Handler, error) {
	if m == nil || mw == nil {
		return nil, errors.New("admin: nil manager or middleware")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = prefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.ContainsAny(cfg.Prefix, "{} ") {
		return nil, errors.New("admin: prefix must start with / and not end with /")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	h := &handler{m: m, mw: mw, maxBody: cfg.MaxBody, notFound: notFound}
	mux := http.NewServeMux()
	routes(mux, cfg.Prefix, h)
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = middleware.DefaultStoreTimeout
	}
	return middleware.Timeout(cfg.StoreTimeout)(mw.Handler(mux)), nil
}

type handler struct {
	m        *Manager
	mw       *middleware.Middleware
	maxBody  int64
	notFound string // the 404's detail: "No such API key"
}

func (h *handler) notAllowed(w http.ResponseWriter, r *http.Request) {
	problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "This method is not supported on this path", nil)
}

// allow answers 405 with the Allow header naming methods.
func allow(methods string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", methods)
		problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "This path takes "+methods, nil)
	}
}

// noRoute answers 404 for a path below the API that names nothing.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	problem(w, http.StatusNotFound, "not_found", "No such path in this API", nil)
}

type createBody struct {
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	Scopes        json.RawMessage   `json:"scopes"`
	Role          string            `json:"role"`
	ExpiresAt     json.RawMessage   `json:"expires_at"`
	ExpiresInDays *int              `json:"expires_in_days"`
	OwnerID       string            `json:"owner_id"`
	TenantID      string            `json:"tenant_id"`
	Metadata      map[string]string `json:"metadata"`
	AllowedCIDRs  json.RawMessage   `json:"allowed_cidrs"`
	Credits       json.RawMessage   `json:"credits"`
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	var b createBody
	if !h.decode(w, r, &b, "name, description, scopes, role, expires_at, expires_in_days, owner_id, tenant_id, metadata, allowed_cidrs and credits") {
		return
	}
	v := &ValidationError{Fields: map[string]string{}}
	var sc []string
	if len(b.Scopes) > 0 {
		var err error
		if sc, err = scopes.ParseJSON(b.Scopes); err != nil {
			v.Fields["scopes"] = "must be an array of scopes: each 1 to 128 visible ASCII characters without \" \\ or ,"
		}
	}
	exp := expiryOf(v, b.ExpiresAt, b.ExpiresInDays)
	if len(b.Metadata) > 32 {
		v.Fields["metadata"] = "at most 32 entries"
	}
	ctl := parseControlsJSON(v, b.AllowedCIDRs, b.Credits)
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	c, err := h.m.Create(r.Context(), p, CreateRequest{
		Name: b.Name, Description: b.Description, Scopes: sc, Role: b.Role, Expiry: exp,
		OwnerID: b.OwnerID, TenantID: b.TenantID, Metadata: b.Metadata, Controls: ctl,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": c.Key, "api_key": ToJSON(c.Record, h.m.now())})
}

// expiryOf reads expires_at (RFC 3339, or null to remove) and
// expires_in_days.
func expiryOf(v *ValidationError, at json.RawMessage, days *int) Expiry {
	var e Expiry
	if len(at) > 0 {
		e.Set = true
		if !bytes.Equal(bytes.TrimSpace(at), []byte("null")) {
			var s string
			t, err := time.Time{}, json.Unmarshal(at, &s)
			if err == nil {
				t, err = time.Parse(time.RFC3339, s)
			}
			if err != nil {
				v.Fields["expires_at"] = "must be an RFC 3339 time such as 2027-01-31T00:00:00Z, or null"
			}
			e.At = t
		}
	}
	if days != nil {
		if e.Set {
			v.Fields["expires_in_days"] = "give expires_at or expires_in_days, not both"
		}
		e.InDays, e.Days = true, *days
	}
	return e
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &ValidationError{Fields: map[string]string{}}
	req := ListRequest{OwnerID: q.Get("owner_id"), TenantID: q.Get("tenant_id"), After: q.Get("after"), Limit: limitQuery(v, q)}
	switch q.Get("include_revoked") {
	case "", "false":
	case "true":
		req.IncludeRevoked = true
	default:
		v.Fields["include_revoked"] = "must be true or false"
	}
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	keys, next, err := h.m.List(r.Context(), p, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.m.now() // one instant for the whole page
	out := mapJSON(keys, func(k *store.Key) KeyJSON { return ToJSON(k, now) })
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out, "next": next})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	k, err := h.m.Get(r.Context(), p, r.PathValue("id"))
	respond(h, w, r, http.StatusOK, k, err, h.keyJSON)
}

type updateBody struct {
	Name          *string         `json:"name"`
	Description   *string         `json:"description"`
	ExpiresAt     json.RawMessage `json:"expires_at"`
	ExpiresInDays *int            `json:"expires_in_days"`
	AllowedCIDRs  json.RawMessage `json:"allowed_cidrs"`
	Credits       json.RawMessage `json:"credits"`
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	var b updateBody
	if !h.decode(w, r, &b, "name, description, expires_at, expires_in_days, allowed_cidrs and credits") {
		return
	}
	v := &ValidationError{Fields: map[string]string{}}
	exp := expiryOf(v, b.ExpiresAt, b.ExpiresInDays)
	ctl := parseControlsJSON(v, b.AllowedCIDRs, b.Credits)
	if len(v.Fields) > 0 {
		h.fail(w, r, v)
		return
	}
	p, _ := gatehouse.FromContext(r.Context())
	k, err := h.m.Update(r.Context(), p, r.PathValue("id"), UpdateRequest{Name: b.Name, Description: b.Description, Expiry: exp, Controls: ctl})
	respond(h, w, r, http.StatusOK, k, err, h.keyJSON)
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	k, err := h.m.Revoke(r.Context(), p, r.PathValue("id"))
	respond(h, w, r, http.StatusOK, k, err, h.keyJSON)
}

type rotateBody struct {
	GraceSeconds *int64 `json:"grace_seconds"`
}

func (h *handler) rotate(w http.ResponseWriter, r *http.Request) {
	var b rotateBody
	// The body is optional: none (or an empty chunked one) means no grace.
	if r.ContentLength != 0 {
		br := bufio.NewReader(r.Body)
		if _, err := br.Peek(1); err == nil {
			r.Body = struct {
				io.Reader
				io.Closer
			}{br, r.Body}
			if !h.decode(w, r, &b, "grace_seconds") {
				return
			}
		}
	}
	var grace time.Duration
	if b.GraceSeconds != nil {
		if *b.GraceSeconds < 0 || *b.GraceSeconds > int64(h.m.maxGrace/time.Second) {
			h.fail(w, r, &ValidationError{Fields: map[string]string{"grace_seconds": "must be 0 to " + strconv.FormatInt(int64(h.m.maxGrace/time.Second), 10)}})
			return
		}
		grace = time.Duration(*b.GraceSeconds) * time.Second
	}
	p, _ := gatehouse.FromContext(r.Context())
	res, err := h.m.Rotate(r.Context(), p, r.PathValue("id"), grace)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.m.now()
	writeJSON(w, http.StatusCreated, map[string]any{"key": res.Key, "api_key": ToJSON(res.Record, now), "old_api_key": ToJSON(res.Old, now)})
}

// decode reads a JSON object into dst: at most maxBody bytes, no unknown
// members, nothing after it. allowed names the members for the error.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, dst any, allowed string) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		problem(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json", nil)
		return false
	}
	// Read the value whole first: a body that is null (or any non-object)
	// would decode into dst as a silent no-op.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.maxBody))
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data")
	}
	if err == nil && !bytes.HasPrefix(raw, []byte("{")) {
		err = errors.New("not an object")
	}
	if err == nil {
		obj := json.NewDecoder(bytes.NewReader(raw))
		obj.DisallowUnknownFields()
		err = obj.Decode(dst)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			problem(w, http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes", nil)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			problem(w, http.StatusBadRequest, "unknown_field", "The body has a member this endpoint does not accept: it takes "+allowed, nil)
		default:
			problem(w, http.StatusBadRequest, "malformed_body", "The body must be one JSON object with "+allowed, nil)
		}
		return false
	}
	return true
}

// fail writes the problem for a manager error.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var v *ValidationError
	var f *forbidden
	switch {
	case errors.As(err, &v):
		problem(w, http.StatusUnprocessableEntity, "invalid_body", "Some fields are invalid: see errors", v.Fields)
	case errors.Is(err, ErrNotFound):
		problem(w, http.StatusNotFound, "not_found", h.notFound, nil)
	case errors.As(err, &f):
		problem(w, http.StatusForbidden, "forbidden", f.detail, nil)
	default:
		h.mw.Error(w, r, err)
	}
}

// respond answers with status and view(x), or with the problem for err.
func respond[T, V any](h *handler, w http.ResponseWriter, r *http.Request, status int, x T, err error, view func(T) V) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, view(x))
}

// mapJSON returns view of each of xs, in order.
func mapJSON[T, V any](xs []T, view func(T) V) []V {
	out := make([]V, len(xs))
	for i, x := range xs {
		out[i] = view(x)
	}
	return out
}

// keyJSON is k as the API shows it now.
func (h *handler) keyJSON(k *store.Key) KeyJSON { return ToJSON(k, h.m.now()) }

func problem(w http.ResponseWriter, status int, code, detail string, fields map[string]string) {
	middleware.WriteProblem(w, middleware.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, Errors: fields})
}

// writeJSON answers with status and v as JSON. v is encoded before
// anything is written: a value that cannot be encoded (a time past year
// 9999, say) is a 500 problem with a fixed detail, never a success with an
// empty body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		problem(w, http.StatusInternalServerError, "internal_error", "The answer could not be encoded; the request may have taken effect", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
