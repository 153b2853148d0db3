package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// dialects are the databases every dialect-neutral test runs on. fresh
// returns the DSN of a new, empty database, removed when the test ends.
var dialects = []struct {
	name  string
	fresh func(t *testing.T) string
}{
	{"sqlite", sqlitePath},
	{"postgres", postgresDSN},
}

// sqlitePath returns the path of a new SQLite file in t.TempDir().
func sqlitePath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "gatehouse.db")
}

// postgresDSN creates a database of its own for the test on the server
// named by GATEHOUSE_TEST_POSTGRES (other people's tests share the server)
// and drops it when the test ends. Without the variable the test is
// skipped, or fails under CI.
func postgresDSN(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if raw == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("set GATEHOUSE_TEST_POSTGRES=postgres://... to run the PostgreSQL tests; .ci/run starts a server")
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, "GATEHOUSE_TEST_POSTGRES must be a postgres:// URL")
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	admin(t, raw, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, raw, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

func admin(t *testing.T, dsn, stmt string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(context.Background(), stmt)
	require.NoError(t, err, stmt)
}

// open opens a Store on dsn, closed when the test ends.
func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// recorder is an Invalidator that counts what it is told and passes it
// on, announcing each digest, with when it came, on a channel.
type recorder struct {
	inner Invalidator

	mu     sync.Mutex
	all    int
	digest []store.Digest
	seen   chan seen
}

type seen struct {
	d  store.Digest
	at time.Time
}

func newRecorder(inner Invalidator) *recorder {
	return &recorder{inner: inner, seen: make(chan seen, 1024)}
}

func (r *recorder) Invalidate(d store.Digest) {
	if r.inner != nil {
		r.inner.Invalidate(d)
	}
	r.mu.Lock()
	r.digest = append(r.digest, d)
	r.mu.Unlock()
	select {
	case r.seen <- seen{d, time.Now()}:
	default:
	}
}

func (r *recorder) InvalidateAll() {
	if r.inner != nil {
		r.inner.InvalidateAll()
	}
	r.mu.Lock()
	r.all++
	r.mu.Unlock()
}

func (r *recorder) counts() (digests, all int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.digest), r.all
}
