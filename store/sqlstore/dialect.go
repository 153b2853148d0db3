package sqlstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Dialect is the SQL database a [Store] talks to.
type Dialect string

// The dialects a Store speaks.
const (
	// SQLite is SQLite through modernc.org/sqlite (pure Go, driver name
	// "sqlite"). One file serves one host; several processes may share it.
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib
	// (driver name "pgx"), for many instances.
	Postgres Dialect = "postgres"
)

// String returns the dialect's name.
func (d Dialect) String() string { return string(d) }

func (d Dialect) valid() bool { return d == SQLite || d == Postgres }

// ErrDSN means a DSN given to [Open] cannot be used.
var ErrDSN = errors.New("sqlstore: invalid DSN")

// dialectOf tells which database dsn names: "postgres://" and
// "postgresql://" URLs are PostgreSQL, everything else is a SQLite file.
func dialectOf(dsn string) Dialect {
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// sqliteDSN turns a SQLite path, "file:" URI or "sqlite:" DSN into the DSN
// the driver opens, with the parameters every connection needs appended
// unless the caller set them: a busy timeout (so that writers from several
// connections and processes wait for each other instead of failing), WAL
// journal mode (readers never block the writer), foreign keys on, and
// BEGIN IMMEDIATE for transactions (a transaction that will write takes the
// write lock at once, which avoids deadlocked lock upgrades).
func sqliteDSN(dsn string, busy time.Duration) (string, error) {
	switch lower := strings.ToLower(dsn); {
	case strings.HasPrefix(lower, "sqlite://"):
		dsn = dsn[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		dsn = dsn[len("sqlite:"):]
	}
	path, query, _ := strings.Cut(dsn, "?")
	name := strings.TrimPrefix(path, "file:")
	if name == "" {
		return "", fmt.Errorf("%w: empty SQLite path", ErrDSN)
	}
	if name == ":memory:" || strings.Contains(query, "mode=memory") {
		return "", fmt.Errorf("%w: an in-memory SQLite database is private to one connection; use a file, or store.NewMemory", ErrDSN)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("%w: bad SQLite query parameters", ErrDSN)
	}
	has := func(word string) bool {
		for k, vs := range q {
			if strings.Contains(k, word) {
				return true
			}
			for _, v := range vs {
				if strings.Contains(strings.ToLower(v), word) {
					return true
				}
			}
		}
		return false
	}
	var add []string
	if !has("busy_timeout") {
		add = append(add, fmt.Sprintf("_pragma=busy_timeout(%d)", busy.Milliseconds()))
	}
	if !has("journal_mode") {
		add = append(add, "_pragma=journal_mode(WAL)")
	}
	if !has("foreign_keys") {
		add = append(add, "_pragma=foreign_keys(1)")
	}
	if !has("_txlock") {
		add = append(add, "_txlock=immediate")
	}
	out := path
	if query != "" || len(add) > 0 {
		parts := add
		if query != "" {
			parts = append([]string{query}, add...)
		}
		out += "?" + strings.Join(parts, "&")
	}
	return out, nil
}
