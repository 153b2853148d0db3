package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestMemory(t testing.TB, cfg MemoryConfig) (*Memory, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	cfg.Now = clk.Now
	m, err := NewMemory(cfg)
	require.NoError(t, err)
	return m, clk
}

func TestMemoryBurstAndRefill(t *testing.T) {
	ctx := context.Background()
	m, clk := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 10, 10*time.Second, 5) // one unit a second, 5 at once
	k := NewKey("user", "u1")

	for i := range 5 {
		d, err := m.Allow(ctx, k, p, 1)
		require.NoError(t, err)
		assert.True(t, d.Allowed, "request %d of the burst", i)
		assert.Equal(t, 4-i, d.Remaining)
		assert.Equal(t, 10, d.Limit)
		assert.Same(t, p, d.Policy)
		assert.Equal(t, time.Duration(i+1)*time.Second, d.Reset)
		assert.Zero(t, d.RetryAfter)
	}
	d, err := m.Allow(ctx, k, p, 1)
	require.NoError(t, err)
	assert.False(t, d.Allowed, "the burst is spent")
	assert.Equal(t, 0, d.Remaining)
	assert.Equal(t, time.Second, d.RetryAfter)
	assert.Equal(t, 5*time.Second, d.Reset)

	clk.Advance(999 * time.Millisecond)
	d, _ = m.Allow(ctx, k, p, 1)
	assert.False(t, d.Allowed, "a unit is not back yet")
	assert.Equal(t, time.Millisecond, d.RetryAfter)

	clk.Advance(time.Millisecond)
	d, _ = m.Allow(ctx, k, p, 1)
	assert.True(t, d.Allowed, "one unit refilled")
	assert.Equal(t, 0, d.Remaining)

	clk.Advance(3 * time.Second)
	d, _ = m.Allow(ctx, k, p, 0)
	assert.True(t, d.Allowed)
	assert.Equal(t, 3, d.Remaining, "three units refilled in three seconds")

	clk.Advance(time.Hour)
	d, _ = m.Allow(ctx, k, p, 0)
	assert.Equal(t, 5, d.Remaining, "never more than the burst")
	assert.Zero(t, d.Reset)
	assert.Equal(t, 1, m.Len())
	d, _ = m.Allow(ctx, NewKey("user", "u2"), p, 0)
	assert.Equal(t, 5, d.Remaining)
	d, _ = m.Allow(ctx, NewKey("user", "u3"), p, -1)
	assert.Equal(t, 5, d.Remaining)
	assert.Equal(t, 1, m.Len(), "a peek or a refund on a new key keeps nothing")
}

func TestMemoryCosts(t *testing.T) {
	ctx := context.Background()
	p := MustPolicy("p", 10, 10*time.Second, 10)
	k := NewKey("user", "u1")
	tests := []struct {
		name          string
		costs         []int
		wantAllowed   []bool
		wantRemaining int
	}{
		{"costs add up", []int{3, 3, 3}, []bool{true, true, true}, 1},
		{"a refused cost spends nothing", []int{8, 3, 2}, []bool{true, false, true}, 0},
		{"the whole burst at once", []int{10, 1}, []bool{true, false}, 0},
		{"a peek spends nothing", []int{0, 0, 0}, []bool{true, true, true}, 10},
		{"a refund gives units back", []int{6, -2}, []bool{true, true}, 6},
		{"a refund never overfills", []int{1, -5}, []bool{true, true}, 10},
		{"a peek on an empty bucket refuses", []int{10, 0}, []bool{true, false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestMemory(t, MemoryConfig{})
			var d Decision
			for i, c := range tt.costs {
				var err error
				d, err = m.Allow(ctx, k, p, c)
				require.NoError(t, err)
				assert.Equal(t, tt.wantAllowed[i], d.Allowed, "cost %d (#%d)", c, i)
			}
			assert.Equal(t, tt.wantRemaining, d.Remaining)
		})
	}
}

func TestMemoryArgumentErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 10, time.Minute, 5)
	tests := []struct {
		name string
		key  Key
		p    *Policy
		cost int
		want error
	}{
		{"cost above burst", NewKey("user", "u"), p, 6, ErrCostTooHigh},
		{"nil policy", NewKey("user", "u"), nil, 1, ErrInvalidPolicy},
		{"zero policy", NewKey("user", "u"), &Policy{}, 1, ErrInvalidPolicy},
		{"empty key", NewKey("user", ""), p, 1, ErrNoKey},
		{"zero key", Key{}, p, 1, ErrNoKey},
		{"scope with a colon", NewKey("a:b", "u"), p, 1, ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Allow(ctx, tt.key, tt.p, tt.cost)
			require.ErrorIs(t, err, tt.want)
			assert.ErrorIs(t, CheckArgs(tt.key, tt.p, tt.cost), tt.want)
		})
	}
	assert.ErrorIs(t, m.Reset(ctx, NewKey("user", "u"), nil), ErrInvalidPolicy)
}

func TestMemoryBucketsByPolicyNameAndKey(t *testing.T) {
	ctx := context.Background()
	m, clk := newTestMemory(t, MemoryConfig{})
	a := MustPolicy("a", 2, time.Minute, 0)
	aMore := MustPolicy("a", 4, time.Minute, 0) // same name, raised limit
	b := MustPolicy("b", 2, time.Minute, 0)
	k := NewKey("user", "u1")

	for range 2 {
		d, _ := m.Allow(ctx, k, a, 1)
		require.True(t, d.Allowed)
	}
	d, _ := m.Allow(ctx, k, a, 1)
	assert.False(t, d.Allowed)

	d, _ = m.Allow(ctx, k, b, 1)
	assert.True(t, d.Allowed, "another policy name is another bucket")
	d, _ = m.Allow(ctx, NewKey("tenant", "u1"), a, 1)
	assert.True(t, d.Allowed, "another scope is another bucket")
	d, _ = m.Allow(ctx, NewKey("user", "u2"), a, 1)
	assert.True(t, d.Allowed, "another key is another bucket")

	// The bucket holds time, not units: spent, it is as empty under a
	// raised limit of the same window, but refills faster.
	d, _ = m.Allow(ctx, k, aMore, 0)
	assert.False(t, d.Allowed, "a raised limit of the same name keeps the bucket")
	clk.Advance(15 * time.Second)
	d, _ = m.Allow(ctx, k, a, 0)
	assert.False(t, d.Allowed, "the old policy needs 30s per unit")
	d, _ = m.Allow(ctx, k, aMore, 1)
	assert.True(t, d.Allowed, "the raised policy needs 15s per unit")

	require.NoError(t, m.Reset(ctx, k, a))
	d, _ = m.Allow(ctx, k, a, 0)
	assert.Equal(t, 2, d.Remaining, "reset fills the bucket")
}

func TestMemoryLRUBoundUnderFlood(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMemory(t, MemoryConfig{MaxKeys: 1000, Shards: 8})
	p := MustPolicy("p", 5, time.Hour, 0)

	hot := NewKey("ip", "hot")
	for range 5 {
		d, _ := m.Allow(ctx, hot, p, 1)
		require.True(t, d.Allowed)
	}
	for i := range 100_000 {
		_, err := m.Allow(ctx, NewKey("ip", fmt.Sprintf("flood-%d", i)), p, 1)
		require.NoError(t, err)
		if i%1000 == 0 {
			require.LessOrEqual(t, m.Len(), 1000)
		}
	}
	assert.Equal(t, 1000, m.Len(), "the bound holds exactly")

	// The flood pushed the hot key out: its bucket starts full again. That
	// is the documented price of the bound.
	d, _ := m.Allow(ctx, hot, p, 0)
	assert.Equal(t, 5, d.Remaining)

	// A recently used key survives a smaller flood.
	m2, _ := newTestMemory(t, MemoryConfig{MaxKeys: 100, Shards: 1})
	for range 5 {
		_, _ = m2.Allow(ctx, hot, p, 1)
	}
	for i := range 99 {
		_, _ = m2.Allow(ctx, NewKey("ip", fmt.Sprintf("f%d", i)), p, 1)
		_, _ = m2.Allow(ctx, hot, p, 0) // touch
	}
	d, _ = m2.Allow(ctx, hot, p, 0)
	assert.Equal(t, 0, d.Remaining, "the most recently used bucket is kept")
}

