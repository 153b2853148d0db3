package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCoarseNow checks that the coarse clock stays within its tick of
// the real one, and that its goroutine stops when nobody reads it (the
// package's leak check would fail otherwise).
func TestCoarseNow(t *testing.T) {
	for range 2000 {
		before := time.Now()
		got := coarseNow()
		after := time.Now()
		assert.False(t, got.Before(before.Add(-2*coarseTick)), "at most a tick (and some scheduling) old")
		assert.False(t, got.After(after), "never ahead of the real clock")
	}
	assert.True(t, coarse.running.Load())
	deadline := time.Now().Add(5 * time.Second)
	for coarse.running.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // waiting for the idle stop itself, not for a result
	}
	assert.False(t, coarse.running.Load(), "the ticker stops after coarseIdle without reads")
	assert.Zero(t, coarse.nanos.Load())
	// The next read uses the real clock and restarts the ticker.
	got := coarseNow()
	assert.WithinDuration(t, time.Now(), got, time.Millisecond)
	assert.True(t, coarse.running.Load())
}

func BenchmarkClock(b *testing.B) {
	b.Run("time.Now", func(b *testing.B) {
		for b.Loop() {
			_ = time.Now()
		}
	})
	b.Run("coarseNow", func(b *testing.B) {
		for b.Loop() {
			_ = coarseNow()
		}
	})
}

// TestCacheClock checks that Clock hands out the configured clock, and the
// default one otherwise, for both caches.
func TestCacheClock(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	fixed := func() time.Time { return at }
	kc, err := NewKeyCache(NewMemory(), CacheConfig{Now: fixed})
	assert.NoError(t, err)
	sc, err := NewSessionCache(NewMemory(), CacheConfig{Now: fixed})
	assert.NoError(t, err)
	assert.Equal(t, at, kc.Clock()())
	assert.Equal(t, at, sc.Clock()())
	assert.Equal(t, kc.Now(), kc.Clock()())

	def, err := NewKeyCache(NewMemory(), CacheConfig{})
	assert.NoError(t, err)
	assert.WithinDuration(t, time.Now(), def.Clock()(), 50*time.Millisecond)
}
