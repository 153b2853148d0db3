package grpcauth_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/ratelimit"
)

// call makes one call of method on f.conn with ctx's outgoing metadata and
// returns what the server answered: the caller's ID for the Projects
// service, the serving status for health.
func (f *fixture) call(ctx context.Context, method string) (string, error) {
	h := healthpb.NewHealthClient(f.conn)
	switch method {
	case "/grpc.health.v1.Health/Check":
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{})
		return resp.GetStatus().String(), err
	case "/grpc.health.v1.Health/List":
		resp, err := h.List(ctx, &healthpb.HealthListRequest{})
		return strings.Repeat("x", len(resp.GetStatuses())), err
	case "/grpc.health.v1.Health/Watch":
		ws, err := h.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return "", err
		}
		resp, err := ws.Recv()
		return resp.GetStatus().String(), err
	case methodFollow:
		cs, err := f.conn.NewStream(ctx, &projectsDesc.Streams[0], methodFollow)
		if err != nil {
			return "", err
		}
		if err := cs.SendMsg(wrapperspb.String("follow")); err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		if err := cs.CloseSend(); err != nil {
			return "", err
		}
		var got []string
		for {
			out := new(wrapperspb.StringValue)
			if err := cs.RecvMsg(out); err != nil {
				if errors.Is(err, io.EOF) {
					return strings.Join(got, ","), nil
				}
				return strings.Join(got, ","), err
			}
			got = append(got, out.GetValue())
		}
	default:
		out := new(wrapperspb.StringValue)
		err := f.conn.Invoke(ctx, method, wrapperspb.String("hi"), out)
		return out.GetValue(), err
	}
}

