package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// Config holds the optional settings of an [Interceptor]. The zero value is
// usable: every method but the default public ones needs a valid credential
// and no particular scope.
type Config struct {
	// Scopes maps a full method name ("/pkg.Service/Method") to the scopes
	// a caller needs, every one of them. A method in neither Scopes nor
	// AnyScopes needs authentication only (see DenyUnlisted). Default none.
	Scopes map[string][]string
	// AnyScopes maps a full method name to scopes of which a caller needs
	// at least one. A method is in Scopes or AnyScopes, not both. Default
	// none.
	AnyScopes map[string][]string
	// Public lists the full method names that need no credential: their
	// calls are served without a principal, and the authorization
	// metadata they carry is not looked at. A nil slice means
	// [DefaultPublicMethods]; a non-nil slice replaces that list, and an
	// empty one makes every method need a credential. A public method
	// cannot be in Scopes or AnyScopes. Default [DefaultPublicMethods].
	Public []string
	// DenyUnlisted refuses, with PermissionDenied, an authenticated call
	// to a method that is in none of Public, Scopes and AnyScopes, so that
	// a method added to a service without a rule is closed rather than
	// open to every valid credential. Default false: such a method needs
	// authentication only.
	DenyUnlisted bool
	// Matcher matches granted scopes against the required ones, as the
	// HTTP middleware's Config.Matcher does. Default [scopes.Plain].
	Matcher *scopes.Matcher
	// After, when set, runs after authentication and the scope check of
	// every call that needs a credential, with the principal (not yet in
	// ctx): a per-key rate limit, say. An error refuses the call and is
	// mapped as any refusal ([Status]): a *gatehouse.RateLimitError is
	// ResourceExhausted with a RetryInfo, an error that wraps no gatehouse
	// sentinel Unavailable. It must be safe for concurrent use. Default
	// none.
	After func(ctx context.Context, fullMethod string, p *gatehouse.Principal) error
	// ErrorHandler returns the error a refused call ends with, from the
	// refusal err (which wraps a gatehouse sentinel), for logging or a
	// status of one's own. It should return a status error (an error of
	// another kind reaches the client as Unknown with its text), and must
	// never put err.Error() in a status message. A nil return is replaced
	// by [StatusError]'s, so that a handler cannot let a refused call
	// through. Default [StatusError].
	ErrorHandler func(ctx context.Context, fullMethod string, err error) error
	// ClientAddr returns the caller's address, which must be in a
	// credential's allowed networks ([gatehouse.Principal.AllowedNetworks])
	// when it has any: a call from elsewhere, or whose address is not
	// known, is refused with PermissionDenied by Check. Default: the
	// connection's peer address (peer.FromContext).
	ClientAddr func(ctx context.Context) (netip.Addr, bool)
	// Credits spends the usage credits of credentials that have them
	// ([gatehouse.Principal.Credits]): one per call Unary or Stream
	// serves, after Check has passed (authentication, scopes and After),
	// so that a refused call spends nothing; Check alone spends nothing.
	// A credential with none left is ResourceExhausted. Default none: a
	// call with such a credential is refused as Unavailable (fail closed).
	Credits store.CreditSpender
	// CreditsTimeout bounds one call to Credits, whatever the call's own
	// deadline (a call without one would otherwise wait on a hung
	// backend): a spend that takes longer refuses the call as
	// Unavailable. Default [middleware.DefaultStoreTimeout].
	CreditsTimeout time.Duration
	// Now is the clock credits are spent on. Default time.Now.
	Now func() time.Time
}

// DefaultPublicMethods returns the methods that need no credential unless
// Config.Public says otherwise: the gRPC health service's Check and Watch
// (load balancers and orchestrators call them without credentials) and
// server reflection, v1 and v1alpha (tools such as grpcurl call it before
// they know the API). The health service's List, which enumerates every
// service, is not among them. Each call returns a new slice.
func DefaultPublicMethods() []string {
	return []string{
		"/grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/Watch",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	}
}

// Interceptor authenticates gRPC calls with Gatehouse authenticators and
// checks the scopes of each method. Build one with [New]; it is immutable
// and safe for concurrent use.
type Interceptor struct {
	auths        middleware.Authenticators
	methods      map[string]rule
	denyUnlisted bool
	after        func(context.Context, string, *gatehouse.Principal) error
	onError      func(context.Context, string, error) error
	clientAddr   func(context.Context) (netip.Addr, bool)
	credits      store.CreditSpender
	creditsLimit time.Duration
	now          func() time.Time
}

