package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/gatehouse-go/gatehouse/store"
)

// Config holds the optional settings of a [Store]. The zero value is usable.
type Config struct {
	// Now is the clock used for the times the store writes itself (the
	// change log, the migrations table). Default time.Now.
	Now func() time.Time
	// BusyTimeout is how long a SQLite connection waits for another
	// connection or process that holds the write lock before it fails.
	// Used by [Open] only. Default 5 seconds.
	BusyTimeout time.Duration
	// StatementTimeout is the database's own bound on one statement:
	// PostgreSQL's statement_timeout on the connections [Open] makes, so
	// that a statement the client gave up on does not run on. It is also
	// the commit fence of a write whose context has no deadline (see
	// [Store]). Default 5 seconds.
	StatementTimeout time.Duration
	// MaxOpenConns bounds the connections [Open] keeps to the database.
	// Default 16. ([New] leaves the caller's *sql.DB as it is.)
	MaxOpenConns int
}

func (c Config) withDefaults() (Config, error) {
	if c.BusyTimeout < 0 || c.MaxOpenConns < 0 || c.StatementTimeout < 0 {
		return c, errors.New("sqlstore: config: BusyTimeout, StatementTimeout and MaxOpenConns must not be negative")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.StatementTimeout == 0 {
		c.StatementTimeout = 5 * time.Second
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 16
	}
	return c, nil
}

// Store implements every store interface (keys, usage, users, reminders,
// sessions, signing keys, organizations, sign-in tokens) on SQLite or PostgreSQL through database/sql. It
// is safe for concurrent use, and several Stores, in one process or many,
// may share one database: updates, revocations and deletions are published
// on the invalidation feed that [Store.Watch] follows.
//
// Every call ends with its context: give each request a deadline (the
// admin and session handlers do, 5 s by default). Every write runs in a
// transaction, so that a write whose caller gave up does not commit later:
// database/sql never sends COMMIT once the context is done, and on
// PostgreSQL the write is fenced as well: just before COMMIT the
// transaction's idle_in_transaction_session_timeout is set to what is left
// of the context's deadline (StatementTimeout when it has none), so that a
// COMMIT held up in a hung network and delivered after the deadline finds
// its session ended and the transaction rolled back. One window remains,
// and cannot be closed by any client: a COMMIT that reaches the server
// before the deadline commits even if its answer is lost or arrives too
// late; the caller then reports a failure for a write that was made (for a
// new API key: a key whose secret nobody received, which stays unusable
// and can be revoked from the key list).
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
	fence   time.Duration // StatementTimeout: the commit fence without a deadline
	ownsDB  bool
	pgConf  *pgx.ConnConfig // Postgres: how to open the watcher's connection

	mu       sync.Mutex
	watchers map[*Watcher]struct{}
	closed   bool
}

var (
	_ store.KeyStore         = (*Store)(nil)
	_ store.UsageStore       = (*Store)(nil)
	_ store.UserStore        = (*Store)(nil)
	_ store.ReminderStore    = (*Store)(nil)
	_ store.SessionStore     = (*Store)(nil)
	_ store.SigningKeyStore  = (*Store)(nil)
	_ store.OrgStore         = (*Store)(nil)
	_ store.SignInTokenStore = (*Store)(nil)
)

// Open opens the database that dsn names and brings its schema up to date.
//
// A dsn that starts with "postgres://" or "postgresql://" is a PostgreSQL
// URL (any form pgx accepts). Anything else is SQLite: a file path, a
// "file:" URI, or either of those after "sqlite:". The file is created if
// missing. Open adds the pragmas every SQLite connection needs (busy
// timeout, WAL, foreign keys, BEGIN IMMEDIATE) unless the DSN sets them.
// In-memory SQLite is refused: use store.NewMemory.
//
// Open applies the embedded migrations (see [Store.Migrate]) before it
// returns. Close the Store when done.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var (
		db     *sql.DB
		pgConf *pgx.ConnConfig
		d      = dialectOf(dsn)
	)
	switch d {
	case Postgres:
		pgConf, err = pgx.ParseConfig(dsn)
		if err != nil {
			// pgx's message may quote the DSN, password included.
			return nil, fmt.Errorf("%w: PostgreSQL URL does not parse", ErrDSN)
		}
		if _, set := pgConf.RuntimeParams["statement_timeout"]; !set {
			pgConf.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
		}
		db = stdlib.OpenDB(*pgConf)
	default:
		full, err := sqliteDSN(dsn, cfg.BusyTimeout)
		if err != nil {
			return nil, err
		}
		if db, err = sql.Open("sqlite", full); err != nil {
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(min(cfg.MaxOpenConns, 4))
	s := newStore(db, d, cfg)
	s.ownsDB = true
	s.pgConf = pgConf
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on a database the caller opened, and applies the
// migrations. For SQLite, open db with modernc.org/sqlite and set a busy
// timeout and WAL mode as [Open] does; for PostgreSQL, use
// github.com/jackc/pgx/v5/stdlib (the invalidation feed needs pgx). Close
// on the Store stops its watchers but leaves db open: it is the caller's.
func New(ctx context.Context, db *sql.DB, d Dialect, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q", string(d))
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newStore(db, d, cfg)
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(db *sql.DB, d Dialect, cfg Config) *Store {
	return &Store{db: db, dialect: d, now: cfg.Now, fence: cfg.StatementTimeout, watchers: map[*Watcher]struct{}{}}
}

// DB returns the underlying database handle, for tuning the pool or for
// the application's own tables. Do not close it while the Store is in use.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the database the Store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close stops the Store's watchers and, for a Store from [Open], closes
// the database. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ws := make([]*Watcher, 0, len(s.watchers))
	for w := range s.watchers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.Close()
	}
	if s.ownsDB {
		return s.db.Close()
	}
	return nil
}

// inTx runs fn in a transaction and commits it, fenced (see [Store]): on
// PostgreSQL the session may stay idle before COMMIT only for what is left
// of ctx's deadline.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if s.dialect == Postgres {
		left := s.fence
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl)
		}
		if left <= 0 {
			return context.DeadlineExceeded
		}
		ms := strconv.FormatInt(max(left.Milliseconds(), 1), 10)
		if _, err := tx.ExecContext(ctx, `SELECT set_config('idle_in_transaction_session_timeout', $1, true)`, ms); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// exec runs one writing statement in a fenced transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}
