package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Put a cache in front of a store: lookups by digest are answered from
// memory, and a revocation made through the cache is seen at once.
func ExampleKeyCache() {
	ctx := context.Background()
	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{TTL: time.Minute})

	digest := sha256.Sum256([]byte("the key itself is never stored"))
	_ = keys.CreateKey(ctx, &store.Key{ID: "key_1", Digest: digest, Name: "CI", CreatedAt: time.Now()})

	ck, _ := keys.LookupAt(ctx, digest, time.Now())
	fmt.Println(ck.Key.Name, ck.Key.Revoked())

	_, _ = keys.RevokeKey(ctx, "key_1", time.Now())
	ck, _ = keys.LookupAt(ctx, digest, time.Now())
	fmt.Println(ck.Key.Name, ck.Key.Revoked())

	_, err := keys.LookupAt(ctx, sha256.Sum256([]byte("unknown")), time.Now())
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// CI false
	// CI true
	// true
}
