package grpcauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// stubAuth accepts every Bearer credential and answers with p and err, or
// panics with a non-nil panicWith.
type stubAuth struct {
	p             *gatehouse.Principal
	err           error
	panicWith     any
	panicAccepts  bool
	authenticated *int // counts Authenticate calls when set
}

func (s stubAuth) Accepts(c gatehouse.Credential) bool {
	if s.panicAccepts {
		panic("accepts")
	}
	return c.Scheme == gatehouse.SchemeBearer
}

func (s stubAuth) Authenticate(context.Context, gatehouse.Credential) (*gatehouse.Principal, error) {
	if s.authenticated != nil {
		*s.authenticated++
	}
	if s.panicWith != nil {
		panic(s.panicWith)
	}
	return s.p, s.err
}

// unary calls the interceptor directly with an incoming authorization value
// and returns the principal the handler saw and the error.
func unary(t *testing.T, i *grpcauth.Interceptor, method string, values ...string) (*gatehouse.Principal, error) {
	t.Helper()
	ctx := context.Background()
	if len(values) > 0 {
		md := metadata.MD{}
		for _, v := range values {
			md.Append("authorization", v)
		}
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	var got *gatehouse.Principal
	_, err := i.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
		got, _ = gatehouse.FromContext(ctx)
		return "served", nil
	})
	return got, err
}

