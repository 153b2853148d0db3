package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// The schema is versioned by the files in migrations/<dialect>/, named
// NNNN_description.sql and applied in order, each once, inside one
// transaction together with its row in gatehouse_schema_migrations.
// Migrations only ever add: a process running an older build keeps working
// on a newer schema during a rolling deploy.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads dir of fsys: every *.sql file must be named
// NNNN_name.sql, versions unique; they are returned in version order.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || len(num) != 4 || name == "" {
			return nil, fmt.Errorf("sqlstore: migrations: %q is not named NNNN_name.sql", e.Name())
		}
		if len(out) > 0 && out[len(out)-1].version == v {
			return nil, fmt.Errorf("sqlstore: migrations: version %d twice", v)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migrations: %w", err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	// fs.ReadDir sorts by name, and the names start with zero-padded
	// versions, so out is in version order.
	return out, nil
}

// Migrate brings the schema up to date. [Open] and [New] call it; it is
// idempotent and safe when several processes run it on one database at
// once: on PostgreSQL they take turns through a transaction-scoped
// advisory lock, on SQLite through BEGIN IMMEDIATE (the write lock, waited
// for up to the busy timeout).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	return s.migrate(ctx, ms)
}

func (s *Store) migrate(ctx context.Context, ms []migration) error {
	var err error
	if s.dialect == Postgres {
		err = s.migratePostgres(ctx, ms)
	} else {
		err = s.migrateSQLite(ctx, ms)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// migrationLockKey is the pg_advisory_xact_lock key that serializes
// migrations ("gatehous" in ASCII).
const migrationLockKey = 0x67617465686f7573

func (s *Store) migratePostgres(ctx context.Context, ms []migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// A migration may take longer than one request's statement_timeout.
	if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
		return err
	}
	if err := s.applyMigrations(ctx, tx, ms); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateSQLite runs the migrations in a transaction begun with BEGIN
// IMMEDIATE on one connection, whatever the DSN's _txlock says, so that
// two processes never both find a migration pending.
func (s *Store) migrateSQLite(ctx context.Context, ms []migration) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// Never hand a connection with an open transaction back to
			// the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := s.applyMigrations(ctx, conn, ms); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) applyMigrations(ctx context.Context, q execQuerier, ms []migration) error {
	ddl := `CREATE TABLE IF NOT EXISTS gatehouse_schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`
	if s.dialect == Postgres {
		ddl = `CREATE TABLE IF NOT EXISTS gatehouse_schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL)`
	}
	if _, err := q.ExecContext(ctx, ddl); err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, q)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := q.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
		}
		if _, err := q.ExecContext(ctx,
			`INSERT INTO gatehouse_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, s.timeArg(s.now())); err != nil {
			return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, q execQuerier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM gatehouse_schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}
