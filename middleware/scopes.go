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
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := m.Authorize(r, req); err != nil {
				m.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
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
