package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// clock is a settable clock for tests that call the poller directly, from
// one goroutine.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newPollerForTest(t *testing.T, c *clock) (*Store, *poller, *recorder) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, sqlitePath(t), Config{Now: c.Now})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	cfg, err := WatchConfig{}.withDefaults()
	require.NoError(t, err)
	r := newRecorder(nil)
	p, err := s.newPoller(ctx, &feedState{cfg: cfg, inv: r})
	require.NoError(t, err)
	return s, p, r
}

func issue(t *testing.T, s *Store, n int) []*store.Key {
	t.Helper()
	out := make([]*store.Key, n)
	for i := range out {
		out[i] = testKey("k")
		require.NoError(t, s.CreateKey(context.Background(), out[i]))
	}
	return out
}

func revoke(t *testing.T, s *Store, ks ...*store.Key) {
	t.Helper()
	for _, k := range ks {
		_, err := s.RevokeKey(context.Background(), k.ID, time.Now())
		require.NoError(t, err)
	}
}

func changeRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRow(`SELECT count(*) FROM gatehouse_key_changes`).Scan(&n))
	return n
}

func TestPollerDeliversAndDetectsGaps(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, p, r := newPollerForTest(t, c)
	ks := issue(t, s, 8)
	drop := func(t *testing.T, k *store.Key) {
		t.Helper()
		_, err := s.DB().ExecContext(ctx, `DELETE FROM gatehouse_key_changes WHERE digest = $1`, k.Digest[:])
		require.NoError(t, err)
	}
	steps := []struct {
		name        string
		act         func(t *testing.T)
		wantDigests []store.Digest
		wantAll     int
	}{
		{"nothing changed", func(t *testing.T) {}, nil, 0},
		{"one change", func(t *testing.T) { revoke(t, s, ks[0]) }, []store.Digest{ks[0].Digest}, 0},
		{"two changes, in order", func(t *testing.T) { revoke(t, s, ks[1], ks[2]) },
			[]store.Digest{ks[1].Digest, ks[2].Digest}, 0},
		{"an update and a delete", func(t *testing.T) {
			name := "x"
			_, err := s.UpdateKey(ctx, ks[3].ID, store.KeyUpdate{Name: &name})
			require.NoError(t, err)
			require.NoError(t, s.DeleteKey(ctx, ks[4].ID))
		}, []store.Digest{ks[3].Digest, ks[4].Digest}, 0},
		{"creating is not a change", func(t *testing.T) { issue(t, s, 1) }, nil, 0},
		{"a change pruned before it was read", func(t *testing.T) {
			revoke(t, s, ks[5])
			drop(t, ks[5])
		}, nil, 1},
		{"one of two pruned", func(t *testing.T) {
			revoke(t, s, ks[6], ks[7])
			drop(t, ks[6])
		}, []store.Digest{ks[7].Digest}, 1},
		{"a backlog larger than a batch", func(t *testing.T) {
			_, err := s.DB().ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
				INSERT INTO gatehouse_key_changes (digest, changed_at) SELECT zeroblob(32), 0 FROM n`, maxPollBatch+1)
			require.NoError(t, err)
		}, nil, 1},
		{"a database that went back in time", func(t *testing.T) { p.last += 100 }, nil, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			digestsBefore, allBefore := r.counts()
			st.act(t)
			require.NoError(t, p.poll(ctx))
			digests, all := r.counts()
			r.mu.Lock()
			got := append([]store.Digest(nil), r.digest[digestsBefore:digests]...)
			r.mu.Unlock()
			assert.Equal(t, st.wantDigests, nilIfNone(got))
			assert.Equal(t, st.wantAll, all-allBefore, "InvalidateAll calls")
			hw, err := p.highWater(ctx)
			require.NoError(t, err)
			assert.Equal(t, hw, p.last, "the poller is level with the log")
		})
	}
}

func nilIfNone(ds []store.Digest) []store.Digest {
	if len(ds) == 0 {
		return nil
	}
	return ds
}

func TestPollerPrunes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{now: t0}
	s, p, r := newPollerForTest(t, c)
	ks := issue(t, s, 2)
	revoke(t, s, ks[0]) // logged at t0

	steps := []struct {
		name     string
		at       time.Duration // clock, after t0
		wantRows int
	}{
		{"fresh rows are kept", 0, 1},
		{"half the retention", 30 * time.Minute, 1},
		{"just before the retention", time.Hour - time.Second, 1},
		{"past the retention", time.Hour + time.Minute, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.now = t0.Add(st.at)
			require.NoError(t, p.poll(ctx))
			assert.Equal(t, st.wantRows, changeRows(t, s))
		})
	}
	t.Run("pruning what was read is no gap", func(t *testing.T) {
		_, allBefore := r.counts()
		revoke(t, s, ks[1])
		require.NoError(t, p.poll(ctx))
		_, all := r.counts()
		assert.Equal(t, allBefore, all)
		assert.Equal(t, ks[1].Digest, r.digest[len(r.digest)-1])
	})
	t.Run("at most once a minute", func(t *testing.T) {
		c.now = c.now.Add(2 * time.Hour) // ks[1]'s row is now old
		require.NoError(t, p.poll(ctx))  // prunes
		revoke(t, s, ks[1])              // a new row, logged now
		c.now = c.now.Add(2 * time.Hour)
		p.lastPrune = c.now.Add(-30 * time.Second)
		require.NoError(t, p.poll(ctx))
		assert.Equal(t, 1, changeRows(t, s), "pruned again within a minute")
		c.now = c.now.Add(31 * time.Second)
		require.NoError(t, p.poll(ctx))
		assert.Equal(t, 0, changeRows(t, s))
	})
}
