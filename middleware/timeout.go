package middleware

import (
	"context"
	"net/http"
	"time"
)

// DefaultStoreTimeout is the bound the admin and session handlers put on a
// request's store calls unless configured otherwise.
const DefaultStoreTimeout = 5 * time.Second

// Timeout returns a middleware that gives each request's context a
// deadline d from its start, so that every call the handler makes with
// that context (a store query, a limiter round trip) ends by then; a
// handler whose call fails on the deadline answers through its error
// handler (503, problem+json). Unlike [http.TimeoutHandler] it writes
// nothing itself and does not buffer the response: wrap only handlers
// whose work should end with the deadline (not a proxy streaming an
// upstream's answer). d <= 0 returns the handler unchanged.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
