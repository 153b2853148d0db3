package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

const (
	apiPath   = "/api/auth/api-keys"
	usersPath = "/api/auth/users"
	orgsPath  = "/api/auth/orgs"
	mePath    = "/api/me"
)

var (
	format = apikey.MustFormat("cpx_live.")
	// t0 is where every fake clock starts: 10:04:05 in New York, before the
	// switch to daylight saving time on 8 March 2026.
	t0 = time.Date(2026, 3, 1, 15, 4, 5, 0, time.UTC)
)

// fakeClock is a settable clock shared by the server's goroutines and the
// test.
type fakeClock = testclock.Clock

func newClock(t time.Time) *fakeClock { return testclock.New(t) }

// syncBuffer is a bytes.Buffer that the server's goroutines may write while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countingKeys counts the writes that reach the key store.
type countingKeys struct {
	store.KeyStore
	creates, updates, revokes, deletes atomic.Int64
}

func (c *countingKeys) CreateKey(ctx context.Context, k *store.Key) error {
	c.creates.Add(1)
	return c.KeyStore.CreateKey(ctx, k)
}

func (c *countingKeys) UpdateKey(ctx context.Context, id string, u store.KeyUpdate) (*store.Key, error) {
	c.updates.Add(1)
	return c.KeyStore.UpdateKey(ctx, id, u)
}

func (c *countingKeys) RevokeKey(ctx context.Context, id string, t time.Time) (*store.Key, error) {
	c.revokes.Add(1)
	return c.KeyStore.RevokeKey(ctx, id, t)
}

func (c *countingKeys) DeleteKey(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.KeyStore.DeleteKey(ctx, id)
}

// Unwrap lets the manager find the memory store's CreditTaker.
func (c *countingKeys) Unwrap() store.KeyStore { return c.KeyStore }

func (c *countingKeys) writes() int64 {
	return c.creates.Load() + c.updates.Load() + c.revokes.Load() + c.deletes.Load()
}

// countingUsage counts TouchKeys calls.
type countingUsage struct {
	store.UsageStore
	touches atomic.Int64
}

func (c *countingUsage) TouchKeys(ctx context.Context, u []store.KeyUsage) error {
	c.touches.Add(1)
	return c.UsageStore.TouchKeys(ctx, u)
}

// The users of every environment. Each gets a bootstrap key with the same
// scopes as the user record.
const (
	alice   = "u_alice"   // t1 member
	bob     = "u_bob"     // t1 member
	mallory = "u_mallory" // t1 member holding the admin scope
	olga    = "u_olga"    // t1 org admin
	oscar   = "u_oscar"   // t1 org admin without the admin scope
	sam     = "u_sam"     // t1 super admin
	carol   = "u_carol"   // t2 member
	otto    = "u_otto"    // t2 org admin
)

var testUsers = []store.User{
	{ID: alice, TenantID: "t1", Email: "alice@t1.example", Level: store.LevelMember, Scopes: []string{"read", "write"}},
	{ID: bob, TenantID: "t1", Email: "bob@t1.example", Level: store.LevelMember, Scopes: []string{"read", "write"}},
	{ID: mallory, TenantID: "t1", Email: "mallory@t1.example", Level: store.LevelMember, Scopes: []string{"admin", "read", "write"}},
	{ID: olga, TenantID: "t1", Email: "olga@t1.example", Level: store.LevelOrgAdmin, Scopes: []string{"admin", "read", "write"}},
	{ID: oscar, TenantID: "t1", Email: "oscar@t1.example", Level: store.LevelOrgAdmin, Scopes: []string{"read", "write"}},
	{ID: sam, TenantID: "t1", Email: "sam@t1.example", Level: store.LevelSuperAdmin, Scopes: []string{"admin", "read", "write"}},
	{ID: carol, TenantID: "t2", Email: "carol@t2.example", Level: store.LevelMember, Scopes: []string{"read", "write"}},
	{ID: otto, TenantID: "t2", Email: "otto@t2.example", Level: store.LevelOrgAdmin, Scopes: []string{"admin", "read", "write"}},
}

type envConfig struct {
	policy  admin.Policy
	handler admin.HandlerConfig
	events  admin.EventSink
	// orgs replaces the memory store as Config.Orgs (to inject faults).
	orgs store.OrgStore
}

// fakePasswords "hashes" a password into a string that does not hold it.
type fakePasswords struct{}

func (fakePasswords) Hash(pw string) (string, error) {
	return fmt.Sprintf("$fake$%d", len(pw)), nil
}