// TestServer runs a real gRPC server and client on loopback through every
// outcome of the interceptor.
func TestServer(t *testing.T) {
	// A per-key limit of one call a minute for keys whose record says
	// plan=tiny, on a frozen clock: the second call waits exactly a minute.
	limits, err := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: testclock.New(time.Unix(1e9, 0)).Now})
	require.NoError(t, err)
	tiny := ratelimit.MustPolicy("tiny", 1, time.Minute, 1)
	after := func(ctx context.Context, _ string, p *gatehouse.Principal) error {
		if p.Metadata["plan"] != "tiny" {
			return nil
		}
		d, err := limits.Allow(ctx, ratelimit.NewKey("key", p.KeyID), tiny, 1)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return &gatehouse.RateLimitError{RetryAfter: d.RetryAfter}
		}
		return nil
	}
	cfg := grpcauth.Config{
		Scopes: testScopes(),
		// Check stays public; Watch needs a credential here, to test an
		// authenticated stream of the health service.
		Public: []string{"/grpc.health.v1.Health/Check"},
		After:  after,
	}
	reader := apikey.Params{OwnerID: "usr_reader", Scopes: []string{"projects:read"}}
	valid := func(t *testing.T, f *fixture) []string {
		key, _ := f.issue(t, reader)
		return []string{"Bearer " + key}
	}

	tests := []struct {
		name   string
		method string
		// prepare issues keys, changes the fixture and returns the
		// authorization values to send (none: no metadata).
		prepare    func(t *testing.T, f *fixture) []string
		want       codes.Code
		wantMsg    string
		wantAnswer string
		storeCalls int64 // -1: not checked
		check      func(t *testing.T, st *status.Status)
	}{
		{name: "no credential", method: methodWhoami,
			prepare: func(*testing.T, *fixture) []string { return nil },
			want:    codes.Unauthenticated, wantMsg: "Authentication required: send a credential in the authorization metadata"},
		{name: "valid key, authentication only", method: methodWhoami, prepare: valid,
			want: codes.OK, wantAnswer: "usr_reader", storeCalls: 1},
		{name: "valid key, scope granted", method: methodList, prepare: valid,
			want: codes.OK, wantAnswer: "usr_reader", storeCalls: 1},
		{name: "lower-case scheme, extra spaces", method: methodList,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				return []string{"bearer   " + key + "  "}
			},
			want: codes.OK, wantAnswer: "usr_reader", storeCalls: 1},
		{name: "bad checksum: the store is never called", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				return []string{"Bearer " + badChecksum(key)}
			},
			want: codes.Unauthenticated, wantMsg: apikey.DetailInvalid},
		{name: "unknown key", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, err := testFormat.Generate()
				require.NoError(t, err)
				return []string{"Bearer " + key}
			},
			want: codes.Unauthenticated, wantMsg: apikey.DetailInvalid, storeCalls: 1},
		{name: "revoked key", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, rec := f.issue(t, reader)
				_, err := f.cache.RevokeKey(context.Background(), rec.ID, f.clock.Now())
				require.NoError(t, err)
				return []string{"Bearer " + key}
			},
			want: codes.Unauthenticated, wantMsg: apikey.DetailInvalid, storeCalls: 1},
		{name: "expired key, at its expiry", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				p := reader
				p.ExpiresAt = f.clock.Now().Add(time.Hour)
				key, _ := f.issue(t, p)
				f.clock.Advance(time.Hour)
				return []string{"Bearer " + key}
			},
			want: codes.Unauthenticated, wantMsg: apikey.DetailInvalid, storeCalls: 1},
		{name: "missing scope", method: methodDelete, prepare: valid,
			want: codes.PermissionDenied, wantMsg: "The credential lacks a required scope: projects:write", storeCalls: 1},
		{name: "public method without credential", method: "/grpc.health.v1.Health/Check",
			prepare: func(*testing.T, *fixture) []string { return nil },
			want:    codes.OK, wantAnswer: "SERVING"},
		{name: "public method: a credential is not looked at", method: "/grpc.health.v1.Health/Check",
			prepare: func(*testing.T, *fixture) []string { return []string{"Bearer not-a-key", "Bearer two values"} },
			want:    codes.OK, wantAnswer: "SERVING"},
		{name: "two authorization values", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				return []string{"Bearer " + key, "Bearer " + key}
			},
			want: codes.InvalidArgument, wantMsg: "Send exactly one authorization metadata value"},
		{name: "scheme without credential", method: methodWhoami,
			prepare: func(*testing.T, *fixture) []string { return []string{"Bearer"} },
			want:    codes.InvalidArgument, wantMsg: "The authorization metadata must be a scheme and a credential, as in Bearer <token>"},
		{name: "unsupported scheme", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				return []string{"Token " + key}
			},
			want: codes.Unauthenticated, wantMsg: "The authorization scheme is not supported: use Bearer"},
		{name: "bearer token no authenticator accepts", method: methodWhoami,
			prepare: func(*testing.T, *fixture) []string { return []string{"Bearer eyJhbGciOi.x.y"} },
			want:    codes.Unauthenticated, wantMsg: "The credential is not of a kind this service accepts"},
		{name: "characters no credential has", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				return []string{"Bearer " + key + ",x"}
			},
			want: codes.Unauthenticated, wantMsg: "The credential holds characters that no valid credential has"},
		{name: "credential over 8 KiB", method: methodWhoami,
			prepare: func(*testing.T, *fixture) []string {
				return []string{"Bearer " + testPrefix + strings.Repeat("a", gatehouse.MaxCredentialLength)}
			},
			want: codes.Unauthenticated, wantMsg: "The credential is too long"},
		{name: "store down", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, reader)
				f.probe.down.Store(true)
				return []string{"Bearer " + key}
			},
			want: codes.Unavailable, wantMsg: "Authentication is temporarily unavailable; retry later", storeCalls: 1},
		{name: "rate limited", method: methodWhoami,
			prepare: func(t *testing.T, f *fixture) []string {
				p := reader
				p.Metadata = map[string]string{"plan": "tiny"}
				key, _ := f.issue(t, p)
				got, err := f.call(withAuthorization(timeout(t), "Bearer "+key), methodWhoami)
				require.NoError(t, err, "the first call is within the limit")
				require.Equal(t, "usr_reader", got)
				return []string{"Bearer " + key}
			},
			want: codes.ResourceExhausted, wantMsg: "Too many requests: retry after 60 seconds", storeCalls: 0, // cached by the first call
			check: func(t *testing.T, st *status.Status) {
				require.Len(t, st.Details(), 1)
				ri, ok := st.Details()[0].(*errdetails.RetryInfo)
				require.True(t, ok, "detail %T", st.Details()[0])
				assert.Equal(t, time.Minute, ri.GetRetryDelay().AsDuration())
			}},
		{name: "server stream, authenticated", method: methodFollow, prepare: valid,
			want: codes.OK, wantAnswer: "usr_reader,usr_reader", storeCalls: 1},
		{name: "server stream, missing scope", method: methodFollow,
			prepare: func(t *testing.T, f *fixture) []string {
				key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:write"}})
				return []string{"Bearer " + key}
			},
			want: codes.PermissionDenied, wantMsg: "The credential lacks a required scope: projects:read", storeCalls: 1},
		{name: "health Watch, authenticated", method: "/grpc.health.v1.Health/Watch", prepare: valid,
			want: codes.OK, wantAnswer: "SERVING", storeCalls: 1},
		{name: "health Watch without credential", method: "/grpc.health.v1.Health/Watch",
			prepare: func(*testing.T, *fixture) []string { return nil },
			want:    codes.Unauthenticated, wantMsg: "Authentication required: send a credential in the authorization metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, cfg)
			values := tt.prepare(t, f)
			secrets := append([]string(nil), values...)
			before := f.probe.calls.Load()
			got, err := f.call(withAuthorization(timeout(t), values...), tt.method)
			st := status.Convert(err)
			require.Equal(t, tt.want, st.Code(), "status %v", st)
			if tt.want == codes.OK {
				assert.Equal(t, tt.wantAnswer, got)
			} else {
				assert.Equal(t, tt.wantMsg, st.Message())
				for _, s := range secrets {
					_, tok, _ := strings.Cut(strings.TrimSpace(s), " ")
					if tok = strings.TrimSpace(tok); len(tok) > 4 {
						assert.NotContains(t, st.Message(), tok, "the credential is never echoed")
					}
				}
				assert.NotContains(t, st.Message(), errStoreDown.Error())
				assert.NotContains(t, st.Message(), "gatehouse:", "no internal error string")
			}
			if tt.storeCalls >= 0 {
				assert.Equal(t, tt.storeCalls, f.probe.calls.Load()-before, "store calls")
			}
			if tt.check != nil {
				tt.check(t, st)
			}
		})
	}
}

