package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

var format = apikey.MustFormat("cpx_live.")

// instance is one server's view of the database: its own Store (its own
// *sql.DB), KeyCache, authenticator and watcher.
type instance struct {
	store *Store
	cache *store.KeyCache
	auth  *apikey.Authenticator
	seen  *recorder
	watch *Watcher
}

func newInstance(t *testing.T, dsn string, cfg WatchConfig) *instance {
	t.Helper()
	ctx := context.Background()
	in := &instance{store: open(t, dsn)}
	var err error
	// A day-long TTL: only the feed can make this cache drop a key.
	in.cache, err = store.NewKeyCache(in.store, store.CacheConfig{TTL: 24 * time.Hour})
	require.NoError(t, err)
	in.auth, err = apikey.NewAuthenticator(format, in.cache, apikey.Config{})
	require.NoError(t, err)
	in.seen = newRecorder(in.cache)
	in.watch, err = in.store.Watch(ctx, in.seen, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { in.watch.Close() })
	return in
}

// waitFor waits until r has been told to drop d, and returns how long after
// start that happened. It is a bounded wait for a signal that crosses
// connections (and, for SQLite, possibly processes), not a sleep.
func waitFor(t *testing.T, r *recorder, d store.Digest, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case got := <-r.seen:
			if got.d == d {
				return got.at.Sub(start)
			}
		case <-deadline:
			t.Fatalf("the change was not seen within %v", limit)
		}
	}
}

func report(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	fmt.Printf(format+"\n", args...)
}

// TestWatchAcrossInstances changes keys through one instance and checks
// that the other instance's cache, warmed beforehand, refuses them within
// one second.
func TestWatchAcrossInstances(t *testing.T) {
	ctx := context.Background()
	changes := []struct {
		name   string
		change func(kc *store.KeyCache, rec *store.Key) error
	}{
		{"revoke", func(kc *store.KeyCache, rec *store.Key) error {
			_, err := kc.RevokeKey(ctx, rec.ID, time.Now())
			return err
		}},
		{"delete", func(kc *store.KeyCache, rec *store.Key) error {
			return kc.DeleteKey(ctx, rec.ID)
		}},
		{"expire", func(kc *store.KeyCache, rec *store.Key) error {
			past := time.Now().Add(-time.Second)
			_, err := kc.UpdateKey(ctx, rec.ID, store.KeyUpdate{ExpiresAt: &past})
			return err
		}},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.fresh(t)
			a := newInstance(t, dsn, WatchConfig{})
			b := newInstance(t, dsn, WatchConfig{})
			for _, tc := range changes {
				t.Run(tc.name, func(t *testing.T) {
					key, rec, err := apikey.Issue(ctx, a.cache, format, nil, apikey.Params{Name: tc.name})
					require.NoError(t, err)
					other, _, err := apikey.Issue(ctx, a.cache, format, nil, apikey.Params{Name: "bystander"})
					require.NoError(t, err)
					for _, in := range []*instance{a, b} {
						for _, k := range []string{key, other} {
							_, err := in.auth.Verify(ctx, k)
							require.NoError(t, err, "warming the cache")
						}
					}
					_, cached := b.cache.PeekAt(rec.Digest, time.Now())
					require.True(t, cached, "b holds the key in its cache")

					start := time.Now() // delays count the change's own round trip
					require.NoError(t, tc.change(a.cache, rec))
					_, err = a.auth.Verify(ctx, key)
					require.ErrorIs(t, err, gatehouse.ErrInvalidToken, "the instance that made the change refuses at once")

					delay := waitFor(t, b.seen, rec.Digest, start, 5*time.Second)
					report(t, "sqlstore: %s/%s: the other instance dropped the key %v after the change began", d.name, tc.name, delay.Round(time.Microsecond))
					assert.Less(t, delay, time.Second)
					_, err = b.auth.Verify(ctx, key)
					assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "the other instance refuses the key")
					_, err = b.auth.Verify(ctx, other)
					assert.NoError(t, err, "an unchanged key is still accepted")
				})
			}
		})
	}
}

