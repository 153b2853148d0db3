package grpcauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// FuzzCheck feeds any authorization value to the interceptor: it never
// panics, accepts only the one valid key (in any spelling of the scheme and
// the spaces ParseAuthorization allows), refuses everything else with
// InvalidArgument or Unauthenticated, and never puts the value in the
// message.
func FuzzCheck(f *testing.F) {
	ctx := context.Background()
	mem := store.NewMemory()
	cache, err := store.NewKeyCache(mem, store.CacheConfig{})
	require.NoError(f, err)
	keys, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{})
	require.NoError(f, err)
	key, _, err := apikey.Issue(ctx, mem, testFormat, nil, apikey.Params{Name: "k", OwnerID: "usr_1"})
	require.NoError(f, err)
	i, err := grpcauth.New(grpcauth.Config{}, keys)
	require.NoError(f, err)

	for _, s := range []string{"Bearer " + key, "bearer  " + key + " ", "Bearer " + badChecksum(key), "Bearer " + key + "\t",
		"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", " Bearer x", "Token " + key, "Bearer " + testPrefix + "\x00",
		"Bearer " + strings.Repeat(".", 100), "Bearer \t" + key, "Bearer a=b", "Bearer " + key + "==", "Bearer é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		in := metadata.NewIncomingContext(ctx, metadata.MD{"authorization": {v}})
		p, err := i.Check(in, "/pkg.S/M")
		if err == nil {
			require.NotNil(t, p)
			scheme, rest, ok := strings.Cut(v, " ")
			require.True(t, ok && strings.EqualFold(scheme, "Bearer"), "accepted %q", v)
			require.Equal(t, key, strings.TrimRight(strings.TrimLeft(rest, " "), " \t"), "accepted %q", v)
			return
		}
		st := grpcauth.Status(err)
		require.Contains(t, []codes.Code{codes.InvalidArgument, codes.Unauthenticated}, st.Code(), "%q: %v", v, err)
		if len(v) > 8 {
			require.NotContains(t, st.Message(), v)
		}
	})
}
