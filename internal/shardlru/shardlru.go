// Package shardlru is a bounded LRU keyed by a 32-byte digest, split into
// up to 16 shards, each behind its own lock, so that concurrent requests
// for different digests rarely wait for each other. The store's caches and
// jwtauth's verified-token cache share it. Digests are uniformly random,
// so the first byte picks the shard.
package shardlru

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// MaxShards is the most shards an LRU has.
const MaxShards = 16

// LRU is a sharded, bounded LRU. It is safe for concurrent use.
type LRU[K ~[32]byte, V any] struct {
	shards [MaxShards]*lru.Cache[K, V]
	// n is how many shards are in use, a power of two: fewer than
	// MaxShards when size is smaller, so that their capacities add up to
	// size exactly.
	n uint8
}

// New returns an LRU holding at most size entries; size must be positive.
func New[K ~[32]byte, V any](size int) (*LRU[K, V], error) {
	if size <= 0 {
		return nil, fmt.Errorf("shardlru: size must be positive, not %d", size)
	}
	n := 1
	for n*2 <= min(MaxShards, size) {
		n *= 2
	}
	c := &LRU[K, V]{n: uint8(n)}
	for i := range n {
		per := size / n
		if i < size%n {
			per++
		}
		var err error
		if c.shards[i], err = lru.New[K, V](per); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Index returns the index of d's shard, from 0 to MaxShards-1, for callers
// that keep state per shard.
func (c *LRU[K, V]) Index(d K) int { return int(d[0] & (c.n - 1)) }

// Shard returns d's shard.
func (c *LRU[K, V]) Shard(d K) *lru.Cache[K, V] { return c.shards[d[0]&(c.n-1)] }

// Len returns the number of entries.
func (c *LRU[K, V]) Len() int {
	n := 0
	for _, s := range c.shards[:c.n] {
		n += s.Len()
	}
	return n
}

// Purge drops every entry.
func (c *LRU[K, V]) Purge() {
	for _, s := range c.shards[:c.n] {
		s.Purge()
	}
}