// TestWatchSQLiteOtherProcess revokes a key from a second OS process on
// the same file, as the CLI does while a server runs.
func TestWatchSQLiteOtherProcess(t *testing.T) {
	ctx := context.Background()
	path := sqlitePath(t)
	srv := newInstance(t, path, WatchConfig{})
	key, rec, err := apikey.Issue(ctx, srv.cache, format, nil, apikey.Params{Name: "cli"})
	require.NoError(t, err)
	_, err = srv.auth.Verify(ctx, key)
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), revokeChildEnv+"="+path, revokeChildEnv+"_ID="+rec.ID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "child: %s", stderr.String())
	// The child prints when its revocation began, in Unix nanoseconds.
	nanos, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	require.NoError(t, err, "child output %q", out)
	start := time.Unix(0, nanos)

	delay := waitFor(t, srv.seen, rec.Digest, start, 5*time.Second)
	report(t, "sqlstore: sqlite/other-process: the server dropped the key %v after the other process began revoking it", delay.Round(time.Microsecond))
	assert.Less(t, delay, time.Second)
	_, err = srv.auth.Verify(ctx, key)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
}

// revokeChildEnv, when set, makes the test binary the second process of
// TestWatchSQLiteOtherProcess (see TestMain): it revokes one key in the
// SQLite file the variable names and exits.
const revokeChildEnv = "GATEHOUSE_TEST_REVOKE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(revokeChildEnv); path != "" {
		os.Exit(revokeChild(path, os.Getenv(revokeChildEnv+"_ID")))
	}
	// Every Store and Watcher a test opens is closed by then: no goroutine
	// may outlive the tests.
	goleak.VerifyTestMain(m)
}

func revokeChild(path, id string) int {
	ctx := context.Background()
	s, err := Open(ctx, path, Config{})
	if err == nil {
		fmt.Println(time.Now().UnixNano())
		_, err = s.RevokeKey(ctx, id, time.Now())
		s.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "revoke child:", err)
		return 1
	}
	return 0
}