// TestTwoValuesReachTheServer makes sure that the "two authorization
// values" case above is what the server sees: gRPC keeps both values.
func TestTwoValuesReachTheServer(t *testing.T) {
	f := newFixture(t, grpcauth.Config{})
	_, err := f.call(withAuthorization(timeout(t), "Bearer a", "Bearer b"), methodWhoami)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Equal(t, 2, f.seenCount())
}

// TestDefaultPublicMethods: with the zero Config, health Check and Watch
// and server reflection need no credential; health List does.
func TestDefaultPublicMethods(t *testing.T) {
	f := newFixture(t, grpcauth.Config{})
	ctx := timeout(t)
	for _, m := range []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"} {
		got, err := f.call(ctx, m)
		require.NoError(t, err, m)
		assert.Equal(t, "SERVING", got, m)
	}
	_, err := f.call(ctx, "/grpc.health.v1.Health/List")
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "List enumerates services: not public by default")
	key, _ := f.issue(t, apikey.Params{})
	_, err = f.call(withAuthorization(ctx, "Bearer "+key), "/grpc.health.v1.Health/List")
	assert.NoError(t, err)
	_, err = f.call(ctx, methodWhoami)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	got, err := f.call(withAuthorization(ctx, "Bearer "+key), methodDelete)
	require.NoError(t, err, "a method in no scope table needs authentication only")
	assert.Equal(t, "usr_alice", got)

	assert.Equal(t, []string{
		healthpb.Health_Check_FullMethodName,
		healthpb.Health_Watch_FullMethodName,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	}, grpcauth.DefaultPublicMethods())
	l := grpcauth.DefaultPublicMethods()
	l[0] = "changed"
	assert.Equal(t, healthpb.Health_Check_FullMethodName, grpcauth.DefaultPublicMethods()[0], "a new slice each time")
}

