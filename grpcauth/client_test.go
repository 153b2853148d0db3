package grpcauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/credentials"
	"github.com/gatehouse-go/gatehouse/grpcauth"
	"github.com/gatehouse-go/gatehouse/internal/testclock"
	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// resolveToken resolves an explicit token, with no environment and no
// profile file.
func resolveToken(t *testing.T, token string) *credentials.Resolved {
	t.Helper()
	r, err := credentials.Resolve(credentials.Options{Token: token, URI: "https://api.example.com",
		ConfigDir: t.TempDir(), LookupEnv: func(string) (string, bool) { return "", false }})
	require.NoError(t, err)
	return r
}

// remoteAddrConn reports a remote address other than the one it is
// connected to: a loopback connection that looks, to gRPC, like one to a
// non-loopback peer.
type remoteAddrConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteAddrConn) RemoteAddr() net.Addr { return c.remote }

// dialVia returns a dialer that connects to addr whatever the target says,
// and makes the connection report remote as its peer (when set).
func dialVia(addr string, remote net.Addr) grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil || remote == nil {
			return c, err
		}
		return remoteAddrConn{Conn: c, remote: remote}, nil
	})
}

// TestClientCredentials calls a real server with the per-call credentials
// over every kind of connection: loopback without TLS is allowed, a
// plaintext connection to anything else is refused before the credential
// leaves the client.
func TestClientCredentials(t *testing.T) {
	f := newFixture(t, grpcauth.Config{Scopes: testScopes()})
	key, _ := f.issue(t, apikey.Params{Scopes: []string{"projects:read"}})
	r := resolveToken(t, key)
	newCreds := func(t *testing.T, target string) *grpcauth.PerRPCCredentials {
		c, err := grpcauth.NewPerRPCCredentials(r, target, grpcauth.ClientConfig{})
		require.NoError(t, err)
		return c
	}
	_, port, err := net.SplitHostPort(f.addr)
	require.NoError(t, err)
	sent := func() int { return f.seenCount() }

	t.Run("loopback target, insecure: allowed", func(t *testing.T) {
		for _, target := range []string{f.addr, "passthrough:///" + f.addr, "dns:///" + f.addr} {
			c := newCreds(t, target)
			assert.False(t, c.RequireTransportSecurity(), target)
			conn := dial(t, target, grpc.WithPerRPCCredentials(c))
			out, err := callWhoami(t, conn)
			require.NoError(t, err, target)
			assert.Equal(t, "usr_alice", out)
		}
	})

	t.Run("non-loopback target, insecure: NewClient refuses", func(t *testing.T) {
		c := newCreds(t, "api.example.com:443")
		assert.True(t, c.RequireTransportSecurity())
		_, err := grpc.NewClient("passthrough:///api.example.com:443",
			grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(c), dialVia(f.addr, nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "transport")
	})

	t.Run("non-loopback target, insecure, as a call option: refused before sending", func(t *testing.T) {
		before := sent()
		c := newCreds(t, "api.example.com:443")
		_, err := callWhoami(t, f.conn, grpc.PerRPCCredentials(c))
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
		assert.Equal(t, before, sent(), "the call never reached the server")
	})

	t.Run("loopback target, but the peer is not loopback: refused before sending", func(t *testing.T) {
		// The target names 127.0.0.1, but the connection reaches (as far
		// as gRPC can tell) 192.0.2.10: a resolver or dialer that sends
		// a loopback name elsewhere does not get the credential sent in
		// plaintext.
		before := sent()
		target := "passthrough:///127.0.0.1:" + port
		c := newCreds(t, target)
		remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 443}
		conn := dial(t, target, grpc.WithPerRPCCredentials(c), dialVia(f.addr, remote))
		_, err := callWhoami(t, conn)
		st := status.Convert(err)
		assert.Equal(t, codes.Unauthenticated, st.Code())
		assert.Contains(t, st.Message(), "without transport security")
		assert.NotContains(t, st.Message(), key)
		assert.Equal(t, before, sent(), "the call never reached the server")
	})

	t.Run("non-loopback target over TLS: allowed", func(t *testing.T) {
		serverTLS, roots := selfSigned(t, "api.example.test")
		srv := grpc.NewServer(grpc.Creds(grpccreds.NewTLS(serverTLS)), grpc.ChainUnaryInterceptor(f.auth.Unary()))
		srv.RegisterService(&projectsDesc, struct{}{})
		addr := startServer(t, srv)
		c := newCreds(t, "api.example.test:443")
		require.True(t, c.RequireTransportSecurity())
		conn, err := grpc.NewClient("passthrough:///api.example.test:443",
			grpc.WithTransportCredentials(grpccreds.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})),
			grpc.WithPerRPCCredentials(c), dialVia(addr, nil))
		require.NoError(t, err)
		defer conn.Close()
		out, err := callWhoami(t, conn)
		require.NoError(t, err)
		assert.Equal(t, "usr_alice", out)
	})

	t.Run("unix socket, insecure: allowed", func(t *testing.T) {
		dir, err := filepath.Abs(t.TempDir())
		require.NoError(t, err)
		path := filepath.Join(dir, "s.sock")
		if len(path) > 100 {
			t.Skip("temporary directory too deep for a socket path")
		}
		lis, err := net.Listen("unix", path)
		require.NoError(t, err)
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(f.auth.Unary()))
		srv.RegisterService(&projectsDesc, struct{}{})
		serveOn(t, srv, lis)
		c := newCreds(t, "unix://"+path)
		assert.False(t, c.RequireTransportSecurity())
		conn := dial(t, "unix://"+path, grpc.WithPerRPCCredentials(c))
		out, err := callWhoami(t, conn)
		require.NoError(t, err)
		assert.Equal(t, "usr_alice", out)
	})
}