// TestWatchPostgresReconnect kills the watcher's connection and checks that
// it comes back, drops everything (events may have been missed), and
// delivers changes again.
func TestWatchPostgresReconnect(t *testing.T) {
	ctx := context.Background()
	dsn := postgresDSN(t)
	errs := make(chan error, 16)
	a := newInstance(t, dsn, WatchConfig{})
	b := newInstance(t, dsn, WatchConfig{MinBackoff: 20 * time.Millisecond, OnError: func(err error) {
		select {
		case errs <- err:
		default:
		}
	}})
	a.watch.Close() // only b's watcher is on the database
	_, allBefore := b.seen.counts()
	require.Equal(t, 1, allBefore, "Watch drops everything once when it starts")

	key, rec, err := apikey.Issue(ctx, a.cache, format, nil, apikey.Params{Name: "k"})
	require.NoError(t, err)
	_, err = b.auth.Verify(ctx, key)
	require.NoError(t, err)

	var killed int
	require.NoError(t, a.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1) t WHERE ok`,
		WatcherApplicationName).Scan(&killed))
	require.Equal(t, 1, killed, "one watcher connection to terminate")
	start := time.Now()

	select {
	case err := <-errs:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not report the lost connection")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, all := b.seen.counts(); all > allBefore {
			break
		}
		require.True(t, time.Now().Before(deadline), "the watcher did not reconnect")
		time.Sleep(5 * time.Millisecond)
	}
	report(t, "sqlstore: postgres: the watcher reconnected and dropped its cache %v after its connection was killed", time.Since(start).Round(time.Millisecond))
	_, cached := b.cache.PeekAt(rec.Digest, time.Now())
	assert.False(t, cached, "InvalidateAll reached the cache")

	_, err = b.auth.Verify(ctx, key) // warm again
	require.NoError(t, err)
	start = time.Now()
	_, err = a.cache.RevokeKey(ctx, rec.ID, time.Now())
	require.NoError(t, err)
	delay := waitFor(t, b.seen, rec.Digest, start, 5*time.Second)
	report(t, "sqlstore: postgres/after-reconnect: the other instance dropped the key %v after the revocation began", delay.Round(time.Microsecond))
	assert.Less(t, delay, time.Second)
	_, err = b.auth.Verify(ctx, key)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
}

// TestWatcherEnds checks every way a watcher's goroutine ends.
func TestWatcherEnds(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := open(t, d.fresh(t))
			ended := func(t *testing.T, w *Watcher) {
				t.Helper()
				select {
				case <-w.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("the watcher's goroutine did not end")
				}
			}
			t.Run("Close", func(t *testing.T) {
				w, err := s.Watch(context.Background(), newRecorder(nil), WatchConfig{})
				require.NoError(t, err)
				select {
				case <-w.Done():
					t.Fatal("ended before Close")
				default:
				}
				require.NoError(t, w.Close())
				ended(t, w)
				require.NoError(t, w.Close(), "Close is idempotent")
			})
			t.Run("context", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				w, err := s.Watch(ctx, newRecorder(nil), WatchConfig{})
				require.NoError(t, err)
				cancel()
				ended(t, w)
				require.NoError(t, w.Close())
			})
			t.Run("Store.Close", func(t *testing.T) {
				s2 := open(t, d.fresh(t))
				w, err := s2.Watch(context.Background(), newRecorder(nil), WatchConfig{})
				require.NoError(t, err)
				require.NoError(t, s2.Close())
				ended(t, w)
				_, err = s2.Watch(context.Background(), newRecorder(nil), WatchConfig{})
				assert.Error(t, err, "Watch after Close")
			})
		})
	}
}

func TestWatchConfig(t *testing.T) {
	s := open(t, sqlitePath(t))
	tests := []struct {
		name string
		cfg  WatchConfig
	}{
		{"negative poll interval", WatchConfig{PollInterval: -1}},
		{"negative retention", WatchConfig{Retention: -1}},
		{"negative health interval", WatchConfig{HealthInterval: -1}},
		{"max backoff below min", WatchConfig{MinBackoff: time.Second, MaxBackoff: time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := s.Watch(context.Background(), newRecorder(nil), tc.cfg)
			assert.Error(t, err)
			assert.Nil(t, w)
		})
	}
	t.Run("nil invalidator", func(t *testing.T) {
		_, err := s.Watch(context.Background(), nil, WatchConfig{})
		assert.Error(t, err)
	})
	t.Run("unreachable PostgreSQL", func(t *testing.T) {
		ps := &Store{dialect: Postgres, watchers: map[*Watcher]struct{}{}}
		var err error
		ps.pgConf, err = pgx.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		require.NoError(t, err)
		_, err = ps.Watch(context.Background(), newRecorder(nil), WatchConfig{})
		assert.Error(t, err)
	})
}

func TestListenerPayload(t *testing.T) {
	d := store.Digest{0xab, 0x01}
	tests := []struct {
		name, payload string
		digests, all  int
	}{
		{"hex digest", fmt.Sprintf("%x", d[:]), 1, 0},
		{"upper-case hex", fmt.Sprintf("%X", d[:]), 1, 0},
		{"too short", "abcd", 0, 1},
		{"not hex", string(make([]byte, 64)), 0, 1},
		{"empty", "", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(nil)
			(&listener{f: &feedState{inv: r}}).deliver(tc.payload)
			digests, all := r.counts()
			assert.Equal(t, tc.digests, digests)
			assert.Equal(t, tc.all, all)
			if tc.digests == 1 {
				assert.Equal(t, d, r.digest[0])
			}
		})
	}
}

// TestWatchSessionsAcrossInstances logs a session out through one instance
// and checks that another instance, whose session cache shares the key
// cache's feed through Invalidators, refuses it within one second.
func TestWatchSessionsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.fresh(t)
			a, b := open(t, dsn), open(t, dsn)
			keys, err := store.NewKeyCache(b, store.CacheConfig{TTL: 24 * time.Hour})
			require.NoError(t, err)
			sessions, err := store.NewSessionCache(b, store.CacheConfig{TTL: 24 * time.Hour})
			require.NoError(t, err)
			seen := newRecorder(Invalidators(keys, sessions))
			w, err := b.Watch(ctx, seen, WatchConfig{})
			require.NoError(t, err)
			t.Cleanup(func() { w.Close() })

			now := time.Now()
			ss := &store.Session{Digest: store.Digest{7, 7, 7}, UserID: "usr_1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
			require.NoError(t, a.CreateSession(ctx, ss))
			_, err = sessions.LookupAt(ctx, ss.Digest, now)
			require.NoError(t, err, "warm the other instance's cache")

			start := time.Now()
			require.NoError(t, a.DeleteSession(ctx, ss.Digest))
			delay := waitFor(t, seen, ss.Digest, start, time.Second)
			_, err = sessions.LookupAt(ctx, ss.Digest, time.Now())
			assert.ErrorIs(t, err, store.ErrNotFound, "the logged-out session is gone from the other instance")
			report(t, "%s: another instance dropped a logged-out session %v after the logout began", d.name, delay.Round(time.Millisecond))
		})
	}
}