func TestNewMemoryConfig(t *testing.T) {
	tests := []struct {
		name       string
		cfg        MemoryConfig
		wantErr    bool
		wantShards int
	}{
		{"defaults", MemoryConfig{}, false, 32},
		{"rounded up to a power of two", MemoryConfig{Shards: 5}, false, 8},
		{"at most MaxKeys", MemoryConfig{MaxKeys: 3, Shards: 16}, false, 2},
		{"one key", MemoryConfig{MaxKeys: 1}, false, 1},
		{"negative keys", MemoryConfig{MaxKeys: -1}, true, 0},
		{"negative shards", MemoryConfig{Shards: -1}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMemory(tt.cfg)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, m.shards, tt.wantShards)
			total := 0
			for i := range m.shards {
				total += m.shards[i].lru.cap
			}
			want := tt.cfg.MaxKeys
			if want == 0 {
				want = 100_000
			}
			assert.Equal(t, want, total, "the shards' capacities add up to MaxKeys")
		})
	}
}

func TestMemoryConcurrentSpendsNeverOvershoot(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMemory(t, MemoryConfig{Shards: 4})
	p := MustPolicy("p", 100, time.Hour, 0)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				d, err := m.Allow(ctx, NewKey("user", "shared"), p, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
				_, _ = m.Allow(ctx, NewKey("user", fmt.Sprint(g, i)), p, 1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(100), allowed.Load(), "exactly the burst, with a clock that does not move")
}

func TestMemoryWarmKeyDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestMemory(t, MemoryConfig{})
	p := MustPolicy("p", 1_000_000, time.Second, 0)
	k := NewKey("user", "u1")
	ip := AddrKey(mustAddr(t, "2001:db8::1"))
	_, _ = m.Allow(ctx, k, p, 1)
	_, _ = m.Allow(ctx, ip, p, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := m.Allow(ctx, k, p, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Allow(ctx, ip, p, 1); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	// Refusals and argument errors do not allocate either.
	tight := MustPolicy("tight", 1, time.Hour, 0)
	_, _ = m.Allow(ctx, k, tight, 1)
	allocs = testing.AllocsPerRun(1000, func() {
		if d, _ := m.Allow(ctx, k, tight, 1); d.Allowed {
			t.Fatal("allowed")
		}
		if _, err := m.Allow(ctx, k, tight, 2); err == nil {
			t.Fatal("no error")
		}
	})
	assert.Zero(t, allocs)
}

// TestLRUHashCollision forces two buckets into one slot: the later takes it
// over and the earlier starts full, as if the LRU had dropped it.
func TestLRUHashCollision(t *testing.T) {
	var l lru
	l.init(4)
	a := bucketID{policy: "p", key: NewKey("user", "a")}
	b := bucketID{policy: "p", key: NewKey("user", "b")}
	l.add(7, a, 100)
	require.NotNil(t, l.get(7, a))
	assert.Nil(t, l.get(7, b), "another bucket under the same hash is not found")
	l.add(7, b, 200)
	assert.Equal(t, 1, l.len())
	assert.Nil(t, l.get(7, a))
	e := l.get(7, b)
	require.NotNil(t, e)
	assert.Equal(t, int64(200), e.tat)
	l.remove(7, a)
	assert.Equal(t, 1, l.len(), "removing the other bucket leaves the slot alone")
	l.remove(7, b)
	assert.Equal(t, 0, l.len())

	// Eviction keeps the index consistent.
	for i := range 10 {
		l.add(uint64(i), bucketID{policy: "p", key: NewKey("user", fmt.Sprint(i))}, int64(i))
	}
	assert.Equal(t, 4, l.len())
	for i := range 6 {
		assert.Nil(t, l.get(uint64(i), bucketID{policy: "p", key: NewKey("user", fmt.Sprint(i))}))
	}
	for i := 6; i < 10; i++ {
		assert.NotNil(t, l.get(uint64(i), bucketID{policy: "p", key: NewKey("user", fmt.Sprint(i))}))
	}
}
