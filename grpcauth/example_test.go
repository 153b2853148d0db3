package grpcauth_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/credentials"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// Protect a gRPC server with API keys, require a scope per method, and call
// it with the credentials package's resolver on the client side.
func Example() {
	ctx := context.Background()
	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	format := apikey.MustFormat("cpx_live.")
	keyAuth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
	key, _, _ := apikey.Issue(ctx, keys, format, nil,
		apikey.Params{Name: "CI", OwnerID: "user_1", Scopes: []string{"health:read"}})

	// Server: health Check needs a credential here (Public replaces the
	// default list), and List needs the health:admin scope.
	auth, err := grpcauth.New(grpcauth.Config{
		Public: []string{},
		Scopes: map[string][]string{"/grpc.health.v1.Health/List": {"health:admin"}},
	}, keyAuth)
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(lis)
	defer srv.Stop()
	target := lis.Addr().String()

	// Client: the token as credentials.Resolve finds it (here an explicit
	// option; GATEHOUSE_TOKEN or a profile otherwise). Plaintext is allowed
	// because the target is loopback.
	r, _ := credentials.Resolve(credentials.Options{Token: key, URI: "https://api.example.com",
		ConfigDir: "/nonexistent", LookupEnv: func(string) (string, bool) { return "", false }})
	creds, _ := grpcauth.NewPerRPCCredentials(r, target, grpcauth.ClientConfig{})
	conn, _ := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	_, err = client.List(ctx, &healthpb.HealthListRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())

	anon, _ := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer anon.Close()
	_, err = healthpb.NewHealthClient(anon).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// SERVING <nil>
	// PermissionDenied The credential lacks a required scope: health:admin
	// Unauthenticated Authentication required: send a credential in the authorization metadata
}
