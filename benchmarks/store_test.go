package benchmarks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create a scratch database

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// BenchmarkStore verifies one API key through the apikey authenticator on
// each SQL dialect: "cached" through a store.KeyCache (a hit: no database
// call), "uncached" straight on the sqlstore (one indexed SELECT by digest
// per verification). The PostgreSQL half needs GATEHOUSE_TEST_POSTGRES.
func BenchmarkStore(b *testing.B) {
	dbs := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", scratchPostgres},
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlstore.Open(ctx, db.dsn(b), sqlstore.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			format := apikey.MustFormat("cpx_live.")
			key, _, err := apikey.Issue(ctx, s, format, nil, apikey.Params{Name: "bench", OwnerID: "u1", Scopes: []string{"read"}})
			if err != nil {
				b.Fatal(err)
			}
			cache, err := store.NewKeyCache(s, store.CacheConfig{})
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name string
				keys store.KeyStore
			}{
				{"cached", cache},
				{"uncached", s},
			} {
				b.Run(c.name, func(b *testing.B) {
					auth, err := apikey.NewAuthenticator(format, c.keys, apikey.Config{})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := auth.Verify(ctx, key); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if _, err := auth.Verify(ctx, key); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// scratchPostgres creates a database of its own on the server named by
// GATEHOUSE_TEST_POSTGRES, dropped when the benchmark ends, and returns its
// URL. Without the variable the benchmark is skipped.
func scratchPostgres(b *testing.B) string {
	b.Helper()
	raw := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if raw == "" {
		b.Skip("set GATEHOUSE_TEST_POSTGRES=postgres://... to run the PostgreSQL benchmarks; .ci/run starts a server")
	}
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal("GATEHOUSE_TEST_POSTGRES must be a postgres:// URL")
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := "gh_bench_" + hex.EncodeToString(r[:])
	exec := func(stmt string) {
		db, err := sql.Open("pgx", raw)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	exec("CREATE DATABASE " + name)
	b.Cleanup(func() { exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}