// callWhoami calls Whoami on conn and returns the caller's ID.
func callWhoami(t *testing.T, conn *grpc.ClientConn, opts ...grpc.CallOption) (string, error) {
	t.Helper()
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(timeout(t), methodWhoami, wrapperspb.String("hi"), out, opts...)
	return out.GetValue(), err
}

// selfSigned returns a server TLS config for name and a pool that trusts
// it.
func selfSigned(t *testing.T, name string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}, MinVersion: tls.VersionTLS12}, pool
}

// TestClientPersonalAccessConfig: with a personal access config the client
// mints a token, which the server's JWT authenticator (the one the HTTP
// middleware runs) verifies; the token is reused while fresh and minted
// again before it expires.
func TestClientPersonalAccessConfig(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Now().Truncate(time.Second))
	reg, err := jwtauth.NewRegisteredKeys(store.NewMemorySigningKeys(), jwtauth.RegisteredKeysConfig{Now: clk.Now})
	require.NoError(t, err)
	tokens, err := jwtauth.New(jwtauth.Config{Now: clk.Now},
		jwtauth.Issuer{Issuer: "gatehouse-personal", Audience: []string{"gatehouse-api"}, Keys: reg, MaxLifetime: jwtauth.MaxMintTTL})
	require.NoError(t, err)
	auth, err := grpcauth.New(grpcauth.Config{Scopes: testScopes()}, tokens)
	require.NoError(t, err)
	var mu sync.Mutex
	seen := map[string]bool{}
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		seen[strings.Join(metadata.ValueFromIncomingContext(ctx, "authorization"), ",")] = true
		mu.Unlock()
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(record, auth.Unary()))
	srv.RegisterService(&projectsDesc, struct{}{})
	addr := startServer(t, srv)

	cfg, _, err := jwtauth.CreatePersonalConfig(ctx, reg, jwtauth.PersonalParams{
		OwnerID: "alice", Scopes: []string{"projects:read"}, Issuer: "gatehouse-personal", Audience: "gatehouse-api",
		URL: "https://api.example.com", Now: clk.Now(),
	})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "alice.json")
	require.NoError(t, jwtauth.WriteConfigFile(path, cfg))
	r, err := credentials.Resolve(credentials.Options{ConfigDir: t.TempDir(), PersonalAccessConfig: path,
		LookupEnv: func(string) (string, bool) { return "", false }, Now: clk.Now})
	require.NoError(t, err)
	c, err := grpcauth.NewPerRPCCredentials(r, addr, grpcauth.ClientConfig{TokenTTL: 5 * time.Minute, RenewBefore: time.Minute, Now: clk.Now})
	require.NoError(t, err)
	conn := dial(t, addr, grpc.WithPerRPCCredentials(c))
	fc := &fixture{conn: conn}
	call := func() (string, error) { return fc.call(timeout(t), methodList) }
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}

	for range 2 {
		out, err := call()
		require.NoError(t, err)
		assert.Equal(t, "alice", out)
	}
	assert.Equal(t, 1, distinct(), "a fresh token is reused")
	clk.Add(4*time.Minute + time.Second)
	_, err = call()
	require.NoError(t, err)
	assert.Equal(t, 2, distinct(), "renewed a minute before it expires")

	require.NoError(t, reg.DeleteSigningKey(ctx, cfg.KeyID))
	_, err = call()
	assert.Equal(t, codes.Unauthenticated, status.Code(err), "a deleted registration's tokens are refused")
}

