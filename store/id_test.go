package store_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// idMillis decodes the millisecond timestamp NewID puts in the first 10 of
// its 26 characters (2 padding bits, then 48 bits of time).
func idMillis(t *testing.T, id string) int64 {
	t.Helper()
	_, body, ok := strings.Cut(id, "_")
	require.True(t, ok)
	require.Len(t, body, 26)
	var v int64
	for i := range 10 {
		d := strings.IndexByte(crockford, body[i])
		require.GreaterOrEqual(t, d, 0)
		v = v<<5 | int64(d)
	}
	return v
}

func TestNewIDFormat(t *testing.T) {
	re := regexp.MustCompile(`^key_[0-9a-hjkmnp-tv-z]{26}$`)
	for range 100 {
		id := store.NewID("key")
		assert.Regexp(t, re, id)
		// 128 bits in 26 digits: the first digit holds only 3 bits.
		assert.Contains(t, "01234567", id[4:5])
	}
	assert.Regexp(t, `^_[0-9a-hjkmnp-tv-z]{26}$`, store.NewID(""))
	assert.True(t, strings.HasPrefix(store.NewID("usr"), "usr_"))
}

func TestNewIDCarriesTime(t *testing.T) {
	before := time.Now().UnixMilli()
	id := store.NewID("key")
	after := time.Now().UnixMilli()
	ms := idMillis(t, id)
	assert.GreaterOrEqual(t, ms, before)
	assert.LessOrEqual(t, ms, after)
}

func TestNewIDUnique(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	counts := map[byte]int{}
	for range n {
		id := store.NewID("key")
		require.False(t, seen[id], "duplicate ID %s", id)
		seen[id] = true
		counts[id[len(id)-1]]++ // the last digit is all random bits
	}
	// Every digit of the alphabet shows up in the random tail.
	assert.Len(t, counts, len(crockford))
}

func TestNewIDSortsByTime(t *testing.T) {
	var ids []string
	for range 5 {
		id := store.NewID("key")
		ids = append(ids, id)
		// Spin (no sleep) until the clock reaches the next millisecond, so
		// that the next ID has a strictly later timestamp.
		ms := idMillis(t, id)
		for time.Now().UnixMilli() <= ms {
		}
	}
	assert.True(t, slices.IsSorted(ids), "IDs made in later milliseconds sort later: %v", ids)
	for i := 1; i < len(ids); i++ {
		assert.Less(t, idMillis(t, ids[i-1]), idMillis(t, ids[i]))
	}
	assert.Equal(t, len(ids), len(slices.Compact(slices.Clone(ids))))
}

func TestIsID(t *testing.T) {
	for range 100 {
		id := store.NewID("whd")
		assert.True(t, store.IsID("whd", id), id)
		assert.False(t, store.IsID("key", id), "another prefix")
	}
	for _, s := range []string{
		"", "whd_", "whd", "whd_0123456789abcdefghjkmnpqr", "whd_0123456789abcdefghjkmnpqrst",
		"whd_0123456789abcdefghjkmnpqri", "whd_0123456789ABCDEFGHJKMNPQRS", "whd-0123456789abcdefghjkmnpqrs",
		"xwhd_0123456789abcdefghjkmnpqrs",
	} {
		assert.False(t, store.IsID("whd", s), "%q", s)
	}
	assert.True(t, store.IsID("whd", "whd_0123456789abcdefghjkmnpqrs"))
}
