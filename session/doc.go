// Package session logs people in with an e-mail address and a password and
// keeps them logged in with a session cookie; it also holds the HTTP Basic
// authenticator, which checks the same users and passwords.
//
// The pieces:
//
//   - [Hasher]: argon2id password hashes in the PHC string format, with
//     OWASP's parameters as a floor (m=19 MiB, t=2, p=1), passwords capped
//     at [MaxPasswordLength] bytes before any hashing, and a dummy
//     verification so that an unknown account costs the same as a wrong
//     password.
//   - [Manager]: 256-bit session IDs from crypto/rand, stored only as
//     digests (memory, SQLite or PostgreSQL, through [store.SessionCache]);
//     the cookie is __Host- prefixed, Secure, HttpOnly, Path=/,
//     SameSite=Lax, without Domain; idle and absolute timeouts; a fresh ID
//     on login and on privilege change; server-side logout and revocation
//     of every session of a user. It is the middleware's cookie
//     authenticator.
//   - [Handler]: POST /api/auth/login, POST /api/auth/logout, GET
//     /api/auth/session and POST /api/auth/password, with
//     http.CrossOriginProtection on every POST and login throttling
//     ([Throttle], [MemoryThrottle]) per account and per client address.
//   - [Basic]: HTTP Basic (RFC 7617), off unless built and given to the
//     middleware, with a short-lived verification cache and optionally an
//     API key as the password.
//
// Usage:
//
//	sessions, _ := store.NewSessionCache(db, store.CacheConfig{})
//	mgr, err := session.NewManager(sessions, session.Config{})
//	if err != nil { ... }
//	auth, _ := middleware.New(middleware.Config{}, keyAuth, mgr)
//	login, err := session.NewHandler(mgr, db, session.HandlerConfig{ErrorHandler: auth.Error})
//	if err != nil { ... }
//	for _, p := range login.Paths() {
//		mux.Handle(p, login)
//	}
//	mux.Handle("GET /api/projects", auth.Handler(projects))
//
// Then a browser, or curl with a cookie jar:
//
//	curl -c jar -H 'Content-Type: application/json' \
//	     -d '{"email":"ada@example.com","password":"..."}' https://host/api/auth/login
//	curl -b jar https://host/api/projects
//
// # Development mode
//
// Browsers do not store a Secure cookie set over plain HTTP, and refuse a
// __Host- cookie that is not Secure. [Config.InsecureDevCookie] drops both
// (the cookie is then "gatehouse_session") so that http://localhost works;
// `gatehouse serve` turns it on only when it listens on a loopback
// address, and says so in its log. Never use it elsewhere: the cookie
// would travel in clear text.
//
// # Security behaviour
//
// A session ID from the client is never adopted: login always issues a new
// one and destroys the one the request carried. An unknown, malformed,
// logged-out or timed-out ID gets the same 401. A wrong password and an
// unknown e-mail address get byte-identical responses after one argon2id
// run each. Too-long passwords are refused (400) and oversized bodies
// (413) before any hashing, and bodies with unknown members are refused.
// Throttling counts an attempt before the password is checked, so that
// concurrent guesses cannot slip through; an account never sees more than
// 100 consecutive failures. A store or throttle that cannot answer gives
// 503: the handlers fail closed.
//
// # Basic or session package
//
// The Basic authenticator lives here rather than in a package of its own
// because it verifies the same users with the same [Hasher], the same
// dummy work and the same [Throttle] as the login endpoint; splitting it
// would export those internals for one caller.
package session
