package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/loopback"

	"github.com/gatehouse-go/gatehouse/jwtauth"
)

// TransportOptions tune [Resolved.Transport].
type TransportOptions struct {
	// TokenTTL is the lifetime of tokens minted from a personal access
	// config. Default 5 minutes; at most jwtauth.MaxMintTTL.
	TokenTTL time.Duration
	// RenewBefore is how long before its expiry a minted token is
	// replaced. Default a fifth of TokenTTL.
	RenewBefore time.Duration
	// AllowInsecure lets credentials go over plain HTTP to a host that is
	// not loopback. Default false: only https, or http to 127.0.0.1,
	// ::1 and localhost.
	AllowInsecure bool
}

// Transport returns a RoundTripper that sends requests through base
// (default a clone of http.DefaultTransport with the CA bundle added) and
// sets "Authorization: Bearer" on requests to the resolved URI's scheme
// and host only: a redirect to another host never carries the credential.
// With a personal access config it mints a token, keeps it, and mints a
// new one before it expires.
func (r *Resolved) Transport(base http.RoundTripper, o TransportOptions) (http.RoundTripper, error) {
	u, err := url.Parse(r.URI)
	if err != nil {
		return nil, fmt.Errorf("%w: URI: %v", ErrInvalid, err)
	}
	if u.Scheme == "http" && !o.AllowInsecure && !loopback.Host(u.Hostname()) {
		return nil, fmt.Errorf("%w: refusing to send credentials over plain HTTP to %s; use https", ErrInvalid, u.Host)
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 5 * time.Minute
	}
	if o.TokenTTL < 0 || o.TokenTTL > jwtauth.MaxMintTTL {
		return nil, fmt.Errorf("%w: TokenTTL must be positive and at most %s", ErrInvalid, jwtauth.MaxMintTTL)
	}
	if o.RenewBefore <= 0 || o.RenewBefore >= o.TokenTTL {
		o.RenewBefore = o.TokenTTL / 5
	}
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if r.CAFile != "" {
			pool, err := caPool(r.CAFile)
			if err != nil {
				return nil, err
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		base = t
	}
	now := r.now
	if now == nil {
		now = time.Now
	}
	return &transport{base: base, scheme: u.Scheme, host: u.Host, token: r.Token, cfg: r.Personal, opts: o, now: now}, nil
}

// Client returns an http.Client over [Resolved.Transport] with default
// options.
func (r *Resolved) Client() (*http.Client, error) {
	t, err := r.Transport(nil, TransportOptions{})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// caPool returns the system roots plus the certificates in path.
func caPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: CA bundle %s: %v", ErrConfig, path, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: CA bundle %s holds no PEM certificate", ErrConfig, path)
	}
	return pool, nil
}

type transport struct {
	base         http.RoundTripper
	scheme, host string
	token        string
	cfg          *jwtauth.PersonalConfig
	opts         TransportOptions
	now          func() time.Time

	mu      sync.Mutex
	minted  string
	expires time.Time
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || !strings.EqualFold(req.URL.Host, t.host) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.current()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(out)
}

// current returns the token to send, minting one when the held one is
// missing or about to expire.
func (t *transport) current() (string, error) {
	if t.cfg == nil {
		return t.token, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.minted != "" && now.Before(t.expires.Add(-t.opts.RenewBefore)) {
		return t.minted, nil
	}
	if !t.cfg.ExpiresAt.IsZero() && !now.Before(t.cfg.ExpiresAt) {
		return "", fmt.Errorf("%w: the personal access config expired at %s", ErrExpired, t.cfg.ExpiresAt.UTC().Format(time.RFC3339))
	}
	tok, err := jwtauth.Mint(t.cfg, now, t.opts.TokenTTL)
	if err != nil {
		return "", fmt.Errorf("credentials: minting a token: %w", err)
	}
	t.minted, t.expires = tok, now.Add(t.opts.TokenTTL)
	return tok, nil
}
