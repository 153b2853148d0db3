package sqlstore

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	t.Run("in version order, other files ignored", func(t *testing.T) {
		fsys := fstest.MapFS{
			"m/0002_second.sql": file("B"),
			"m/0001_first.sql":  file("A"),
			"m/0010_tenth.sql":  file("J"),
			"m/README.md":       file("x"),
		}
		ms, err := loadMigrations(fsys, "m")
		require.NoError(t, err)
		require.Len(t, ms, 3)
		assert.Equal(t, []migration{{1, "first", "A"}, {2, "second", "B"}, {10, "tenth", "J"}}, ms)
	})
	bad := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"no underscore", fstest.MapFS{"m/0001.sql": file("")}},
		{"not a number", fstest.MapFS{"m/abcd_x.sql": file("")}},
		{"not four digits", fstest.MapFS{"m/1_x.sql": file("")}},
		{"version zero", fstest.MapFS{"m/0000_x.sql": file("")}},
		{"version twice", fstest.MapFS{"m/0001_a.sql": file(""), "m/0001_b.sql": file("")}},
		{"missing directory", fstest.MapFS{}},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := loadMigrations(tc.fsys, "m")
			assert.Error(t, err)
		})
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run("embedded "+d.String(), func(t *testing.T) {
			ms, err := loadMigrations(migrationFiles, "migrations/"+d.String())
			require.NoError(t, err)
			require.NotEmpty(t, ms)
			assert.Equal(t, 1, ms[0].version)
		})
	}
}

// versions returns the applied migrations, in order.
func versions(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), `SELECT version FROM gatehouse_schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func embedded(t *testing.T, d Dialect) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFiles, "migrations/"+d.String())
	require.NoError(t, err)
	return ms
}

func wantVersions(ms []migration) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}

func TestOpenTwice(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.fresh(t)
			s1, err := Open(ctx, dsn, Config{})
			require.NoError(t, err)
			want := wantVersions(embedded(t, s1.Dialect()))
			assert.Equal(t, want, versions(t, s1))
			_, rec, err := apikey.Issue(ctx, s1, apikey.MustFormat("cpx_live."), nil, apikey.Params{Name: "kept"})
			require.NoError(t, err)
			require.NoError(t, s1.Close())

			s2 := open(t, dsn)
			assert.Equal(t, want, versions(t, s2), "nothing applied twice")
			got, err := s2.KeyByID(ctx, rec.ID)
			require.NoError(t, err, "the data survives a second Open")
			assert.Equal(t, "kept", got.Name)
			require.NoError(t, s2.Migrate(ctx), "Migrate on an up-to-date schema")
			assert.Equal(t, want, versions(t, s2))
		})
	}
}

func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.fresh(t)
			const n = 4
			stores := make([]*Store, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					stores[i], errs[i] = Open(ctx, dsn, Config{})
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				require.NoError(t, errs[i], "Open %d", i)
				t.Cleanup(func() { stores[i].Close() })
			}
			assert.Equal(t, wantVersions(embedded(t, stores[0].Dialect())), versions(t, stores[0]))
			// Every one of them works on the shared schema.
			for i, s := range stores {
				_, _, err := apikey.Issue(ctx, s, apikey.MustFormat("cpx_live."), nil, apikey.Params{Name: "k"})
				require.NoError(t, err, "store %d", i)
			}
		})
	}
}

func TestMigrateLaterVersions(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := open(t, d.fresh(t))
			ms := embedded(t, s.Dialect())
			next := ms[len(ms)-1].version + 1
			extra := append(ms, migration{next, "extra", `CREATE TABLE gatehouse_extra (id text PRIMARY KEY)`})
			require.NoError(t, s.migrate(ctx, extra))
			require.NoError(t, s.migrate(ctx, extra), "an applied migration is not run again")
			assert.Equal(t, wantVersions(extra), versions(t, s))

			broken := append(extra, migration{next + 1, "broken",
				`CREATE TABLE gatehouse_half (id text); SELECT no_such_function();`})
			err := s.migrate(ctx, broken)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "broken")
			assert.Equal(t, wantVersions(extra), versions(t, s), "a failed migration is not recorded")
			_, err = s.DB().ExecContext(ctx, `SELECT * FROM gatehouse_half`)
			assert.Error(t, err, "a failed migration leaves nothing behind")
		})
	}
}

func TestMigrateCancelled(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s, err := Open(ctx, d.fresh(t), Config{})
			assert.ErrorIs(t, err, context.Canceled)
			assert.Nil(t, s)
		})
	}
}