func TestNewValidates(t *testing.T) {
	ok := stubAuth{p: &gatehouse.Principal{ID: "u"}}
	tests := []struct {
		name  string
		cfg   grpcauth.Config
		auths []gatehouse.Authenticator
	}{
		{"no authenticator", grpcauth.Config{}, nil},
		{"nil authenticator", grpcauth.Config{}, []gatehouse.Authenticator{ok, nil}},
		{"method without leading slash", grpcauth.Config{Scopes: map[string][]string{"pkg.S/M": {"a"}}}, nil},
		{"method without method part", grpcauth.Config{Scopes: map[string][]string{"/pkg.S/": {"a"}}}, nil},
		{"method without service part", grpcauth.Config{Scopes: map[string][]string{"//M": {"a"}}}, nil},
		{"service only", grpcauth.Config{Scopes: map[string][]string{"/pkg.S": {"a"}}}, nil},
		{"three parts", grpcauth.Config{Scopes: map[string][]string{"/a/b/c": {"a"}}}, nil},
		{"space in method", grpcauth.Config{Scopes: map[string][]string{"/pkg.S/M x": {"a"}}}, nil},
		{"non-ASCII method", grpcauth.Config{AnyScopes: map[string][]string{"/pkg.S/Mé": {"a"}}}, nil},
		{"empty scope list", grpcauth.Config{Scopes: map[string][]string{"/pkg.S/M": {}}}, nil},
		{"invalid scope", grpcauth.Config{Scopes: map[string][]string{"/pkg.S/M": {"has space"}}}, nil},
		{"invalid any scope", grpcauth.Config{AnyScopes: map[string][]string{"/pkg.S/M": {""}}}, nil},
		{"in Scopes and AnyScopes", grpcauth.Config{Scopes: map[string][]string{"/pkg.S/M": {"a"}},
			AnyScopes: map[string][]string{"/pkg.S/M": {"b"}}}, nil},
		{"public and scoped", grpcauth.Config{Scopes: map[string][]string{"/grpc.health.v1.Health/Check": {"a"}}}, nil},
		{"invalid public method", grpcauth.Config{Public: []string{"health"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auths := tt.auths
			if auths == nil && tt.name != "no authenticator" {
				auths = []gatehouse.Authenticator{ok}
			}
			i, err := grpcauth.New(tt.cfg, auths...)
			assert.Error(t, err)
			assert.Nil(t, i)
		})
	}

	t.Run("valid", func(t *testing.T) {
		_, err := grpcauth.New(grpcauth.Config{
			Scopes:    map[string][]string{"/pkg.v1.S/A": {"a", "b:read"}, "/S/B": {"b:*"}},
			AnyScopes: map[string][]string{"/pkg.v1.S/C": {"a", "c"}},
			Public:    []string{"/pkg.v1.S/Ping", "/grpc.health.v1.Health/Check"},
		}, ok)
		assert.NoError(t, err)
	})
}

func TestMatcherImplications(t *testing.T) {
	m := scopes.MustMatcher(scopes.Implications{"projects:admin": {"projects:write"}, "projects:write": {"projects:read"}})
	i, err := grpcauth.New(grpcauth.Config{Matcher: m, Scopes: map[string][]string{methodList: {"projects:read"}}},
		stubAuth{p: &gatehouse.Principal{ID: "admin", Scopes: []string{"projects:admin"}}})
	require.NoError(t, err)
	p, err := unary(t, i, methodList, "Bearer x")
	require.NoError(t, err)
	assert.Equal(t, "admin", p.ID)
}

// TestFailsClosed: a broken authenticator, an error wrapping no sentinel
// and an error handler that returns nil never let a call through.
func TestFailsClosed(t *testing.T) {
	leak := errors.New("secret internal detail")
	tests := []struct {
		name string
		auth stubAuth
		cfg  grpcauth.Config
	}{
		{name: "authenticator panics", auth: stubAuth{panicWith: leak}},
		{name: "Accepts panics", auth: stubAuth{panicAccepts: true}},
		{name: "no principal and no error", auth: stubAuth{}},
		{name: "error wrapping no sentinel", auth: stubAuth{err: leak}},
		{name: "unavailable with a cause", auth: stubAuth{err: gatehouse.Unavailable(leak)}},
		{name: "After fails", auth: stubAuth{p: &gatehouse.Principal{ID: "u"}},
			cfg: grpcauth.Config{After: func(context.Context, string, *gatehouse.Principal) error { return leak }}},
		{name: "error handler returns nil", auth: stubAuth{err: leak},
			cfg: grpcauth.Config{ErrorHandler: func(context.Context, string, error) error { return nil }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := grpcauth.New(tt.cfg, tt.auth)
			require.NoError(t, err)
			p, err := unary(t, i, methodWhoami, "Bearer x")
			assert.Nil(t, p)
			st := status.Convert(err)
			assert.Equal(t, codes.Unavailable, st.Code())
			assert.Equal(t, "Authentication is temporarily unavailable; retry later", st.Message())
		})
	}
}

func TestAfterAndErrorHandler(t *testing.T) {
	type call struct {
		method string
		id     string
	}
	var calls []call
	var refused []error
	i, err := grpcauth.New(grpcauth.Config{
		After: func(ctx context.Context, method string, p *gatehouse.Principal) error {
			calls = append(calls, call{method, p.ID})
			_, inCtx := gatehouse.FromContext(ctx)
			assert.False(t, inCtx, "After gets the principal as an argument")
			return nil
		},
		ErrorHandler: func(_ context.Context, method string, err error) error {
			refused = append(refused, err)
			return status.Error(codes.NotFound, "no such method "+method)
		},
	}, stubAuth{p: &gatehouse.Principal{ID: "u"}})
	require.NoError(t, err)

	_, err = unary(t, i, methodWhoami, "Bearer x")
	require.NoError(t, err)
	_, err = unary(t, i, "/grpc.health.v1.Health/Check")
	require.NoError(t, err)
	assert.Equal(t, []call{{methodWhoami, "u"}}, calls, "not run for public methods")

	_, err = unary(t, i, methodWhoami)
	assert.Equal(t, codes.NotFound, status.Code(err))
	require.Len(t, refused, 1)
	assert.ErrorIs(t, refused[0], gatehouse.ErrNoCredentials)
}

func TestCheck(t *testing.T) {
	mem := store.NewMemory()
	cache, err := store.NewKeyCache(mem, store.CacheConfig{})
	require.NoError(t, err)
	keys, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{})
	require.NoError(t, err)
	key, _, err := apikey.Issue(context.Background(), mem, testFormat, nil, apikey.Params{Name: "k", OwnerID: "usr_1", Scopes: []string{"projects:read"}})
	require.NoError(t, err)
	i, err := grpcauth.New(grpcauth.Config{Scopes: testScopes()}, keys)
	require.NoError(t, err)
	in := func(v ...string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.MD{"authorization": v})
	}

	p, err := i.Check(in("Bearer "+key), methodList)
	require.NoError(t, err)
	assert.Equal(t, "usr_1", p.ID)
	p, err = i.Check(context.Background(), "/grpc.health.v1.Health/Check")
	assert.NoError(t, err)
	assert.Nil(t, p, "a public method has no principal")

	_, err = i.Check(context.Background(), methodList)
	assert.ErrorIs(t, err, gatehouse.ErrNoCredentials)
	_, err = i.Check(in("Bearer "+key, "Bearer "+key), methodList)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidRequest)
	_, err = i.Check(in("Bearer "+key), methodDelete)
	var se *gatehouse.ScopeError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, []string{"projects:write"}, se.Required)
	_, err = i.Check(in("Token "+key), methodList)
	assert.ErrorIs(t, err, middleware.ErrUnsupportedScheme, "the same cause as over HTTP")
	_, err = i.Check(in("Bearer "+badChecksum(key)), methodList)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	// A key whose metadata name is not lower-case (a context built by hand)
	// is still found.
	_, err = i.Check(metadata.NewIncomingContext(context.Background(), metadata.MD{"Authorization": {"Bearer " + key}}), methodList)
	assert.NoError(t, err)
}

