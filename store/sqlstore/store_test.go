package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

func TestNew(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.fresh(t)
			driver, dialect := "sqlite", SQLite
			if d.name == "postgres" {
				driver, dialect = "pgx", Postgres
			} else {
				var err error
				dsn, err = sqliteDSN(dsn, 5*time.Second)
				require.NoError(t, err)
			}
			db, err := sql.Open(driver, dsn)
			require.NoError(t, err)
			defer db.Close()

			s, err := New(ctx, db, dialect, Config{})
			require.NoError(t, err)
			assert.Equal(t, dialect, s.Dialect())
			assert.Same(t, db, s.DB())
			k := testKey("k1")
			require.NoError(t, s.CreateKey(ctx, k))

			// The watcher works with the caller's *sql.DB too.
			w, err := s.Watch(ctx, newRecorder(nil), WatchConfig{})
			require.NoError(t, err)

			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "Close is idempotent")
			select {
			case <-w.Done():
			default:
				t.Fatal("Close left a watcher running")
			}
			assert.NoError(t, db.PingContext(ctx), "Close leaves the caller's database open")
		})
	}
	t.Run("refuses a nil database", func(t *testing.T) {
		_, err := New(ctx, nil, SQLite, Config{})
		assert.Error(t, err)
	})
	t.Run("refuses an unknown dialect", func(t *testing.T) {
		db, err := sql.Open("sqlite", sqlitePath(t))
		require.NoError(t, err)
		defer db.Close()
		_, err = New(ctx, db, Dialect("oracle"), Config{})
		assert.Error(t, err)
	})
}

func testKey(name string) *store.Key {
	id := store.NewID("key")
	return &store.Key{ID: id, Digest: sha256.Sum256([]byte(id)), Name: name, CreatedAt: time.Now().UTC()}
}

func TestTouchKeys(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := open(t, d.fresh(t))
			a, b := testKey("a"), testKey("b")
			b.LastUsedAt = t0.Add(time.Hour)
			require.NoError(t, s.CreateKey(ctx, a))
			require.NoError(t, s.CreateKey(ctx, b))

			require.NoError(t, s.TouchKeys(ctx, []store.KeyUsage{
				{KeyID: a.ID, At: t0},
				{KeyID: b.ID, At: t0}, // earlier than stored: kept
				{KeyID: "key_missing", At: t0},
			}))
			got, err := s.KeyByID(ctx, a.ID)
			require.NoError(t, err)
			assert.True(t, t0.Equal(got.LastUsedAt), "a: %v", got.LastUsedAt)
			got, err = s.KeyByID(ctx, b.ID)
			require.NoError(t, err)
			assert.True(t, t0.Add(time.Hour).Equal(got.LastUsedAt), "b: %v", got.LastUsedAt)

			require.NoError(t, s.TouchKeys(ctx, []store.KeyUsage{{KeyID: a.ID, At: t0.Add(time.Minute)}}))
			got, err = s.KeyByID(ctx, a.ID)
			require.NoError(t, err)
			assert.True(t, t0.Add(time.Minute).Equal(got.LastUsedAt), "later use recorded")
			assert.NoError(t, s.TouchKeys(ctx, nil))

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			assert.ErrorIs(t, s.TouchKeys(cancelled, []store.KeyUsage{{KeyID: a.ID, At: t0.Add(time.Hour)}}), context.Canceled)
		})
	}
}

// TestCorruptRecord checks that a row the store did not write in its own
// format is reported as store.ErrCorrupt, never returned half-read.
func TestCorruptRecord(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := open(t, d.fresh(t))
			tests := []struct {
				name, column, value string
			}{
				{"scopes not JSON", "scopes", "read write"},
				{"metadata not an object", "metadata", `["a"]`},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					k := testKey(tc.name)
					require.NoError(t, s.CreateKey(ctx, k))
					_, err := s.DB().ExecContext(ctx, `UPDATE gatehouse_keys SET `+tc.column+` = $1 WHERE id = $2`, tc.value, k.ID)
					require.NoError(t, err)
					got, err := s.KeyByDigest(ctx, k.Digest)
					assert.ErrorIs(t, err, store.ErrCorrupt)
					assert.Nil(t, got)
					_, _, err = s.ListKeys(ctx, store.KeyFilter{})
					assert.ErrorIs(t, err, store.ErrCorrupt)
					require.NoError(t, s.DeleteKey(ctx, k.ID))
				})
			}
			t.Run("digest of the wrong length is refused by the schema", func(t *testing.T) {
				k := testKey("short")
				require.NoError(t, s.CreateKey(ctx, k))
				_, err := s.DB().ExecContext(ctx, `UPDATE gatehouse_keys SET digest = $1 WHERE id = $2`, []byte{1, 2, 3}, k.ID)
				assert.Error(t, err)
			})
		})
	}
}

// TestTimesAreUTCMicroseconds checks the stored representation, which
// other tools reading the database rely on.
func TestTimesAreUTCMicroseconds(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 123_456_789, time.FixedZone("X", -7*3600))
	t.Run("sqlite", func(t *testing.T) {
		s := open(t, sqlitePath(t))
		k := testKey("t")
		k.CreatedAt = at
		require.NoError(t, s.CreateKey(ctx, k))
		var micros int64
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT created_at FROM gatehouse_keys WHERE id = $1`, k.ID).Scan(&micros))
		assert.Equal(t, at.UnixMicro(), micros)
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, at.UTC().Truncate(time.Microsecond), got.CreatedAt)
	})
	t.Run("postgres", func(t *testing.T) {
		s := open(t, postgresDSN(t))
		k := testKey("t")
		k.CreatedAt = at
		require.NoError(t, s.CreateKey(ctx, k))
		var text string
		require.NoError(t, s.DB().QueryRowContext(ctx,
			`SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM gatehouse_keys WHERE id = $1`, k.ID).Scan(&text))
		assert.Equal(t, "2030-05-06 14:08:09.123456", text)
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, at.UTC().Truncate(time.Microsecond), got.CreatedAt)
	})
}
