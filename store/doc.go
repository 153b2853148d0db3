// Package store defines the records Gatehouse keeps (API keys, users,
// sessions, organizations with their key policy, single-use sign-in
// tokens), the small interfaces a backend implements, the in-memory
// backend, and the caches that put an LRU in front of any backend.
//
// Contract for every backend: ctx comes first; a missing record is
// [ErrNotFound] (backends translate their own "no rows"); a duplicate ID or
// digest is [ErrConflict]; deleting a missing record is not an error; every
// method is safe for concurrent use; returned records are the caller's own
// copies; keys and sessions are looked up by digest, never by plaintext.
// The conformance suite in store/storetest checks all of it.
//
// A hot credential should never cost a store round trip. Wrap the backend:
//
//	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
//
// The cache is a bounded LRU with a positive TTL and a shorter negative TTL
// for unknown digests; concurrent misses of one digest make one store call;
// revocations and updates made through the cache drop the entry at once in
// this process, and [KeyCache.Invalidate] lets an invalidation feed (the SQL
// store's) do the same for changes made by other processes. A cache that a
// feed keeps ([KeyCache.FeedAlive]) reads a record older than
// CacheConfig.RevalidateAfter (1 s) again while the feed is silent, and
// answers the store's error (503) if that read fails, unless
// CacheConfig.StaleIfUnavailable. When no feed was ever attached, a change
// made elsewhere is seen after at most CacheConfig.TTL.
package store
