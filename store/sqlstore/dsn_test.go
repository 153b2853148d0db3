package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialectOf(t *testing.T) {
	tests := []struct {
		dsn  string
		want Dialect
	}{
		{"postgres://u@h/db", Postgres},
		{"postgresql://u@h/db?sslmode=disable", Postgres},
		{"POSTGRES://u@h/db", Postgres},
		{"gatehouse.db", SQLite},
		{"/var/lib/gatehouse/keys.db", SQLite},
		{"file:keys.db?mode=rwc", SQLite},
		{"sqlite:keys.db", SQLite},
		{"postgres.db", SQLite},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			assert.Equal(t, tc.want, dialectOf(tc.dsn))
		})
	}
}

func TestSQLiteDSN(t *testing.T) {
	const all = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	tests := []struct {
		name, dsn, want string
	}{
		{"path", "keys.db", "keys.db?" + all},
		{"absolute path", "/tmp/x/keys.db", "/tmp/x/keys.db?" + all},
		{"file URI", "file:keys.db", "file:keys.db?" + all},
		{"file URI with parameters", "file:keys.db?mode=rwc", "file:keys.db?mode=rwc&" + all},
		{"sqlite: prefix", "sqlite:keys.db", "keys.db?" + all},
		{"sqlite:// prefix", "sqlite:///tmp/keys.db", "/tmp/keys.db?" + all},
		{"caller's busy timeout wins", "keys.db?_pragma=busy_timeout(50)",
			"keys.db?_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"},
		{"caller's journal mode and txlock win", "keys.db?_pragma=journal_mode(DELETE)&_txlock=deferred",
			"keys.db?_pragma=journal_mode(DELETE)&_txlock=deferred&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqliteDSN(tc.dsn, 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	bad := []struct{ name, dsn string }{
		{"empty", ""},
		{"empty after prefix", "sqlite:"},
		{"memory", ":memory:"},
		{"memory URI", "file::memory:"},
		{"memory mode", "file:x?mode=memory&cache=shared"},
		{"bad query", "keys.db?%zz"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := sqliteDSN(tc.dsn, time.Second)
			assert.ErrorIs(t, err, ErrDSN)
		})
	}
}

func TestOpenRefusesBadDSN(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, dsn string
		secret    string
	}{
		{"in-memory SQLite", ":memory:", ""},
		{"PostgreSQL URL that does not parse", "postgres://user:hunter2@[::1/db", "hunter2"},
		{"unknown PostgreSQL parameter value", "postgres://user:hunter2@localhost/db?sslmode=sometimes", "hunter2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.dsn, Config{})
			require.ErrorIs(t, err, ErrDSN)
			assert.Nil(t, s)
			if tc.secret != "" {
				assert.NotContains(t, err.Error(), tc.secret, "the error echoes the password")
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative busy timeout", Config{BusyTimeout: -time.Second}},
		{"negative max conns", Config{MaxOpenConns: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, sqlitePath(t), tc.cfg)
			assert.Error(t, err)
		})
	}
}