func TestDenyUnlisted(t *testing.T) {
	f := newFixture(t, grpcauth.Config{Scopes: testScopes(), DenyUnlisted: true})
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	ctx := withAuthorization(timeout(t), "Bearer "+key)

	_, err := f.call(ctx, methodWhoami)
	st := status.Convert(err)
	assert.Equal(t, codes.PermissionDenied, st.Code())
	assert.Equal(t, "No credential may call this method", st.Message())
	_, err = f.call(timeout(t), methodWhoami)
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "authentication comes first")
	got, err := f.call(ctx, methodList)
	require.NoError(t, err)
	assert.Equal(t, "usr_alice", got)
	_, err = f.call(timeout(t), "/grpc.health.v1.Health/Check")
	assert.NoError(t, err, "public methods stay public")
}

func TestAnyScopes(t *testing.T) {
	f := newFixture(t, grpcauth.Config{AnyScopes: map[string][]string{methodDelete: {"projects:admin", "projects:write"}}})
	reader, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	writer, _ := f.issue(t, apikey.Params{OwnerID: "usr_w", Scopes: []string{"projects:write"}})

	_, err := f.call(withAuthorization(timeout(t), "Bearer "+reader), methodDelete)
	st := status.Convert(err)
	assert.Equal(t, codes.PermissionDenied, st.Code())
	assert.Equal(t, "The credential lacks a required scope: one of projects:admin projects:write", st.Message())
	got, err := f.call(withAuthorization(timeout(t), "Bearer "+writer), methodDelete)
	require.NoError(t, err)
	assert.Equal(t, "usr_w", got)
}

// TestCachedKeyCostsOneStoreCall: the second call with the same key is
// answered from the cache, as over HTTP.
func TestCachedKeyCostsOneStoreCall(t *testing.T) {
	f := newFixture(t, grpcauth.Config{Scopes: testScopes()})
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	ctx := withAuthorization(timeout(t), "Bearer "+key)
	for range 5 {
		_, err := f.call(ctx, methodList)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), f.probe.calls.Load())

	// A revocation through the cache is seen by the next call.
	_, err := f.cache.RevokeKey(context.Background(), rec.ID, f.clock.Now())
	require.NoError(t, err)
	_, err = f.call(ctx, methodList)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
}

// TestStreamRecheck: the stream handler's context carries the principal,
// and Check on it verifies the credential again (a revocation made while
// the stream is open is seen).
func TestStreamRecheck(t *testing.T) {
	f := newFixture(t, grpcauth.Config{Scopes: testScopes()})
	key, rec := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	var first, second error
	var sawPrincipal bool
	ready, release := make(chan struct{}), make(chan struct{})
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(f.auth.Stream()))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: projectsService,
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Follow", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			_, sawPrincipal = gatehouse.FromContext(ss.Context())
			_, first = f.auth.Check(ss.Context(), methodFollow)
			close(ready)
			<-release
			_, second = f.auth.Check(ss.Context(), methodFollow)
			return grpcauth.StatusError(second)
		}}},
	}, struct{}{})
	conn := dial(t, startServer(t, srv))
	cs, err := conn.NewStream(withAuthorization(timeout(t), "Bearer "+key), &projectsDesc.Streams[0], methodFollow)
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("x")))
	require.NoError(t, cs.CloseSend())
	<-ready
	_, err = f.cache.RevokeKey(context.Background(), rec.ID, f.clock.Now())
	require.NoError(t, err)
	close(release)
	err = cs.RecvMsg(new(wrapperspb.StringValue))
	assert.True(t, sawPrincipal)
	assert.NoError(t, first)
	assert.ErrorIs(t, second, gatehouse.ErrInvalidToken, "Check sees the revocation")
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
}
