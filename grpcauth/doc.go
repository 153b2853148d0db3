// Package grpcauth runs Gatehouse in gRPC servers and clients.
//
// It is a module of its own, so that google.golang.org/grpc never enters
// the dependency graph of services that do not use it.
//
// # Server
//
// [New] builds an [Interceptor] from the same authenticators the HTTP
// middleware runs (API keys, JWTs) and a [Config] of per-method scopes,
// validated and compiled once:
//
//	auth, err := grpcauth.New(grpcauth.Config{
//		Scopes: map[string][]string{
//			"/shop.v1.Orders/Get":    {"orders:read"},
//			"/shop.v1.Orders/Cancel": {"orders:write"},
//		},
//	}, keyAuth, jwtAuth)
//	if err != nil { ... }
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(auth.Unary()),
//		grpc.ChainStreamInterceptor(auth.Stream()))
//
// A call must carry exactly one "authorization" metadata value, "Bearer
// <token>", read as the HTTP middleware reads the Authorization header
// (middleware.ParseAuthorization: the scheme matched case-insensitively,
// the token a token68 of at most gatehouse.MaxCredentialLength bytes); the
// first authenticator that accepts it verifies it, and the handler finds
// the principal with [gatehouse.FromContext]. Cookies play no part:
// session authenticators, which read one, never see a gRPC call. A method in
// Config.Scopes (every scope) or Config.AnyScopes (one of them) also needs
// those scopes; a method in neither needs authentication only, unless
// Config.DenyUnlisted closes it. The methods in Config.Public, by default
// [DefaultPublicMethods] (health Check and Watch, server reflection), need
// no credential.
//
// Refusals end the call with a status ([Status]) whose message is a fixed
// sentence, never the credential or an internal error:
//
//	no credential, invalid, expired or revoked   Unauthenticated
//	two authorization values, malformed value    InvalidArgument
//	missing scope, forbidden                     PermissionDenied
//	rate limited                                 ResourceExhausted + RetryInfo
//	store, key set or limiter unavailable        Unavailable
//
// The interceptor fails closed: a backend that cannot answer, an
// authenticator that panics or returns neither a principal nor an error,
// an error that wraps no gatehouse sentinel, all end in Unavailable, never
// in a served call.
//
// A stream is checked once, when it opens. A credential revoked or expired
// while a stream is open does not end it; a handler of a long-lived stream
// that must end with its credential calls [Interceptor.Check] with the
// stream's context from time to time.
//
// # Client
//
// [NewPerRPCCredentials] turns what the credentials package resolved
// (explicit options, then GATEHOUSE_TOKEN or a personal access config, then
// the profile file) into grpc.PerRPCCredentials. They require transport
// security, except to a loopback or Unix-socket target, and even then
// only when the connected peer is local:
//
//	r, err := credentials.Resolve(credentials.Options{})
//	creds, err := grpcauth.NewPerRPCCredentials(r, target, grpcauth.ClientConfig{})
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(gcreds.NewTLS(nil)),
//		grpc.WithPerRPCCredentials(creds))
package grpcauth
