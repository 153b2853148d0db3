package sqlstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
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

// postgresDSN creates a database of its own for the test (see testdb).
func postgresDSN(t *testing.T) string { return testdb.Postgres(t, "gh_test_") }

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

// FeedAlive passes heartbeats on to the wrapped caches.
func (r *recorder) FeedAlive(at time.Time) {
	if a, ok := r.inner.(feedAliver); ok {
		a.FeedAlive(at)
	}
}

func (r *recorder) counts() (digests, all int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.digest), r.all
}
