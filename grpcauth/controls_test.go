package grpcauth_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// call runs one unary call of method through the interceptor, from addr
// with key, and returns its status code and message.
func unaryCall(t *testing.T, i *grpcauth.Interceptor, method, addr, key string) (codes.Code, string) {
	t.Helper()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+key))
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))})
	_, err := i.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return "ok", nil })
	st := status.Convert(err)
	return st.Code(), st.Message()
}

func TestKeyControls(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	auth, err := apikey.NewAuthenticator(testFormat, mem, apikey.Config{})
	require.NoError(t, err)
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	i, err := grpcauth.New(grpcauth.Config{Scopes: testScopes(), Credits: mem, Now: func() time.Time { return now }}, auth)
	require.NoError(t, err)
	issue := func(p apikey.Params) string {
		p.Name, p.Scopes, p.Now = "k", []string{"projects:read"}, now
		key, _, err := apikey.Issue(ctx, mem, testFormat, nil, p)
		require.NoError(t, err)
		return key
	}

	t.Run("allowed networks", func(t *testing.T) {
		key := issue(apikey.Params{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		code, _ := unaryCall(t, i, methodWhoami, "10.1.2.3:5000", key)
		assert.Equal(t, codes.OK, code)
		code, msg := unaryCall(t, i, methodWhoami, "192.0.2.1:5000", key)
		assert.Equal(t, codes.PermissionDenied, code)
		assert.Equal(t, "This API key may not be used from this network", msg)
	})

	t.Run("credits", func(t *testing.T) {
		key := issue(apikey.Params{Credits: &gatehouse.Credits{Remaining: 2, Refill: 2, Interval: gatehouse.CreditsDaily}})
		code, _ := unaryCall(t, i, methodDelete, "10.1.2.3:5000", key)
		assert.Equal(t, codes.PermissionDenied, code, "no projects:write scope")
		var got []codes.Code
		for range 3 {
			code, _ := unaryCall(t, i, methodList, "10.1.2.3:5000", key)
			got = append(got, code)
		}
		assert.Equal(t, []codes.Code{codes.OK, codes.OK, codes.ResourceExhausted}, got, "the refused call spent nothing")
		_, msg := unaryCall(t, i, methodList, "10.1.2.3:5000", key)
		assert.Equal(t, "This API key has no credits left; they refill at 2031-03-05T00:00:00Z", msg)
		// Check alone spends nothing.
		_, err := i.Check(metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+key)), methodList)
		assert.NoError(t, err)
	})

	t.Run("no spender: fail closed", func(t *testing.T) {
		plain, err := grpcauth.New(grpcauth.Config{}, auth)
		require.NoError(t, err)
		key := issue(apikey.Params{Credits: &gatehouse.Credits{Remaining: 5}})
		code, _ := unaryCall(t, plain, methodWhoami, "10.1.2.3:5000", key)
		assert.Equal(t, codes.Unavailable, code)
	})
}

// hungSpender blocks until the context of a spend ends, as a spender on a
// hung database does, and records how long the spend was given. A context
// without a deadline is answered at once with a use left, so that an
// unbounded spend fails the test instead of hanging it; wait false answers
// every spend at once, with an error.
type hungSpender struct {
	wait  bool
	given chan time.Duration // -1: no deadline
}

func (h hungSpender) SpendCredit(ctx context.Context, _ string, _ *gatehouse.Credits, _ time.Time) (int64, error) {
	d, ok := ctx.Deadline()
	if !ok {
		h.given <- -1
		return 1, nil
	}
	h.given <- time.Until(d)
	if !h.wait {
		return 0, errors.New("database down")
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestCreditsTimeout: a spend is bounded by Config.CreditsTimeout
// (default middleware.DefaultStoreTimeout) even when the call has no
// deadline: a hung spender makes the call Unavailable, never a hang.
func TestCreditsTimeout(t *testing.T) {
	mem := store.NewMemory()
	auth, err := apikey.NewAuthenticator(testFormat, mem, apikey.Config{})
	require.NoError(t, err)
	key, _, err := apikey.Issue(t.Context(), mem, testFormat, nil, apikey.Params{Name: "k", Scopes: []string{"projects:read"},
		Credits: &gatehouse.Credits{Remaining: 5}})
	require.NoError(t, err)
	tests := []struct {
		name    string
		timeout time.Duration
		wait    bool // the spender hangs (else it fails at once: the default bound is not waited for)
		max     time.Duration
	}{
		{"hung, bounded by CreditsTimeout", 20 * time.Millisecond, true, 20 * time.Millisecond},
		{"default bound", 0, false, middleware.DefaultStoreTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spender := hungSpender{wait: tc.wait, given: make(chan time.Duration, 1)}
			i, err := grpcauth.New(grpcauth.Config{Scopes: testScopes(), Credits: spender, CreditsTimeout: tc.timeout}, auth)
			require.NoError(t, err)
			code, msg := unaryCall(t, i, methodList, "10.1.2.3:5000", key) // no deadline of its own
			assert.Equal(t, codes.Unavailable, code)
			assert.NotContains(t, msg, "deadline")
			d := <-spender.given
			assert.Greater(t, d, time.Duration(0), "the spend has a deadline")
			assert.LessOrEqual(t, d, tc.max)
		})
	}
}
