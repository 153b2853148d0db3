package middleware

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse/scopes"
)

// Require returns a guard that serves next only when the principal in the
// request context satisfies req. A request without a principal (the guard
// used without [Middleware.Handler] before it) is refused with 401.
func (m *Middleware) Require(req *scopes.Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return &guard{m: m, req: req, next: next}
	}
}

// guard is a scope guard. Wrapped directly by its middleware's Handler or
// Optional, it is copied with spend set: it spends the principal's credits
// once its check has passed (see Config.Credits).
type guard struct {
	m     *Middleware
	req   *scopes.Requirement
	next  http.Handler
	spend bool
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := g.m.authorize(r, g.req)
	if err != nil {
		g.m.refuse(w, r, err)
		return
	}
	if g.spend && p.Credits != nil && !g.m.spend(w, r, p) {
		return
	}
	g.next.ServeHTTP(w, r)
}

// RequireScopes returns a guard that requires every scope in required,
// compiled once with the middleware's matcher. It returns an error for an
// invalid or empty list.
func (m *Middleware) RequireScopes(required ...string) (func(http.Handler) http.Handler, error) {
	req, err := m.matcher.AllOf(required...)
	if err != nil {
		return nil, err
	}
	return m.Require(req), nil
}

// RequireAnyScope returns a guard that requires at least one scope in
// required.
func (m *Middleware) RequireAnyScope(required ...string) (func(http.Handler) http.Handler, error) {
	req, err := m.matcher.AnyOf(required...)
	if err != nil {
		return nil, err
	}
	return m.Require(req), nil
}

// MustRequireScopes is [Middleware.RequireScopes] for constant scopes; it
// panics on an invalid list.
func (m *Middleware) MustRequireScopes(required ...string) func(http.Handler) http.Handler {
	g, err := m.RequireScopes(required...)
	if err != nil {
		panic(err)
	}
	return g
}

// MustRequireAnyScope is [Middleware.RequireAnyScope] for constant scopes;
// it panics on an invalid list.
func (m *Middleware) MustRequireAnyScope(required ...string) func(http.Handler) http.Handler {
	g, err := m.RequireAnyScope(required...)
	if err != nil {
		panic(err)
	}
	return g
}
