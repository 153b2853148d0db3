package grpcauth

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/loopback"

	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-go/gatehouse/credentials"
	"github.com/gatehouse-go/gatehouse/jwtauth"
)

// ClientConfig holds the optional settings of [NewPerRPCCredentials]. The
// zero value is usable.
type ClientConfig struct {
	// TokenTTL is the lifetime of tokens minted from a personal access
	// config. Default 5 minutes; at most jwtauth.MaxMintTTL.
	TokenTTL time.Duration
	// RenewBefore is how long before its expiry a minted token is
	// replaced. Default a fifth of TokenTTL.
	RenewBefore time.Duration
	// Now is the clock minted tokens are dated by. Default time.Now.
	Now func() time.Time
}

// PerRPCCredentials is a google.golang.org/grpc/credentials.PerRPCCredentials
// that sends the credential [credentials.Resolve] found as
// "authorization: Bearer <token>" on every call: the token, or a token
// minted from the personal access config, kept and minted again before it
// expires. It is safe for concurrent use.
//
// It requires transport security (TLS, ALTS: a connection whose security
// level is PrivacyAndIntegrity), except when the dial target given to
// [NewPerRPCCredentials] is a loopback address or a Unix socket. Then a
// connection without transport security is allowed too, and only as long
// as the peer it actually reached is a loopback address or a Unix socket:
// a plaintext connection to any other address is refused before the
// credential is sent (grpc.NewClient refuses it outright when the target
// is not loopback).
type PerRPCCredentials struct {
	header      string // "Bearer " + token, when the credential is a token
	cfg         *jwtauth.PersonalConfig
	ttl, before time.Duration
	now         func() time.Time
	local       bool // the target is loopback or a Unix socket

	mu      sync.Mutex
	minted  string // "Bearer " + the minted token
	expires time.Time
}

var _ grpccreds.PerRPCCredentials = (*PerRPCCredentials)(nil)

// NewPerRPCCredentials returns per-call credentials for r's credential, for
// connections to target, the target passed to grpc.NewClient
// ("host:port", "dns:///host:port", "passthrough:///host:port",
// "unix:///path"). Only r's token or personal access config is used, not
// its URI: the gRPC target is named here.
//
//	r, err := credentials.Resolve(credentials.Options{})
//	creds, err := grpcauth.NewPerRPCCredentials(r, "api.example.com:443", grpcauth.ClientConfig{})
//	conn, err := grpc.NewClient("api.example.com:443",
//		grpc.WithTransportCredentials(gcreds.NewTLS(nil)), grpc.WithPerRPCCredentials(creds))
func NewPerRPCCredentials(r *credentials.Resolved, target string, cfg ClientConfig) (*PerRPCCredentials, error) {
	if r == nil || (r.Token == "" && r.Personal == nil) {
		return nil, fmt.Errorf("%w: no token or personal access config", credentials.ErrNoCredentials)
	}
	if target == "" {
		return nil, fmt.Errorf("%w: empty gRPC target", credentials.ErrInvalid)
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.TokenTTL < 0 || cfg.TokenTTL > jwtauth.MaxMintTTL {
		return nil, fmt.Errorf("%w: TokenTTL must be positive and at most %s", credentials.ErrInvalid, jwtauth.MaxMintTTL)
	}
	if cfg.RenewBefore <= 0 || cfg.RenewBefore >= cfg.TokenTTL {
		cfg.RenewBefore = cfg.TokenTTL / 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &PerRPCCredentials{cfg: r.Personal, ttl: cfg.TokenTTL, before: cfg.RenewBefore, now: cfg.Now, local: localTarget(target)}
	if r.Personal == nil {
		c.header = "Bearer " + r.Token
	}
	return c, nil
}

// RequireTransportSecurity reports whether the connection must have
// transport security: true unless the target is loopback or a Unix socket.
// gRPC refuses to build a client connection without transport security
// for credentials that require it.
func (c *PerRPCCredentials) RequireTransportSecurity() bool { return !c.local }

// errInsecure is the refusal to send a credential in plaintext to a peer
// that is not local. Unauthenticated: the call fails without having been
// sent.
var errInsecure = status.Error(codes.Unauthenticated,
	"grpcauth: refusing to send credentials over a connection without transport security to a peer that is not loopback")

// GetRequestMetadata returns the authorization metadata of a call. It
// refuses a connection below the PrivacyAndIntegrity security level unless
// both the target and the connected peer are local.
func (c *PerRPCCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	ri, ok := grpccreds.RequestInfoFromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "grpcauth: no request info: GetRequestMetadata must be called by gRPC")
	}
	if grpccreds.CheckSecurityLevel(ri.AuthInfo, grpccreds.PrivacyAndIntegrity) != nil {
		p, ok := peer.FromContext(ctx)
		if !c.local || !ok || !localAddr(p.Addr) {
			return nil, errInsecure
		}
	}
	h, err := c.current()
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	return map[string]string{authorization: h}, nil
}

// current returns the header value to send, minting a token when the held
// one is missing or about to expire (as the credentials package's HTTP
// transport does, whose helper is unexported).
func (c *PerRPCCredentials) current() (string, error) {
	if c.cfg == nil {
		return c.header, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.minted != "" && now.Before(c.expires.Add(-c.before)) {
		return c.minted, nil
	}
	if !c.cfg.ExpiresAt.IsZero() && !now.Before(c.cfg.ExpiresAt) {
		return "", fmt.Errorf("grpcauth: the personal access config expired at %s", c.cfg.ExpiresAt.UTC().Format(time.RFC3339))
	}
	tok, err := jwtauth.Mint(c.cfg, now, c.ttl)
	if err != nil {
		return "", fmt.Errorf("grpcauth: minting a token: %w", err)
	}
	c.minted, c.expires = "Bearer "+tok, now.Add(c.ttl)
	return c.minted, nil
}

// localTarget reports whether a grpc.NewClient target names a loopback
// address ("localhost", 127.0.0.0/8, ::1) or a Unix socket. Anything it
// cannot read is not local.
func localTarget(target string) bool {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return true
	}
	if scheme, rest, ok := strings.Cut(target, "://"); ok {
		switch scheme {
		case "dns", "passthrough":
		default:
			return false
		}
		// scheme://[authority]/endpoint
		_, endpoint, ok := strings.Cut(rest, "/")
		if !ok {
			return false
		}
		target = endpoint
	}
	host := target
	if h, _, err := net.SplitHostPort(target); err == nil {
		host = h
	}
	return loopback.Host(host)
}

// localAddr reports whether a connected peer is a loopback TCP address or
// a Unix socket.
func localAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	if a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