// TestReflectionIsPublic: with the default Config, a reflection client
// lists the services without a credential.
func TestReflectionIsPublic(t *testing.T) {
	i, err := grpcauth.New(grpcauth.Config{}, stubAuth{err: gatehouse.Invalid(gatehouse.ReasonUnknown, "no")})
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(i.Unary()), grpc.ChainStreamInterceptor(i.Stream()))
	srv.RegisterService(&projectsDesc, struct{}{})
	reflection.Register(srv)
	conn := dial(t, startServer(t, srv))

	rc, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(timeout(t))
	require.NoError(t, err)
	require.NoError(t, rc.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}))
	resp, err := rc.Recv()
	require.NoError(t, err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	assert.Contains(t, names, projectsService)
	require.NoError(t, rc.CloseSend())

	_, err = callWhoami(t, conn)
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "the rest of the service is not")
}

// TestToken68Rule: as in the HTTP middleware, an authenticator that is not
// StrictSyntax never sees a credential that is not a token68, and a
// StrictSyntax one (the API-key authenticator) that refuses such a
// credential gets the same answer.
func TestToken68Rule(t *testing.T) {
	n := 0
	loose, err := grpcauth.New(grpcauth.Config{}, stubAuth{p: &gatehouse.Principal{ID: "u"}, authenticated: &n})
	require.NoError(t, err)
	keys, err := apikey.NewAuthenticator(testFormat, store.NewMemory(), apikey.Config{})
	require.NoError(t, err)
	strict, err := grpcauth.New(grpcauth.Config{}, keys)
	require.NoError(t, err)
	key, err := testFormat.Generate()
	require.NoError(t, err)

	for _, v := range []string{"Bearer a,b", "Bearer " + key + ",", "Bearer " + key + "\"", "bearer a;b", "Bearer  a{b"} {
		for name, i := range map[string]*grpcauth.Interceptor{"loose": loose, "strict": strict} {
			_, err := unary(t, i, methodWhoami, v)
			st := status.Convert(err)
			assert.Equal(t, codes.Unauthenticated, st.Code(), "%s %q", name, v)
			assert.Equal(t, "The credential holds characters that no valid credential has", st.Message(), "%s %q", name, v)
		}
	}
	assert.Zero(t, n, "the loose authenticator never saw them")
	p, err := unary(t, loose, methodWhoami, "Bearer a.b~c+d/e-f_g==")
	require.NoError(t, err)
	assert.Equal(t, "u", p.ID)
}
