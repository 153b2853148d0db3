// Package sqlstore keeps Gatehouse's API keys in SQL: SQLite (pure Go,
// through modernc.org/sqlite, no cgo) for one host, PostgreSQL (through
// github.com/jackc/pgx/v5) for many instances. One database/sql
// implementation of store.KeyStore serves both.
//
//	s, err := sqlstore.Open(ctx, "gatehouse.db", sqlstore.Config{}) // or "postgres://..."
//	if err != nil { ... }
//	defer s.Close()
//	keys, err := store.NewKeyCache(s, store.CacheConfig{})
//	if err != nil { ... }
//	// Drop keys that other processes update, revoke or delete.
//	w, err := s.Watch(ctx, keys, sqlstore.WatchConfig{})
//	if err != nil { ... }
//	defer w.Close()
//	auth, err := apikey.NewAuthenticator(apikey.MustFormat("cpx_live."), keys, apikey.Config{})
//
// # Schema
//
// [Open] applies the versioned migrations embedded in the package
// (migrations/sqlite/*.sql, migrations/postgres/*.sql) and records them in
// gatehouse_schema_migrations. It is idempotent and safe when several
// processes open one database at once. Every table is named gatehouse_*,
// so that the store can share a database with the application; on
// PostgreSQL, a search_path in the DSN puts them in a schema of their own.
//
// Keys live in gatehouse_keys, found by the unique index on the digest
// column (bytea, BLOB), never by plaintext. Scopes and metadata are JSON
// text. Times are UTC with microsecond precision (finer digits truncated):
// timestamptz on PostgreSQL, INTEGER microseconds since the Unix epoch on
// SQLite; NULL is "never".
//
// Organizations and their key policies live in gatehouse_orgs, single-use
// sign-in tokens in gatehouse_signin_tokens, by digest; a token is consumed
// by the one DELETE ... RETURNING that removes its row, so of concurrent
// callers exactly one gets it. Expired tokens are deleted when someone
// tries them; tokens never tried stay until then.
//
// # Revocation across processes
//
// Every update, revocation and deletion made through a Store is published
// in the transaction that makes it: on PostgreSQL with
// pg_notify('gatehouse_keys', <hex digest>), on SQLite by appending the
// digest to the gatehouse_key_changes table. [Store.Watch] follows that
// feed and drops the changed keys from a cache: within a few milliseconds
// on PostgreSQL, within WatchConfig.PollInterval (250 ms) on SQLite. Each
// heartbeat of the feed vouches for the cache; when the feed is down (a
// lost or hung connection, an unreadable file) the cache reads a record
// older than 1 s again from the store before serving it, so a change still
// reaches every process that can reach the database within 1 s. When the
// feed comes back the watcher drops the whole cache, because events may
// have been missed. Outages are reported once when they start and once
// when they end to WatchConfig.Observer.
//
// Every call ends with its context, and every write runs in a transaction
// fenced against a late COMMIT (see [Store]); [Config.StatementTimeout]
// is the database's own bound. [Store.CheckPepper] keeps processes with
// different peppers off one database.
//
// A process that changes keys through a store.KeyCache drops them from
// that cache at once, before the call returns; the feed is for the others.
//
// # SQLite
//
// Several processes may share one file (a server and the CLI that revokes
// keys): Open turns on WAL mode, sets a busy timeout on every connection,
// and begins transactions with BEGIN IMMEDIATE. In-memory databases are
// refused; use store.NewMemory.
//
// A Store is safe for concurrent use.
package sqlstore
