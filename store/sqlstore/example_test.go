package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// Two processes share one SQLite file: a server that verifies keys through
// a cache, and an admin tool that revokes one. The server's watcher drops
// the revoked key from its cache.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.db")

	// The server.
	server, err := sqlstore.Open(ctx, path, sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	defer server.Close()
	keys, err := store.NewKeyCache(server, store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	changed := make(chan struct{}, 1)
	w, err := server.Watch(ctx, notify{keys, changed}, sqlstore.WatchConfig{})
	if err != nil {
		panic(err)
	}
	defer w.Close()
	format := apikey.MustFormat("cpx_live.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		panic(err)
	}

	// The admin tool issues a key; the server accepts it.
	admin, err := sqlstore.Open(ctx, path, sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	key, rec, err := apikey.Issue(ctx, admin, format, nil, apikey.Params{Name: "ci", OwnerID: "usr_1"})
	if err != nil {
		panic(err)
	}
	p, err := auth.Verify(ctx, key)
	fmt.Println(p.ID, err)

	// The admin tool revokes it; the server hears of it and refuses it.
	if _, err := admin.RevokeKey(ctx, rec.ID, rec.CreatedAt); err != nil {
		panic(err)
	}
	<-changed
	_, err = auth.Verify(ctx, key)
	fmt.Println(errors.Is(err, gatehouse.ErrInvalidToken))
	// Output:
	// usr_1 <nil>
	// true
}

// notify passes invalidations to a cache and signals each one.
type notify struct {
	*store.KeyCache
	changed chan struct{}
}

func (n notify) Invalidate(d store.Digest) {
	n.KeyCache.Invalidate(d)
	select {
	case n.changed <- struct{}{}:
	default:
	}
}
