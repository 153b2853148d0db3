package jwtauth

import (
	"fmt"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/shardlru"
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

// tokenCache is a sharded, bounded LRU of verified tokens keyed by the
// SHA-256 digest of their signature; no signature, so no usable token, is
// kept in memory. It is safe for concurrent use.
type tokenCache struct {
	lru *shardlru.LRU[store.Digest, *entry]
}

func newTokenCache(size int) (*tokenCache, error) {
	l, err := shardlru.New[store.Digest, *entry](size)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: token cache: %w", err)
	}
	return &tokenCache{lru: l}, nil
}

func (c *tokenCache) get(d store.Digest) (*entry, bool) { return c.lru.Shard(d).Get(d) }
func (c *tokenCache) add(d store.Digest, e *entry)      { c.lru.Shard(d).Add(d, e) }
func (c *tokenCache) remove(d store.Digest)             { c.lru.Shard(d).Remove(d) }
func (c *tokenCache) len() int                          { return c.lru.Len() }
func (c *tokenCache) purge()                            { c.lru.Purge() }

// digest returns the SHA-256 of s without allocating or copying (a nil
// store.Hasher is plain SHA-256 over the string's bytes in place).
func digest(s string) store.Digest { return (*store.Hasher)(nil).Sum(s) }
