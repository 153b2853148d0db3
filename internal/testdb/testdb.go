// Package testdb gives tests a PostgreSQL database of their own on the
// server named by GATEHOUSE_TEST_POSTGRES, and the Redis server named by
// GATEHOUSE_TEST_REDIS. Without the variable a test is skipped with a
// message that says how to run it, or fails when CI=true: CI never skips
// the PostgreSQL or Redis tests in silence.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Postgres creates a database named prefix plus random hex, returns its
// URL, and drops it when the test ends.
func Postgres(t testing.TB, prefix string) string {
	t.Helper()
	raw := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if raw == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("set GATEHOUSE_TEST_POSTGRES=postgres://... to run the PostgreSQL tests; .ci/run starts a server")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	Exec(t, raw, "CREATE DATABASE "+name)
	t.Cleanup(func() { Exec(t, raw, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// Exec runs one statement on dsn through its own connection.
func Exec(t testing.TB, dsn, stmt string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// RedisAddr returns the Redis server named by GATEHOUSE_TEST_REDIS
// (host:port or a redis:// URL). Without the variable the test is skipped
// with a message that says how to run it, or fails when CI=true.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("GATEHOUSE_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GATEHOUSE_TEST_REDIS is not set; CI must run the Redis tests")
		}
		t.Skip("set GATEHOUSE_TEST_REDIS=127.0.0.1:6379 (or a redis:// URL) to run the Redis tests; .ci/run starts a server")
	}
	return addr
}
