package grpcauth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestUnaryAllocations guards the interceptor's budget on a cached key:
// at most 2 allocations (gRPC's copy of the metadata value and the
// principal's context), for a method that needs authentication only and
// one that needs a scope. make allocs runs it without -race.
func TestUnaryAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	ctx := context.Background()
	mem := store.NewMemory()
	cache, err := store.NewKeyCache(mem, store.CacheConfig{})
	require.NoError(t, err)
	keys, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{})
	require.NoError(t, err)
	key, _, err := apikey.Issue(ctx, mem, testFormat, nil, apikey.Params{Name: "alloc", OwnerID: "usr_alloc", Scopes: []string{"projects:read"}})
	require.NoError(t, err)
	icpt, err := grpcauth.New(grpcauth.Config{Scopes: testScopes()}, keys)
	require.NoError(t, err)
	unary := icpt.Unary()
	in := metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+key))
	for _, method := range []string{methodWhoami, methodList} {
		info := &grpc.UnaryServerInfo{FullMethod: method}
		_, err := unary(in, nil, info, benchHandler) // warms the cache
		require.NoError(t, err, method)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := unary(in, nil, info, benchHandler); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %v allocations", method, allocs)
		assert.LessOrEqual(t, allocs, 2.0, method)
	}
}
