package ratelimit

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse/middleware"
)

// ErrorHandler writes the response for a request the middleware refuses:
// [middleware.ErrorHandler], so that an application's
// middleware.ProblemWriter (its realm, its problem types) serves rate
// limits too. An ErrorHandler must never write err.Error() to the client.
type ErrorHandler = middleware.ErrorHandler

// defaultProblems is a ProblemWriter with its default configuration.
var defaultProblems = func() *middleware.ProblemWriter {
	pw, err := middleware.NewProblemWriter(middleware.ProblemConfig{})
	if err != nil {
		panic(err) // the zero configuration is valid
	}
	return pw
}()

// WriteError is the default [ErrorHandler]: what middleware.ProblemWriter
// with its default configuration (realm "api", problem types
// "about:blank") writes, which for the errors a rate limit produces is
//
//	gatehouse.ErrRateLimited    429  rate_limited     Retry-After: whole seconds, at least 1
//	gatehouse.ErrNoCredentials  401  unauthenticated  WWW-Authenticate: Bearer realm="api"
//	gatehouse.ErrUnavailable    503  unavailable
//
// as application/problem+json whose detail is a fixed sentence (or the
// Detail of a *gatehouse.RateLimitError or *gatehouse.Error), never an
// internal error string. To share the application's realm and problem
// types, set Config.ErrorHandler to its ProblemWriter's WriteError.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	defaultProblems.WriteError(w, r, err)
}
