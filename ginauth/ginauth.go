// Package ginauth runs Gatehouse inside gin.
//
// It is a module of its own, so that gin never enters the dependency graph
// of services that do not use it. The middleware is the same
// [middleware.Middleware] the net/http quickstart builds; ginauth only
// adapts its calls to gin's handler shape:
//
//	m, _ := middleware.New(middleware.Config{Realm: "api"}, auth)
//	r := gin.New()
//	api := r.Group("/api", ginauth.Authenticate(m))
//	api.GET("/projects", ginauth.MustRequireScopes(m, "read"), func(c *gin.Context) {
//		p, _ := ginauth.Principal(c)
//		c.JSON(http.StatusOK, gin.H{"caller": p.ID})
//	})
//
// A refusal is written by the middleware's error handler (RFC 9457
// problem+json and the RFC 6750 challenge, exactly as over net/http), and
// the chain is aborted. The principal travels in the request's context, so
// handlers below may use [Principal] or [gatehouse.FromContext] on
// c.Request.Context() alike.
package ginauth

import (
	"github.com/gin-gonic/gin"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
)

// Authenticate requires every request to be authenticated, as
// [middleware.Middleware.Handler] does.
func Authenticate(m *middleware.Middleware) gin.HandlerFunc {
	return authenticate(m, false)
}

// Optional lets requests without any credential through without a
// principal and authenticates the others; a bad credential is still
// refused, as [middleware.Middleware.Optional] does.
func Optional(m *middleware.Middleware) gin.HandlerFunc {
	return authenticate(m, true)
}

func authenticate(m *middleware.Middleware, optional bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, err := m.Authenticate(c.Writer, c.Request, optional)
		if err != nil {
			m.Error(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Request = r
		c.Next()
	}
}

// Require serves the rest of the chain only when the principal satisfies
// req: 401 without a principal, 403 with too few scopes.
func Require(m *middleware.Middleware, req *scopes.Requirement) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := m.Authorize(c.Request, req); err != nil {
			m.Error(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Next()
	}
}

// RequireScopes requires every scope in required, compiled once with the
// middleware's matcher; it returns an error for an invalid or empty list.
func RequireScopes(m *middleware.Middleware, required ...string) (gin.HandlerFunc, error) {
	req, err := m.Matcher().AllOf(required...)
	if err != nil {
		return nil, err
	}
	return Require(m, req), nil
}

// RequireAnyScope requires at least one scope in required.
func RequireAnyScope(m *middleware.Middleware, required ...string) (gin.HandlerFunc, error) {
	req, err := m.Matcher().AnyOf(required...)
	if err != nil {
		return nil, err
	}
	return Require(m, req), nil
}

// MustRequireScopes is [RequireScopes] for constant scopes; it panics on an
// invalid list, at start-up.
func MustRequireScopes(m *middleware.Middleware, required ...string) gin.HandlerFunc {
	h, err := RequireScopes(m, required...)
	if err != nil {
		panic(err)
	}
	return h
}

// MustRequireAnyScope is [RequireAnyScope] for constant scopes.
func MustRequireAnyScope(m *middleware.Middleware, required ...string) gin.HandlerFunc {
	h, err := RequireAnyScope(m, required...)
	if err != nil {
		panic(err)
	}
	return h
}

// Principal returns the caller that [Authenticate] attached, if any.
func Principal(c *gin.Context) (*gatehouse.Principal, bool) {
	return gatehouse.FromContext(c.Request.Context())
}