// rule is what a method requires, compiled once.
type rule struct {
	public bool
	req    *scopes.Requirement // nil: authentication only
}

// New returns an interceptor that tries auths in order, as
// middleware.New does. It validates cfg: at least one authenticator, full
// method names of the form "/pkg.Service/Method", valid and non-empty
// scope lists, no method in two tables.
func New(cfg Config, auths ...gatehouse.Authenticator) (*Interceptor, error) {
	if len(auths) == 0 {
		return nil, errors.New("grpcauth: at least one authenticator is required")
	}
	for n, a := range auths {
		if a == nil {
			return nil, fmt.Errorf("grpcauth: authenticator %d is nil", n)
		}
	}
	matcher := cfg.Matcher
	if matcher == nil {
		matcher = scopes.Plain
	}
	i := &Interceptor{
		auths:        middleware.NewAuthenticators(errUnsupported, nil, auths...),
		methods:      map[string]rule{},
		denyUnlisted: cfg.DenyUnlisted,
		after:        cfg.After,
		onError:      cfg.ErrorHandler,
		clientAddr:   cfg.ClientAddr,
		credits:      cfg.Credits,
		creditsLimit: cfg.CreditsTimeout,
		now:          cfg.Now,
	}
	if i.clientAddr == nil {
		i.clientAddr = peerAddr
	}
	if i.creditsLimit <= 0 {
		i.creditsLimit = middleware.DefaultStoreTimeout
	}
	if i.now == nil {
		i.now = time.Now
	}
	public := cfg.Public
	if public == nil {
		public = DefaultPublicMethods()
	}
	for _, m := range public {
		if !validMethod(m) {
			return nil, fmt.Errorf("grpcauth: public method %q is not a full method name (/pkg.Service/Method)", m)
		}
		i.methods[m] = rule{public: true}
	}
	if err := i.compile(cfg.Scopes, matcher.AllOf, "Scopes"); err != nil {
		return nil, err
	}
	if err := i.compile(cfg.AnyScopes, matcher.AnyOf, "AnyScopes"); err != nil {
		return nil, err
	}
	return i, nil
}

// compile adds the requirements of table, built by build, to i.methods.
func (i *Interceptor) compile(table map[string][]string, build func(...string) (*scopes.Requirement, error), field string) error {
	for m, required := range table {
		if !validMethod(m) {
			return fmt.Errorf("grpcauth: %s: %q is not a full method name (/pkg.Service/Method)", field, m)
		}
		if r, ok := i.methods[m]; ok {
			if r.public {
				return fmt.Errorf("grpcauth: %s: %s is also a public method", field, m)
			}
			return fmt.Errorf("grpcauth: %s: %s is in both Scopes and AnyScopes", field, m)
		}
		req, err := build(required...)
		if err != nil {
			return fmt.Errorf("grpcauth: %s: %s: %w", field, m, err)
		}
		i.methods[m] = rule{req: req}
	}
	return nil
}

// validMethod reports whether m is "/service/method" with both parts
// non-empty and made of visible ASCII.
func validMethod(m string) bool {
	if len(m) < 4 || m[0] != '/' {
		return false
	}
	slashes := 0
	for k := 1; k < len(m); k++ {
		switch c := m[k]; {
		case c == '/':
			if m[k-1] == '/' || k == len(m)-1 {
				return false
			}
			slashes++
		case c <= ' ' || c >= 0x7f:
			return false
		}
	}
	return slashes == 1
}

// Refusals made here. They are shared values: refusing does not allocate.
var (
	errNoCredentials = &gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonMissing,
		Detail: "Authentication required: send a credential in the authorization metadata"}
	errTwoValues = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "Send exactly one authorization metadata value"}
	errMalformed = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The authorization metadata must be a scheme and a credential, as in Bearer <token>"}
	errUnsupported = &gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonUnsupported,
		Detail: "The authorization scheme is not supported: use Bearer", Cause: middleware.ErrUnsupportedScheme}
	errUnlisted = &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonUnsupported,
		Detail: "No credential may call this method"}
)

// authorization is the metadata key credentials are read from: the
// Authorization header of the HTTP/2 request, lower-cased as gRPC keys are.
const authorization = "authorization"