// env is a whole deployment: a memory store behind a counting wrapper and a
// key cache, the API-key authenticator recording usage, the middleware with
// the audit observer, the manager and the management API on a real server.
type env struct {
	clock    *fakeClock
	mem      *store.Memory
	keys     *countingKeys
	usage    *countingUsage
	cache    *store.KeyCache
	hasher   *store.Hasher
	recorder *store.UsageRecorder
	auth     *apikey.Authenticator
	mw       *middleware.Middleware
	mgr      *admin.Manager
	srv      *httptest.Server
	logs     *syncBuffer
	// boot holds each user's bootstrap key, by user ID.
	boot map[string]string

	mu     sync.Mutex
	bodies []string // every response body the test received, in order
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: newClock(t0), mem: store.NewMemory(), logs: &syncBuffer{}, boot: map[string]string{}}
	e.keys = &countingKeys{KeyStore: e.mem}
	e.usage = &countingUsage{UsageStore: e.mem}
	var err error
	e.hasher, err = store.NewHasher([]byte("pepper-for-admin-tests"))
	require.NoError(t, err)
	e.cache, err = store.NewKeyCache(e.keys, store.CacheConfig{Now: e.clock.Now})
	require.NoError(t, err)
	e.recorder, err = store.NewUsageRecorder(e.usage)
	require.NoError(t, err)
	e.auth, err = apikey.NewAuthenticator(format, e.cache, apikey.Config{Hasher: e.hasher, Usage: e.recorder})
	require.NoError(t, err)
	logger := slogJSON(e.logs)
	e.mw, err = middleware.New(middleware.Config{Observer: admin.NewAuditObserver(logger, nil)}, e.auth)
	require.NoError(t, err)
	orgs := cfg.orgs
	if orgs == nil {
		orgs = e.mem
	}
	e.mgr, err = admin.NewManager(e.cache, e.mem, format, admin.Config{
		Hasher: e.hasher, Policy: cfg.policy, Logger: logger, Now: e.clock.Now, Events: cfg.events,
		Orgs: orgs, Passwords: fakePasswords{}, Sessions: e.mem,
	})
	require.NoError(t, err)
	api, err := admin.NewHandler(e.mgr, e.mw, cfg.handler)
	require.NoError(t, err)
	usersAPI, err := admin.NewUsersHandler(e.mgr, e.mw, admin.HandlerConfig{})
	require.NoError(t, err)
	orgsAPI, err := admin.NewOrgsHandler(e.mgr, e.mw, admin.HandlerConfig{})
	require.NoError(t, err)

	for _, u := range testUsers {
		u.CreatedAt = t0
		require.NoError(t, e.mem.CreateUser(ctx, &u))
		key, _, err := apikey.Issue(ctx, e.cache, format, e.hasher, apikey.Params{
			Name: "bootstrap", OwnerID: u.ID, TenantID: u.TenantID, Scopes: u.Scopes, CreatedBy: "setup", Now: t0,
		})
		require.NoError(t, err)
		e.boot[u.ID] = key
	}

	mux := http.NewServeMux()
	mux.Handle(apiPath, api)
	mux.Handle(apiPath+"/", api)
	for _, p := range []string{usersPath, usersPath + "/"} {
		mux.Handle(p, usersAPI)
	}
	for _, p := range []string{orgsPath, orgsPath + "/"} {
		mux.Handle(p, orgsAPI)
	}
	mux.Handle("GET "+mePath, e.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": p.ID, "tenant_id": p.TenantID, "key_id": p.KeyID, "scopes": p.Scopes})
	})))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// principal authenticates key as the middleware would and returns its
// principal, for calling the Manager directly.
func (e *env) principal(t *testing.T, key string) *gatehouse.Principal {
	t.Helper()
	p, err := e.auth.Verify(context.Background(), key)
	require.NoError(t, err)
	return p
}

// issue stores a key for owner directly, bypassing the manager.
func (e *env) issue(t testing.TB, owner string, p apikey.Params) (string, *store.Key) {
	t.Helper()
	u, err := e.mem.UserByID(context.Background(), owner)
	require.NoError(t, err)
	if p.Name == "" {
		p.Name = "fixture"
	}
	if p.Scopes == nil && p.Role == "" {
		p.Scopes = []string{"read"}
	}
	p.OwnerID, p.TenantID, p.CreatedBy = owner, u.TenantID, "setup"
	if p.Now.IsZero() {
		p.Now = e.clock.Now()
	}
	key, rec, err := apikey.Issue(context.Background(), e.cache, format, e.hasher, p)
	require.NoError(t, err)
	return key, rec
}

// response is what the server answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request authenticated by key ("" for none). body is nil, a
// string sent as is, or a value sent as JSON.
func (e *env) do(t *testing.T, method, path, key string, body any) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	e.mu.Lock()
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// object decodes the body as a JSON object.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// requireStatus checks a success status and a JSON body.
func requireStatus(t *testing.T, r *response, status int) map[string]any {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	return r.object(t)
}

// assertProblem checks a refusal: status, problem+json, code, and a status
// member equal to the HTTP status. It returns the problem.
func assertProblem(t *testing.T, r *response, status int, code string) middleware.Problem {
	t.Helper()
	var p middleware.Problem
	assert.Equal(t, status, r.status, "body: %s", r.body)
	assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	if !assert.NoError(t, json.Unmarshal(r.body, &p), "body: %s", r.body) {
		return p
	}
	assert.Equal(t, code, p.Code)
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Detail)
	return p
}

// assertRefusal checks the problem of a 403, a 404 (whose detail is
// notFound) or a 422 (which names the invalid fields); other statuses are
// left to the caller.
func assertRefusal(t *testing.T, r *response, notFound string) {
	t.Helper()
	switch r.status {
	case http.StatusForbidden:
		assertProblem(t, r, http.StatusForbidden, "forbidden")
	case http.StatusNotFound:
		p := assertProblem(t, r, http.StatusNotFound, "not_found")
		assert.Equal(t, notFound, p.Detail)
	case http.StatusUnprocessableEntity:
		p := assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
		assert.NotEmpty(t, p.Errors)
	}
}

// statusOf maps a Manager error to the status the handler gives it.
func statusOf(err error, success int) int {
	switch {
	case err == nil:
		return success
	case errors.Is(err, admin.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, admin.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, admin.ErrForbidden):
		return http.StatusForbidden
	}
	return -1
}

// logEvents decodes the JSON log lines.
func logEvents(t *testing.T, buf *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "log line: %s", line)
		out = append(out, m)
	}
	return out
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func ptr[T any](v T) *T { return &v }
