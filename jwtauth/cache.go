package jwtauth

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// entry is a verified token as the cache holds it.
type entry struct {
	// input is the verified token's signing input (header.payload), a
	// copy that does not hold on to the token: the entry answers only for
	// a token with this input and the signature whose digest keys it.
	input string
	p     *gatehouse.Principal
	// exp is the token's "exp" in Unix nanoseconds: the entry is never
	// served at or after it.
	exp int64
	// key verified the token; the entry is dropped once the key is
	// revoked or due for a new look in its store.
	key *Key
	ref TokenRef
	// pv holds the principal of the default mapping (p points to it then).
	pv gatehouse.Principal
	// v is the verification's state while the token is verified, zero
	// once the entry is made.
	v verification
}

const tokenCacheShards = 16

// tokenCache is a sharded, bounded LRU of verified tokens keyed by the
// SHA-256 digest of their signature; no signature, so no usable token, is
// kept in memory. It is safe for concurrent use.
type tokenCache struct {
	shards  [tokenCacheShards]*lru.Cache[store.Digest, *entry]
	nshards uint8
}

func newTokenCache(size int) (*tokenCache, error) {
	n := 1
	for n*2 <= min(tokenCacheShards, size) {
		n *= 2
	}
	c := &tokenCache{nshards: uint8(n)}
	for i := range n {
		per := size / n
		if i < size%n {
			per++
		}
		s, err := lru.New[store.Digest, *entry](per)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: token cache: %w", err)
		}
		c.shards[i] = s
	}
	return c, nil
}

func (c *tokenCache) shard(d store.Digest) *lru.Cache[store.Digest, *entry] {
	return c.shards[d[0]&(c.nshards-1)]
}

func (c *tokenCache) get(d store.Digest) (*entry, bool) { return c.shard(d).Get(d) }
func (c *tokenCache) add(d store.Digest, e *entry)      { c.shard(d).Add(d, e) }
func (c *tokenCache) remove(d store.Digest)             { c.shard(d).Remove(d) }

func (c *tokenCache) len() int {
	n := 0
	for _, s := range c.shards[:c.nshards] {
		n += s.Len()
	}
	return n
}

func (c *tokenCache) purge() {
	for _, s := range c.shards[:c.nshards] {
		s.Purge()
	}
}

// digest returns the SHA-256 of s without allocating or copying (a nil
// store.Hasher is plain SHA-256 over the string's bytes in place).
func digest(s string) store.Digest { return (*store.Hasher)(nil).Sum(s) }
