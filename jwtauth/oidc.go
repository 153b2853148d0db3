package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/internal/httpget"

	"github.com/gatehouse-go/gatehouse/internal/loopback"
)

// discoveryPath is where an issuer publishes its provider metadata,
// appended to the issuer URL without its trailing slash (OpenID Connect
// Discovery 1.0 section 4).
const discoveryPath = "/.well-known/openid-configuration"

// DiscoveryConfig holds the optional settings of [Discover]. The zero value
// is usable. The settings are those of [JWKSConfig] and apply to the
// discovery document and to the key set alike.
type DiscoveryConfig struct {
	// Client fetches the document and the key set. Its own Timeout, if
	// any, also applies. Default: a new http.Client that follows at most
	// three redirects, each to an https URL or to an http URL whose host
	// is a loopback address or "localhost".
	Client *http.Client
	// Timeout bounds one fetch of the document or of the key set,
	// connection to last byte. A refresh fetches both, one after the
	// other, so it takes at most twice Timeout. Default 5 seconds.
	Timeout time.Duration
	// MaxSize is the largest response body read, document or key set, in
	// bytes; a larger one is a failed fetch. Default 1 MiB.
	MaxSize int64
	// TTL is how long a fetched key set is fresh; see [JWKSConfig.TTL].
	// The document is fetched again before every fetch of the key set.
	// Default 10 minutes.
	TTL time.Duration
	// RefetchInterval is the least time between two fetches caused by a
	// token naming an unknown kid; see [JWKSConfig.RefetchInterval].
	// Default 30 seconds.
	RefetchInterval time.Duration
	// RetryInterval is the least time between a failed fetch and the next
	// one; see [JWKSConfig.RetryInterval]. Default 5 seconds.
	RetryInterval time.Duration
	// Algorithms lists the algorithms keys of the set may be bound to;
	// see [JWKSConfig.Algorithms]. The document's
	// id_token_signing_alg_values_supported is not read. Default RS256,
	// PS256, ES256, ES384 and EdDSA.
	Algorithms []string
	// OnError, when set, is told of every failed fetch of the document or
	// of the key set after Discover has returned (Discover returns its own
	// errors). It must not block. Default none.
	OnError func(error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DiscoveredKeys is a [KeySource] for an OpenID Connect identity provider
// configured by its issuer URL alone (OpenID Connect Discovery 1.0). It
// reads the provider's metadata at <issuer>/.well-known/openid-configuration,
// requires the document's issuer to equal the configured issuer byte for
// byte (section 4.3; a trailing slash counts), and takes the keys from the
// set at its jwks_uri, which must be https, or http on a loopback host
// ("localhost", 127.0.0.0/8, ::1) for tests and development.
//
// The key set is a [JWKS] and follows its rules: fetched with a timeout and
// a size cap, refreshed when stale or in the background once
// [DiscoveredKeys.Start] is called, refetched on an unknown kid at most
// once per RefetchInterval, concurrent fetches coalesced. Every fetch of
// the key set fetches the document first, under the same limits, so the
// document is refreshed on the key set's schedule and a new jwks_uri is
// used from that fetch on; keys of the old set that the new one lacks are
// revoked. A document that cannot be fetched, or that a check refuses
// (another issuer, no jwks_uri, an insecure one), is told to OnError and
// the last good one is kept. When the provider goes down, the last good
// document and keys go on verifying tokens, however old, until a fetch
// succeeds, as with a [JWKS]; a token naming a kid they lack is then
// refused as an unknown key (401), not 503, as a [JWKS] does.
//
// A DiscoveredKeys is safe for concurrent use. Call Close to stop the
// background refresh.
type DiscoveredKeys struct {
	issuer  string
	docURL  string
	onError func(error)
	jwks    *JWKS // its client, timeout and size cap fetch the document too

	// keysURL is the jwks_uri of the last good document; docErr the
	// error of the last document fetch, nil after a success.
	keysURL atomic.Pointer[string]
	docErr  atomic.Pointer[error]
}

var _ KeySource = (*DiscoveredKeys)(nil)

// Discover returns a key source for the identity provider whose issuer
// identifier is issuer, such as "https://accounts.example.com": an https
// URL (http only on a loopback host) without query or fragment. It checks
// cfg, then fetches the discovery document and the key set it names,
// within ctx; any failure is its error. The returned source holds the
// provider's keys; pass [DiscoveredKeys.Issuer] as [Issuer.Issuer] too, so
// that tokens must carry it as their iss (a sole Issuer with an empty name
// does not check iss).
func Discover(ctx context.Context, issuer string, cfg DiscoveryConfig) (*DiscoveredKeys, error) {
	docURL, err := discoveryURL(issuer)
	if err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{CheckRedirect: secureRedirect}
	}
	// OnError is set once the first fetches are done: until then failures
	// are Discover's error.
	j, err := newJWKS("", JWKSConfig{
		Client:          client,
		Timeout:         cfg.Timeout,
		MaxSize:         cfg.MaxSize,
		TTL:             cfg.TTL,
		RefetchInterval: cfg.RefetchInterval,
		RetryInterval:   cfg.RetryInterval,
		Algorithms:      cfg.Algorithms,
		Now:             cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	d := &DiscoveredKeys{
		issuer:  issuer,
		docURL:  docURL,
		onError: cfg.OnError,
		jwks:    j,
	}
	keysURL, err := d.fetchDocument(ctx)
	if err != nil {
		return nil, err
	}
	d.keysURL.Store(&keysURL)
	j.url = keysURL
	if err := j.Refresh(ctx); err != nil {
		return nil, err
	}
	j.cfg.OnError = cfg.OnError
	j.locate = d.locate
	return d, nil
}

// Issuer returns the issuer identifier, exactly as configured: the iss
// that tokens from this provider carry.
func (d *DiscoveredKeys) Issuer() string { return d.issuer }

// JWKSURL returns the jwks_uri of the last good discovery document.
func (d *DiscoveredKeys) JWKSURL() string { return *d.keysURL.Load() }

// Algorithms implements [KeySource].
func (d *DiscoveredKeys) Algorithms() []string { return d.jwks.Algorithms() }

// Key implements [KeySource].
func (d *DiscoveredKeys) Key(ctx context.Context, kid string) (*Key, error) {
	return d.jwks.Key(ctx, kid)
}

// Refresh fetches the document and the key set now, or waits for a fetch
// already under way, and returns their errors. On an error the last good
// document, or key set, is kept. The fetch ends with ctx.
func (d *DiscoveredKeys) Refresh(ctx context.Context) error {
	err := d.jwks.Refresh(ctx)
	if p := d.docErr.Load(); p != nil {
		return errors.Join(*p, err)
	}
	return err
}

// Start refreshes the document and the key set in the background until
// ctx ends or Close is called, on the schedule of [JWKS.Start]. It returns
// an error if the source was started before or closed.
func (d *DiscoveredKeys) Start(ctx context.Context) error {
	if err := d.jwks.Start(ctx); err != nil {
		return errors.New("jwtauth: oidc: " + strings.TrimPrefix(err.Error(), "jwtauth: jwks: "))
	}
	return nil
}

// Close stops the background refresh and waits for it to end. It is
// idempotent; lookups keep working on the last document and key set.
func (d *DiscoveredKeys) Close() error { return d.jwks.Close() }

// locate runs before every fetch of the key set: it fetches the document
// and returns the jwks_uri to fetch, that of the last good document.
func (d *DiscoveredKeys) locate(ctx context.Context) string {
	u, err := d.fetchDocument(ctx)
	if err != nil {
		d.docErr.Store(&err)
		if d.onError != nil {
			d.onError(err)
		}
	} else {
		d.docErr.Store(nil)
		d.keysURL.Store(&u)
	}
	return *d.keysURL.Load()
}

// fetchDocument fetches and checks the discovery document and returns its
// jwks_uri.
func (d *DiscoveredKeys) fetchDocument(ctx context.Context) (string, error) {
	body, err := httpget.Capped(ctx, d.jwks.client, d.docURL, "application/json", d.jwks.cfg.Timeout, d.jwks.cfg.MaxSize, "jwtauth: oidc")
	if err != nil {
		return "", err
	}
	return parseDiscovery(body, d.issuer)
}

// parseDiscovery checks a discovery document for issuer and returns its
// jwks_uri. Its errors never quote the document.
func parseDiscovery(body []byte, issuer string) (string, error) {
	if !utf8.Valid(body) {
		return "", errors.New("jwtauth: oidc: the discovery document is not UTF-8")
	}
	// Members are looked up by their exact names: encoding/json would match
	// a struct field case-insensitively ("ISSUER").
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return "", errors.New("jwtauth: oidc: the discovery document is not a JSON object")
	}
	switch iss, ok := stringMember(doc, "issuer"); {
	case !ok:
		return "", errors.New("jwtauth: oidc: the discovery document has no issuer string")
	case iss == issuer:
	case strings.TrimSuffix(iss, "/") == strings.TrimSuffix(issuer, "/"):
		return "", errors.New("jwtauth: oidc: the discovery document's issuer differs from the configured issuer by a trailing slash; they must be equal byte for byte")
	default:
		return "", errors.New("jwtauth: oidc: the discovery document's issuer is not the configured issuer")
	}
	raw, ok := stringMember(doc, "jwks_uri")
	if !ok || raw == "" {
		return "", errors.New("jwtauth: oidc: the discovery document has no jwks_uri string")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", errors.New("jwtauth: oidc: the discovery document's jwks_uri is not an absolute URL")
	}
	if !secureURL(u) {
		return "", errors.New("jwtauth: oidc: the discovery document's jwks_uri is not https (http is allowed on a loopback host only)")
	}
	return u.String(), nil
}

// stringMember returns the member name of doc when it is a JSON string.
func stringMember(doc map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := doc[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// discoveryURL checks an issuer identifier and returns the URL of its
// discovery document.
func discoveryURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", errors.New("jwtauth: oidc: the issuer is not an absolute URL")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return "", errors.New("jwtauth: oidc: the issuer must not have a query or a fragment")
	}
	if u.User != nil {
		return "", errors.New("jwtauth: oidc: the issuer must not hold user information")
	}
	if !secureURL(u) {
		return "", errors.New("jwtauth: oidc: the issuer must be https (http is allowed on a loopback host only)")
	}
	return strings.TrimSuffix(issuer, "/") + discoveryPath, nil
}

// secureURL reports whether u may be fetched for keys: https, or http on a
// loopback host, where no one else is on the path.
func secureURL(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return u.Host != ""
	case "http":
		return loopback.Host(u.Hostname())
	}
	return false
}

// secureRedirect is the redirect policy of the default discovery client:
// at most three redirects, each to a URL that [secureURL] allows.
func secureRedirect(req *http.Request, via []*http.Request) error {
	if !secureURL(req.URL) {
		return errors.New("jwtauth: oidc: redirect to a URL that is not https")
	}
	if len(via) >= 3 {
		return errors.New("jwtauth: oidc: too many redirects")
	}
	return nil
}
