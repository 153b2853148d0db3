package grpcauth_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/store"
)

const testPrefix = "cpx_live."

var testFormat = apikey.MustFormat(testPrefix)

// The methods of the hand-written test service, Projects: Whoami needs
// authentication only, List and Delete a scope each, Follow (a server
// stream) projects:read.
const (
	projectsService = "gatehouse.test.v1.Projects"
	methodWhoami    = "/" + projectsService + "/Whoami"
	methodList      = "/" + projectsService + "/List"
	methodDelete    = "/" + projectsService + "/Delete"
	methodFollow    = "/" + projectsService + "/Follow"
)

// testScopes is the scope table of the fixture's interceptor.
func testScopes() map[string][]string {
	return map[string][]string{
		methodList:   {"projects:read"},
		methodDelete: {"projects:write"},
		methodFollow: {"projects:read"},
	}
}

// caller answers every call of the Projects service with the ID of the
// principal in the context, or "anonymous".
func caller(ctx context.Context) *wrapperspb.StringValue {
	if p, ok := gatehouse.FromContext(ctx); ok {
		return wrapperspb.String(p.ID)
	}
	return wrapperspb.String("anonymous")
}

func unaryMethod(name string) grpc.MethodDesc {
	full := "/" + projectsService + "/" + name
	return grpc.MethodDesc{MethodName: name, Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) { return caller(ctx), nil }
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, h)
	}}
}

// projectsDesc describes the Projects service by hand: its messages are
// wrapperspb.StringValue, so no generated code is needed.
var projectsDesc = grpc.ServiceDesc{
	ServiceName: projectsService,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{unaryMethod("Whoami"), unaryMethod("List"), unaryMethod("Delete")},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Follow",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			in := new(wrapperspb.StringValue)
			if err := ss.RecvMsg(in); err != nil {
				return err
			}
			for range 2 {
				if err := ss.SendMsg(caller(ss.Context())); err != nil {
					return err
				}
			}
			return nil
		},
	}},
	Metadata: "projects.proto",
}

// countingStore wraps a KeyStore, counts KeyByDigest calls (the only call
// the request path makes) and fails them while down is set.
type countingStore struct {
	store.KeyStore
	calls atomic.Int64
	down  atomic.Bool
}

// errStoreDown is the store's internal error; it must never reach a client.
var errStoreDown = errors.New("pq: connection refused to db.internal:5432")

func (s *countingStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, errStoreDown
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

// fixture is a gRPC server on 127.0.0.1 serving the Projects and health
// services behind a grpcauth interceptor over an API-key authenticator, a
// KeyCache and a counting memory store, all on one fake clock.
type fixture struct {
	clock  *testclock.Clock
	mem    *store.Memory
	probe  *countingStore
	cache  *store.KeyCache
	keys   *apikey.Authenticator
	auth   *grpcauth.Interceptor
	health *health.Server
	addr   string
	conn   *grpc.ClientConn // insecure, without per-call credentials

	mu   sync.Mutex
	seen []string // the authorization values of the calls that reached the server, in order
}

func newFixture(t testing.TB, cfg grpcauth.Config, serverOpts ...grpc.ServerOption) *fixture {
	t.Helper()
	f := &fixture{clock: testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), mem: store.NewMemory()}
	f.probe = &countingStore{KeyStore: f.mem}
	var err error
	f.cache, err = store.NewKeyCache(f.probe, store.CacheConfig{Now: f.clock.Now})
	require.NoError(t, err)
	f.keys, err = apikey.NewAuthenticator(testFormat, f.cache, apikey.Config{Now: f.clock.Now})
	require.NoError(t, err)
	f.auth, err = grpcauth.New(cfg, f.keys)
	require.NoError(t, err)

	// record runs before grpcauth and notes what reached the server.
	record := func(ctx context.Context) {
		f.mu.Lock()
		f.seen = append(f.seen, metadata.ValueFromIncomingContext(ctx, "authorization")...)
		f.mu.Unlock()
	}
	opts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}, f.auth.Unary()),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context())
			return h(srv, ss)
		}, f.auth.Stream()),
	}, serverOpts...)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&projectsDesc, struct{}{})
	f.health = health.NewServer()
	healthpb.RegisterHealthServer(srv, f.health)
	f.addr = startServer(t, srv)
	f.conn = dial(t, f.addr)
	return f
}

// startServer serves srv on a new 127.0.0.1 listener until the test ends.
func startServer(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveOn(t, srv, lis)
}

func serveOn(t testing.TB, srv *grpc.Server, lis net.Listener) string {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return lis.Addr().String()
}

// dial returns an insecure client connection to addr, closed when the test
// ends.
func dial(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// issue stores a new key in the memory store (not through the counting
// wrapper) and returns it with its record.
func (f *fixture) issue(t testing.TB, p apikey.Params) (string, *store.Key) {
	t.Helper()
	if p.Name == "" {
		p.Name = "test key"
	}
	if p.OwnerID == "" {
		p.OwnerID = "usr_alice"
	}
	p.Now = f.clock.Now()
	key, rec, err := apikey.Issue(context.Background(), f.mem, testFormat, nil, p)
	require.NoError(t, err)
	return key, rec
}

// seenCount returns how many authorization values reached the server.
func (f *fixture) seenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// badChecksum returns key with its last character changed, which breaks
// the checksum and nothing else.
func badChecksum(key string) string {
	c := byte('A')
	if key[len(key)-1] == 'A' {
		c = 'B'
	}
	return key[:len(key)-1] + string(c)
}

// withAuthorization returns ctx with values as its outgoing authorization
// metadata (none: no metadata).
func withAuthorization(ctx context.Context, values ...string) context.Context {
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}

// timeout returns a context that ends the call if the test hangs.
func timeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
