package benchmarks

import (
	"context"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create a scratch database

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/internal/testdb"
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
		{"postgres", func(b *testing.B) string { return testdb.Postgres(b, "gh_bench_") }},
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
