package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// Issue a key, then authenticate it the way a worker that received it in a
// message would, without HTTP.
func ExampleIssue() {
	ctx := context.Background()
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		panic(err)
	}
	format := apikey.MustFormat("cpx_live.")

	key, rec, err := apikey.Issue(ctx, keys, format, nil, apikey.Params{
		Name: "CI", OwnerID: "usr_alice", TenantID: "org_7", Scopes: []string{"projects:write", "projects:read"},
	})
	if err != nil {
		panic(err)
	}
	// Show key to its owner once; the store has only its digest and last 4.
	fmt.Println(strings.HasPrefix(key, "cpx_live."), len(key), rec.Last4 == key[len(key)-4:])

	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		panic(err)
	}
	p, err := auth.Verify(ctx, key)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.ID, p.TenantID, p.Kind, p.Scopes)

	// A mistyped key fails its checksum and never reaches the store.
	typo := key[:len(key)-1] + "x"
	if key[len(key)-1] == 'x' {
		typo = key[:len(key)-1] + "y"
	}
	fmt.Println(format.Parse(typo))
	_, err = auth.Verify(ctx, typo)
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		fmt.Println(errors.Is(err, gatehouse.ErrInvalidToken), ge.Reason, ge.Detail)
	}
	// Output:
	// true 45 true
	// usr_alice org_7 api_key [projects:read projects:write]
	// apikey: bad checksum
	// true bad_checksum Invalid or expired API key
}

// Parse checks a key offline: prefix, length, alphabet and checksum.
func ExampleFormat_Parse() {
	format := apikey.MustFormat("cpx_live.")
	key, err := format.Generate()
	if err != nil {
		panic(err)
	}
	fmt.Println(format.Parse(key))
	fmt.Println(format.Parse("ghp_" + key[len("cpx_live."):]))
	fmt.Println(format.Parse(key + "\n"))
	fmt.Println(format.Parse(key[:len(key)-1] + "-"))
	// Output:
	// <nil>
	// apikey: wrong prefix
	// apikey: wrong length
	// apikey: character outside base62
}
