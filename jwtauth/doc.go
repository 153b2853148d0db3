// Package jwtauth verifies JWT bearer tokens (JWS compact serialization,
// RFC 7515 and RFC 7519) with github.com/golang-jwt/jwt/v5, strictly and
// fast.
//
// An [Authenticator] accepts "Authorization: Bearer <token>" credentials
// that have exactly two dots, and verifies them against one or more
// [Issuer]s, each with its own [KeySource] and audience:
//
//   - [StaticKeys]: HMAC secrets ([NewHMACKey]) or public keys from PEM or
//     JWK ([ParsePublicKeyPEM], [ParseJWK]);
//   - [JWKS]: an identity provider's remote key set, fetched with a timeout
//     and a size cap, refreshed in the background ([JWKS.Start]), refetched
//     on an unknown kid at most once per interval, concurrent fetches
//     coalesced, the previous set kept while a refresh fails;
//   - [DiscoveredKeys]: an OpenID Connect identity provider configured by
//     its issuer URL alone ([Discover]; see OIDC discovery below);
//   - [RegisteredKeys]: public keys users registered in a
//     store.SigningKeyStore to sign their own short-lived tokens (personal
//     access configs: [CreatePersonalConfig], [Mint]).
//
// Usage:
//
//	idp, err := jwtauth.NewJWKS("https://idp.example/.well-known/jwks.json", jwtauth.JWKSConfig{})
//	if err != nil { ... }
//	if err := idp.Start(ctx); err != nil { ... } // background refresh
//	defer idp.Close()
//	tokens, err := jwtauth.New(jwtauth.Config{Leeway: 30 * time.Second, Type: "at+jwt"},
//		jwtauth.Issuer{Issuer: "https://idp.example/", Audience: []string{"https://api.example"}, Keys: idp})
//	if err != nil { ... }
//	auth, err := middleware.New(middleware.Config{Realm: "api"}, keyAuth, tokens)
//
// A worker verifies a token taken from a message without HTTP (see
// Example_worker):
//
//	p, err := tokens.Verify(ctx, msg.Token)
//
// # OIDC discovery
//
// [Discover] configures an identity provider from its issuer URL alone
// (OpenID Connect Discovery 1.0):
//
//	idp, err := jwtauth.Discover(ctx, "https://idp.example", jwtauth.DiscoveryConfig{})
//	if err != nil { ... } // the issuer, the document or the key set is refused
//	if err := idp.Start(ctx); err != nil { ... } // background refresh
//	defer idp.Close()
//	tokens, err := jwtauth.New(jwtauth.Config{},
//		jwtauth.Issuer{Issuer: idp.Issuer(), Audience: []string{"https://api.example"}, Keys: idp})
//
// It fetches <issuer>/.well-known/openid-configuration (the issuer without
// its trailing slash, then the path), refuses the document unless its
// issuer equals the configured one byte for byte (a trailing slash
// counts, section 4.3) and its jwks_uri is https, and fetches the key set
// there; any failure is Discover's error, so a wrong issuer fails at
// startup. The issuer URL and every jwks_uri must be https; http is
// allowed only on a loopback host ("localhost", 127.0.0.0/8, ::1), for
// tests and development, and the default client follows redirects only to
// such URLs. Both fetches have the key set's timeout and size cap.
//
// The key set is then a [JWKS] in all but name, and every fetch of it,
// background, stale or for an unknown kid, fetches the document first: a
// new jwks_uri is used from that fetch on. A document that fails or is
// refused is reported to DiscoveryConfig.OnError and the last good one
// kept. When the provider goes down, the last good document and keys go
// on verifying tokens until a fetch succeeds, and a token naming a kid
// they lack is refused as an unknown key (401), at most one fetch attempt
// per RefetchInterval, exactly as with a [JWKS]. Errors never quote the
// document.
//
// # Personal access configs
//
// A user's public key is registered in a store.SigningKeyStore and the
// private key stays in a config file the user keeps; the server never
// holds a secret for these tokens. The CLI creates one with
//
//	reg, _ := jwtauth.NewRegisteredKeys(signingKeyStore, jwtauth.RegisteredKeysConfig{})
//	cfg, rec, err := jwtauth.CreatePersonalConfig(ctx, reg, jwtauth.PersonalParams{
//		OwnerID: "alice", Scopes: []string{"read"}, Issuer: patIssuer, Audience: apiURL, URL: apiURL})
//	err = jwtauth.WriteConfigFile(path, cfg) // mode 0600, never overwrites
//
// and the client mints short-lived tokens with [Mint] (at most
// [MaxMintTTL]). The server verifies them with an [Issuer] whose Keys is
// the [RegisteredKeys]: they act as the registration's owner, in its
// tenant, with at most its scopes. Deleting the registration revokes them:
// at once, cached tokens included, when it is deleted through
// [RegisteredKeys.DeleteSigningKey] or reported with
// [RegisteredKeys.Invalidate]; within RegisteredKeysConfig.RecheckInterval
// (default one minute) when another process deletes it in the store.
//
// # Security defaults
//
// Every key is bound to one algorithm (HS256/384/512, RS256, PS256,
// ES256/384, EdDSA) and a token is checked with a key only when its alg
// header names that algorithm: an RSA public key is never used as an HMAC
// secret, and "none" is never accepted in any spelling. Algorithms are also
// pinned per issuer with golang-jwt's WithValidMethods. The kid header is
// only a lookup key (at most [MaxKeyIDLength] bytes); the jku, x5u and jwk
// headers are never read. Tokens longer than Config.MaxTokenLength (8 KiB)
// are refused before any decoding, and the shape check stops at the third
// dot, so a token of many dots (CVE-2025-30204) costs nothing and
// allocates nothing. A token with a "crit" header is refused: Gatehouse
// implements no header extension. exp is
// required; exp, nbf and iat are checked with a leeway of at most two
// minutes; iss selects the issuer and aud is checked when configured; the
// typ header is checked when Config.Type is set. aud must be a string or an
// array of strings (RFC 7519 section 4.1.3), configured or not, and
// whatever the order of its elements. The decoded header and claims must
// be valid UTF-8 (RFC 7515 section 5.2, RFC 7519 section 7.2) without a
// \u escape of a lone surrogate, which encoding/json would read as U+FFFD:
// two different signed subjects never become one principal. This costs
// first-seen tokens a second base64 decoding of header and claims; cached
// tokens do not pay it.
//
// Refusals wrap gatehouse.ErrInvalidToken (401 invalid_token) with a reason
// and a fixed detail that names the class of problem (expired, not yet
// valid, bad signature, unknown key, wrong issuer or audience) and never the
// token. A key source that cannot answer and holds no usable keys gives
// gatehouse.ErrUnavailable (503): the authenticator fails closed.
//
// # Verified-token cache
//
// A verified token is remembered in a bounded LRU (Config.CacheSize,
// default 10,000) keyed by the SHA-256 of its signature; an entry answers
// only for the exact token it was verified from (its header and payload
// are compared too), and holds no signature, so no usable token stays in
// memory. A repeated token costs a digest and a lookup, about what a
// cached API key costs. An entry is never served at or after the token's
// exp (even within the leeway the token is then verified again), nor after
// the key that verified it is revoked (dropped from its JWKS, or its
// registration deleted), and the [Denylist], when configured, is asked on
// every request, cached or not: [MemoryDenylist] revokes by jti or by
// subject.
//
// The credential dispatcher of the middleware tries authenticators in
// order; API keys never contain two dots, so the two never compete for a
// credential, and Config.ExcludePrefixes covers formats that could.
//
// Authenticators, key sources and denylists are safe for concurrent use.
// The only goroutine is the one [JWKS.Start] (or [DiscoveredKeys.Start])
// runs; Close ends it.
package jwtauth
