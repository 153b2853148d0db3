// Package gatehouse holds the small, dependency-free core that every part of
// Gatehouse shares: the [Principal] a request is authenticated as, the
// [Credential] it presented, the [Authenticator] interface that turns one into
// the other, the sentinel errors that say why a request was refused, and the
// context accessors [NewContext] and [FromContext].
//
// Most applications never implement anything from this package; they wire
// authenticators from the sub-packages into the middleware and read the
// principal in their handlers:
//
//	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
//	format := apikey.MustFormat("cpx_live.")
//	keyAuth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
//	m, err := middleware.New(middleware.Config{Realm: "api"}, keyAuth)
//	if err != nil { ... }
//	mux.Handle("GET /projects", m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(projects))))
//
//	func projects(w http.ResponseWriter, r *http.Request) {
//		p, _ := gatehouse.FromContext(r.Context())
//		fmt.Fprintf(w, "hello %s of %s\n", p.ID, p.TenantID)
//	}
//
// Authenticators also work without HTTP: a worker that receives a token in a
// message calls [Authenticator.Authenticate] with a [Credential] it builds
// itself.
package gatehouse
