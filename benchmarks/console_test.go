package benchmarks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/console"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// consoleKeys is the size of the organization the console benchmark lists.
const consoleKeys = 10000

// timedKeys counts the time spent in ListKeys, so that the page benchmark
// can report the store call apart from the rest (session, user lookups,
// template rendering).
type timedKeys struct {
	store.KeyStore
	ns atomic.Int64
}

func (t *timedKeys) ListKeys(ctx context.Context, f store.KeyFilter) ([]*store.Key, string, error) {
	start := time.Now()
	keys, next, err := t.KeyStore.ListKeys(ctx, f)
	t.ns.Add(int64(time.Since(start)))
	return keys, next, err
}

// timedUsers counts the time spent in UserByID (the manager's permission
// checks and the owners' names).
type timedUsers struct {
	store.UserStore
	ns atomic.Int64
}

func (t *timedUsers) UserByID(ctx context.Context, id string) (*store.User, error) {
	start := time.Now()
	u, err := t.UserStore.UserByID(ctx, id)
	t.ns.Add(int64(time.Since(start)))
	return u, err
}

type consoleFixture struct {
	con     http.Handler
	mgr     *admin.Manager
	admin   *gatehouse.Principal
	cookie  *http.Cookie
	cursors []string // the "after" of every page of the organization's keys
	timed   *timedKeys
	users   *timedUsers
}

// consoleDir holds the fixture's database; TestMain removes it.
var consoleDir string

// consoleSetup builds, once per process, an organization with 20 members
// and 10,000 keys on SQLite, the console over it and an org admin's
// session.
var consoleSetup = sync.OnceValues(func() (*consoleFixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatehouse-console-bench-")
	if err != nil {
		return nil, err
	}
	consoleDir = dir
	f := &consoleFixture{}
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "console.db"), sqlstore.Config{})
	if err != nil {
		return f, err
	}
	now := time.Now().UTC()
	if err := s.CreateOrg(ctx, &store.Org{ID: "acme", Name: "Acme", CreatedAt: now}); err != nil {
		return f, err
	}
	var owners []string
	for i := range 20 {
		u := &store.User{ID: fmt.Sprintf("usr_%02d", i), TenantID: "acme", Email: fmt.Sprintf("user%02d@acme.example", i),
			Name: fmt.Sprintf("User %d", i), Level: store.LevelMember, CreatedAt: now}
		if i == 0 {
			u.Level = store.LevelOrgAdmin
		}
		if err := s.CreateUser(ctx, u); err != nil {
			return f, err
		}
		owners = append(owners, u.ID)
	}
	format := apikey.MustFormat("cpx_live.")
	for i := range consoleKeys {
		p := apikey.Params{Name: fmt.Sprintf("key %d", i), Description: "a key of the benchmark", OwnerID: owners[i%len(owners)],
			TenantID: "acme", Role: "viewer", CreatedBy: owners[0], Now: now}
		if i%3 == 0 {
			p.ExpiresAt = now.Add(time.Duration(i%90+1) * 24 * time.Hour)
		}
		if _, _, err := apikey.Issue(ctx, s, format, nil, p); err != nil {
			return f, err
		}
	}
	keys, err := store.NewKeyCache(s, store.CacheConfig{})
	if err != nil {
		return f, err
	}
	f.timed, f.users = &timedKeys{KeyStore: keys}, &timedUsers{UserStore: s}
	f.mgr, err = admin.NewManager(f.timed, f.users, format, admin.Config{Orgs: s})
	if err != nil {
		return f, err
	}
	sessions, err := store.NewSessionCache(s, store.CacheConfig{})
	if err != nil {
		return f, err
	}
	sm, err := session.NewManager(sessions, session.Config{InsecureDevCookie: true})
	if err != nil {
		return f, err
	}
	scopes := func(*store.User) []string { return []string{"admin", "read", "write"} }
	login, err := session.NewHandler(sm, s, session.HandlerConfig{Scopes: scopes})
	if err != nil {
		return f, err
	}
	con, err := console.New(f.mgr, login, console.Config{})
	if err != nil {
		return f, err
	}
	f.con = con
	w := httptest.NewRecorder()
	f.admin, err = login.StartSession(ctx, w, httptest.NewRequest("POST", "/", nil), owners[0])
	if err != nil {
		return f, err
	}
	f.cookie = w.Result().Cookies()[0]
	after := ""
	for {
		f.cursors = append(f.cursors, after)
		_, next, err := f.mgr.List(ctx, f.admin, admin.ListRequest{TenantID: "acme", IncludeRevoked: true, After: after, Limit: 50})
		if err != nil {
			return f, err
		}
		if next == "" {
			break
		}
		after = next
	}
	return f, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if consoleDir != "" {
		os.RemoveAll(consoleDir)
	}
	os.Exit(code)
}

// BenchmarkConsoleKeysPage renders the organization's API keys page of an
// org admin, one page of 50 after another through the organization's
// 10,000 keys, on SQLite: "store" is the manager's List alone (the store
// call, with its permission check); "page" is the whole GET through the
// console, and reports apart the time inside the key store call
// (store-ms/op), inside the user lookups (users-ms/op: the permission
// checks and the owners' names, one per distinct owner on the page) and
// the rest (render-ms/op: the session check and the template).
func BenchmarkConsoleKeysPage(b *testing.B) {
	f, err := consoleSetup()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := len(f.cursors)
	if n < consoleKeys/50 {
		b.Fatalf("%d pages, want %d", n, consoleKeys/50)
	}
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			keys, _, err := f.mgr.List(ctx, f.admin, admin.ListRequest{TenantID: "acme", IncludeRevoked: true, After: f.cursors[i%n], Limit: 50})
			if err != nil || len(keys) != 50 {
				b.Fatalf("%d keys, %v", len(keys), err)
			}
			i++
		}
	})
	b.Run("page", func(b *testing.B) {
		reqs := make([]*http.Request, n)
		for i, after := range f.cursors {
			r := httptest.NewRequest("GET", "/console/keys?view=org&after="+after, nil)
			r.AddCookie(f.cookie)
			reqs[i] = r
		}
		w := newNopWriter()
		f.con.ServeHTTP(w, reqs[0])
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
		b.ReportAllocs()
		f.timed.ns.Store(0)
		f.users.ns.Store(0)
		i := 0
		for b.Loop() {
			w.code = 0
			f.con.ServeHTTP(w, reqs[i%n])
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
			i++
		}
		storeNs := float64(f.timed.ns.Load()) / float64(b.N)
		usersNs := float64(f.users.ns.Load()) / float64(b.N)
		b.ReportMetric(storeNs/1e6, "store-ms/op")
		b.ReportMetric(usersNs/1e6, "users-ms/op")
		b.ReportMetric((float64(b.Elapsed().Nanoseconds())/float64(b.N)-storeNs-usersNs)/1e6, "render-ms/op")
	})
}