// Check authenticates the call whose incoming metadata ctx carries and
// authorizes it for fullMethod, without serving it: it returns the
// principal, or an error wrapping a gatehouse sentinel ([Status] maps it).
// For a public method it returns a nil principal and a nil error. It is the
// pure half of [Interceptor.Unary] and [Interceptor.Stream]; a handler of a
// long-lived stream may call it again with the stream's context to verify
// that the credential still holds.
func (i *Interceptor) Check(ctx context.Context, fullMethod string) (*gatehouse.Principal, error) {
	r, listed := i.methods[fullMethod]
	if r.public {
		return nil, nil
	}
	p, err := i.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if len(p.AllowedNetworks) > 0 {
		if err := i.checkNetwork(ctx, p); err != nil {
			return nil, err
		}
	}
	switch {
	case r.req != nil:
		if !r.req.SatisfiedBy(p.Scopes) {
			return nil, &gatehouse.ScopeError{Required: r.req.Scopes(), Any: r.req.Any()}
		}
	case !listed && i.denyUnlisted:
		return nil, errUnlisted
	}
	if i.after != nil {
		if err := i.after(ctx, fullMethod, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// authenticate reads the one authorization value and hands it to the
// authenticators, as the HTTP middleware does with the Authorization
// header ([middleware.Authenticators]: an authenticator that panics, or
// returns neither a principal nor an error, fails closed).
func (i *Interceptor) authenticate(ctx context.Context) (*gatehouse.Principal, error) {
	// ValueFromIncomingContext copies the values (one allocation), but
	// unlike metadata.FromIncomingContext it does not copy the whole map.
	vals := metadata.ValueFromIncomingContext(ctx, authorization)
	switch len(vals) {
	case 0:
		return nil, errNoCredentials
	case 1:
	default:
		return nil, errTwoValues
	}
	c, fast := bearer(vals[0])
	if !fast {
		var err error
		if c, err = middleware.ParseAuthorization(vals[0]); err != nil {
			if errors.Is(err, gatehouse.ErrInvalidRequest) {
				// The middleware's sentences name the HTTP header.
				return nil, errMalformed
			}
			return nil, err // too long, or not a token68
		}
	}
	// The token68 check of a credential from the fast path is made by the
	// authenticators, where it is needed (see middleware.StrictSyntax).
	return i.auths.Authenticate(ctx, c)
}

// bearer is the fast path of middleware.ParseAuthorization for the usual
// spelling: "Bearer ", then a credential of at most
// gatehouse.MaxCredentialLength bytes with no space or tab around it. It
// returns the credential and true without checking that it is a token68
// (authenticate does that only where it is needed), or false when v needs
// the full parse.
func bearer(v string) (gatehouse.Credential, bool) {
	const prefix = gatehouse.SchemeBearer + " "
	n := len(v)
	if n <= len(prefix) || n-len(prefix) > gatehouse.MaxCredentialLength || v[:len(prefix)] != prefix ||
		v[len(prefix)] == ' ' || v[n-1] == ' ' || v[n-1] == '\t' {
		return gatehouse.Credential{}, false
	}
	return gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: v[len(prefix):]}, true
}

// Unary returns a unary server interceptor that refuses calls [Interceptor.Check]
// refuses and serves the others with the principal in the context
// ([gatehouse.FromContext]).
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, err := i.Check(ctx, info.FullMethod)
		if err == nil {
			err = i.spend(ctx, p)
		}
		if err != nil {
			return nil, i.refuse(ctx, info.FullMethod, err)
		}
		if p != nil {
			ctx = gatehouse.NewContext(ctx, p)
		}
		return handler(ctx, req)
	}
}

// Stream returns a stream server interceptor that checks a stream once,
// when it opens, as [Interceptor.Unary] checks a call, and serves it with
// the principal in the stream's context.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		p, err := i.Check(ctx, info.FullMethod)
		if err == nil {
			err = i.spend(ctx, p)
		}
		if err != nil {
			return i.refuse(ctx, info.FullMethod, err)
		}
		if p == nil {
			return handler(srv, ss)
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: gatehouse.NewContext(ctx, p)})
	}
}

// serverStream is a grpc.ServerStream whose context carries the principal.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// refuse returns the error a refused call ends with.
func (i *Interceptor) refuse(ctx context.Context, fullMethod string, err error) error {
	if i.onError != nil {
		if out := i.onError(ctx, fullMethod, err); out != nil {
			return out
		}
	}
	return StatusError(err)
}
