package grpcauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// BenchmarkUnary compares, in one run, the work an interceptor adds to a
// unary call with a cached API key: grpcauth's interceptor; go-grpc-
// middleware v2's auth interceptor with an AuthFunc that does the same key
// check by hand (parse the authorization metadata, verify with the same
// apikey.Authenticator, put the principal in the context); and the floor,
// the handler called directly. The interceptors are called directly with a
// context that carries incoming metadata, as the gRPC server builds it: no
// network, so that the allocations counted are the interceptor's own.
//
// "gatehouse" calls a method that needs authentication only, the same work
// as the hand-written AuthFunc, plus the lookup of the method's rule (which
// exempts health checks and reflection by default);
// "go-grpc-middleware-selector" is the hand-written check with those
// exemptions, made as go-grpc-middleware documents it (its selector
// interceptor and a match function); "gatehouse-scoped" a method that also
// requires a scope, which the go-grpc-middleware AuthFunc cannot see (it is
// not given the method name). "http-middleware" is, for scale, what the
// HTTP middleware adds to a request with the same key and authenticator
// (a request built once, a ResponseWriter that discards).
func BenchmarkUnary(b *testing.B) {
	ctx := context.Background()
	mem := store.NewMemory()
	cache, err := store.NewKeyCache(mem, store.CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := apikey.Issue(ctx, mem, testFormat, nil, apikey.Params{Name: "bench", OwnerID: "usr_bench", Scopes: []string{"projects:read"}})
	if err != nil {
		b.Fatal(err)
	}
	ga, err := grpcauth.New(grpcauth.Config{Scopes: testScopes()}, keys)
	if err != nil {
		b.Fatal(err)
	}
	gatehouseUnary := ga.Unary()

	// The hand-written check, as a go-grpc-middleware user writes it.
	manual := auth.UnaryServerInterceptor(func(ctx context.Context) (context.Context, error) {
		tok, err := auth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		p, err := keys.Verify(ctx, tok)
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid API key")
		}
		return gatehouse.NewContext(ctx, p), nil
	})

	// The same check with the exemptions grpcauth makes by default (health
	// and reflection need no credential), written the way go-grpc-
	// middleware v2 documents: its selector interceptor around auth, with
	// a match function that skips the public methods.
	public := map[string]bool{}
	for _, m := range grpcauth.DefaultPublicMethods() {
		public[m] = true
	}
	selected := selector.UnaryServerInterceptor(manual, selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return !public[c.FullMethod()]
	}))

	in := metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+key,
		"content-type", "application/grpc", "user-agent", "grpc-go/1.85.0", ":authority", "127.0.0.1:50051"))
	handler := grpc.UnaryHandler(benchHandler)
	checking := func(ctx context.Context, req any) (any, error) {
		if p, ok := gatehouse.FromContext(ctx); !ok || p.ID != "usr_bench" {
			b.Fatal("no principal in the handler's context")
		}
		return req, nil
	}
	whoami := &grpc.UnaryServerInfo{FullMethod: methodWhoami}
	list := &grpc.UnaryServerInfo{FullMethod: methodList}
	req := new(int)

	// Warm the cache, and check that each path authenticates.
	for _, icpt := range []grpc.UnaryServerInterceptor{gatehouseUnary, manual, selected} {
		for _, info := range []*grpc.UnaryServerInfo{whoami, list} {
			if _, err := icpt(in, req, info, checking); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("gatehouse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gatehouseUnary(in, req, whoami, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gatehouse-scoped", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gatehouseUnary(in, req, list, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-grpc-middleware", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := manual(in, req, whoami, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-grpc-middleware-selector", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := selected(in, req, whoami, handler); err != nil {
				b.Fatal(err)
			}
		}
	})
	m, err := middleware.New(middleware.Config{}, keys)
	if err != nil {
		b.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/projects", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := discard{}
	b.Run("http-middleware", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := benchHandler(in, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchHandler is the handler of every benchmark: it does nothing, and is
// not inlined, so that the floor is one real call.
//
//go:noinline
func benchHandler(_ context.Context, req any) (any, error) { return req, nil }

// discard is a ResponseWriter that drops everything.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
