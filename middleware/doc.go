// Package middleware puts Gatehouse in front of net/http handlers.
//
// [New] builds a [Middleware] from authenticators (API keys, JWTs,
// sessions, Basic). Its [Middleware.Handler] reads one credential from the
// Authorization header (or, failing that, a session cookie), hands it to the
// first authenticator that accepts it, and serves the next handler with the
// principal in the request context. Every refusal goes through one
// [ErrorHandler]; the default writes RFC 9457 problem details and RFC 6750
// challenges:
//
//	401 {"type":"about:blank","title":"Unauthorized","status":401,
//	     "detail":"Invalid or expired API key","code":"invalid_token"}
//	WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="Invalid or expired API key"
//
// Usage:
//
//	auth, err := middleware.New(middleware.Config{Realm: "api"}, keyAuth)
//	if err != nil { ... }
//	read := auth.MustRequireScopes("read")
//	mux.Handle("GET /projects", auth.Handler(read(projects)))
//
// The middleware fails closed: when a store, key set or limiter cannot
// answer, the response is 503, never a pass and never a 401. Scope guards
// used without Handler in front of them refuse every request (401), so a
// forgotten half cannot open a route. Credentials are never read from the
// query string or a form body; a request that tries (an access_token query
// parameter) is refused with 400.
//
// A header credential in a scheme that no authenticator takes (Token, or
// Basic without a Basic authenticator) gets 401 with the challenges and no
// error code (RFC 6750 section 3.1), code "unauthenticated" and a detail
// naming the schemes accepted ([ErrUnsupportedScheme]); a Bearer credential
// that none takes is an invalid token.
//
// A header credential must be a token68 (RFC 9110 section 11.4); other
// bytes get 401 "The credential holds characters that no valid credential
// has". Authenticators may implement optional interfaces:
// [CookieAuthenticator] to read a session cookie, [Challenger] to add a
// WWW-Authenticate challenge, and [StrictSyntax] to declare that they refuse
// every credential that is not a token68 themselves, which lets the
// middleware skip its own pass over the bytes of accepted credentials (the
// API-key and JWT authenticators do).
//
// Per-credential controls: a principal with allowed networks
// ([gatehouse.Principal.AllowedNetworks]) is refused with 403 by
// [Middleware.Check] when the client address (Config.ClientAddr) is outside
// them, and a principal with usage credits ([gatehouse.Principal.Credits])
// spends one per request served through Config.Credits, last, after After
// and the scope guard that Handler wraps: 429 credits_exhausted when none
// is left, 503 when the spender cannot answer or none is configured.
package middleware