func TestNewPerRPCCredentialsErrors(t *testing.T) {
	r := resolveToken(t, "cpx_live.token")
	_, err := grpcauth.NewPerRPCCredentials(nil, "127.0.0.1:1", grpcauth.ClientConfig{})
	assert.ErrorIs(t, err, credentials.ErrNoCredentials)
	_, err = grpcauth.NewPerRPCCredentials(&credentials.Resolved{}, "127.0.0.1:1", grpcauth.ClientConfig{})
	assert.ErrorIs(t, err, credentials.ErrNoCredentials)
	_, err = grpcauth.NewPerRPCCredentials(r, "", grpcauth.ClientConfig{})
	assert.ErrorIs(t, err, credentials.ErrInvalid)
	_, err = grpcauth.NewPerRPCCredentials(r, "127.0.0.1:1", grpcauth.ClientConfig{TokenTTL: 2 * time.Hour})
	assert.ErrorIs(t, err, credentials.ErrInvalid)
	_, err = grpcauth.NewPerRPCCredentials(r, "127.0.0.1:1", grpcauth.ClientConfig{TokenTTL: -time.Second})
	assert.ErrorIs(t, err, credentials.ErrInvalid)
}

// TestGetRequestMetadata checks the transport-security rule without a
// connection, for every combination of target, security level and peer.
func TestGetRequestMetadata(t *testing.T) {
	r := resolveToken(t, "cpx_live.token")
	secure := grpccreds.TLSInfo{CommonAuthInfo: grpccreds.CommonAuthInfo{SecurityLevel: grpccreds.PrivacyAndIntegrity}}
	plain := grpccreds.TLSInfo{CommonAuthInfo: grpccreds.CommonAuthInfo{SecurityLevel: grpccreds.NoSecurity}}
	integrity := grpccreds.TLSInfo{CommonAuthInfo: grpccreds.CommonAuthInfo{SecurityLevel: grpccreds.IntegrityOnly}}
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	loop6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 1}
	far := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}
	sock := &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}
	tests := []struct {
		name   string
		target string
		info   grpccreds.AuthInfo // nil: no request info
		peer   net.Addr           // nil: no peer
		ok     bool
	}{
		{"TLS to a remote host", "api.example.com:443", secure, far, true},
		{"TLS, no peer known", "api.example.com:443", secure, nil, true},
		{"plaintext to a remote host", "api.example.com:443", plain, far, false},
		{"integrity only to a remote host", "api.example.com:443", integrity, far, false},
		{"remote target, loopback peer, plaintext", "api.example.com:443", plain, loop, false},
		{"loopback target and peer, plaintext", "127.0.0.1:50051", plain, loop, true},
		{"::1 target and peer, plaintext", "[::1]:50051", plain, loop6, true},
		{"localhost target, plaintext", "localhost:50051", plain, loop, true},
		{"dns localhost target, plaintext", "dns:///localhost:50051", plain, loop6, true},
		{"loopback target, remote peer, plaintext", "127.0.0.1:50051", plain, far, false},
		{"loopback target, no peer, plaintext", "127.0.0.1:50051", plain, nil, false},
		{"unix target and peer, plaintext", "unix:///run/x.sock", plain, sock, true},
		{"no request info", "127.0.0.1:50051", nil, loop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := grpcauth.NewPerRPCCredentials(r, tt.target, grpcauth.ClientConfig{})
			require.NoError(t, err)
			ctx := context.Background()
			if tt.info != nil {
				ctx = grpccreds.NewContextWithRequestInfo(ctx, grpccreds.RequestInfo{Method: methodWhoami, AuthInfo: tt.info})
			}
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			md, err := c.GetRequestMetadata(ctx, "https://"+tt.target)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"authorization": "Bearer cpx_live.token"}, md)
				return
			}
			assert.Nil(t, md)
			assert.Equal(t, codes.Unauthenticated, status.Code(err))
			assert.NotContains(t, err.Error(), "cpx_live.token")
		})
	}
}

// TestRequireTransportSecurity: only a loopback or Unix-socket target
// lifts the requirement; anything unreadable keeps it.
func TestRequireTransportSecurity(t *testing.T) {
	r := resolveToken(t, "cpx_live.token")
	for target, local := range map[string]bool{
		"127.0.0.1:50051":               true,
		"127.1.2.3:50051":               true,
		"[::1]:50051":                   true,
		"localhost:50051":               true,
		"LOCALHOST:1":                   true,
		"localhost":                     true,
		"dns:///127.0.0.1:50051":        true,
		"dns://8.8.8.8/localhost:50051": true,
		"passthrough:///[::1]:1":        true,
		"unix:///run/grpc.sock":         true,
		"unix:relative.sock":            true,
		"unix-abstract:name":            true,
		"api.example.com:443":           false,
		"10.0.0.1:443":                  false,
		"[::ffff:10.0.0.1]:443":         false,
		"localhost.example.com:443":     false,
		"dns:///api.example.com:443":    false,
		"xds:///127.0.0.1:1":            false,
		"127.0.0.1.nip.io:1":            false,
		"passthrough:127.0.0.1:1":       false,
		"0.0.0.0:50051":                 false,
	} {
		c, err := grpcauth.NewPerRPCCredentials(r, target, grpcauth.ClientConfig{})
		require.NoError(t, err)
		assert.Equal(t, !local, c.RequireTransportSecurity(), target)
	}
}
