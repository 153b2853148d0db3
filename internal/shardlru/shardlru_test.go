package shardlru

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func digest(i int) [32]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

// TestBoundAndShards checks that the shards' capacities add up to the
// size exactly, whatever the size, and that entries land in the shard
// Index names.
func TestBoundAndShards(t *testing.T) {
	for _, size := range []int{1, 2, 3, 15, 16, 17, 100, 1000} {
		c, err := New[[32]byte, int](size)
		require.NoError(t, err)
		for i := range 20 * size {
			d := digest(i)
			c.Shard(d).Add(d, i)
			assert.Less(t, c.Index(d), int(c.n))
			assert.Same(t, c.shards[c.Index(d)], c.Shard(d))
		}
		assert.Equal(t, size, c.Len(), "size %d: full, and never beyond", size)
		c.Purge()
		assert.Zero(t, c.Len())
	}
	_, err := New[[32]byte, int](0)
	assert.Error(t, err)
}
