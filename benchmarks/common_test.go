package benchmarks

import (
	"net/http"
	"testing"
)

// nopWriter is a ResponseWriter that discards everything without
// allocating, so that benchmarks measure the middleware, not the recorder.
type nopWriter struct {
	h    http.Header
	code int
}

func newNopWriter() *nopWriter { return &nopWriter{h: make(http.Header, 4)} }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

// okHandler is the protected handler every contender serves.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

// serve runs h on r b.N times serially, failing if the status is not want.
func serve(b *testing.B, h http.Handler, r *http.Request, want int) {
	b.Helper()
	w := newNopWriter()
	h.ServeHTTP(w, r)
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(w, r)
	}
}

// serveParallel runs h on copies of r from every core.
func serveParallel(b *testing.B, h http.Handler, r *http.Request, want int) {
	b.Helper()
	w := newNopWriter()
	h.ServeHTTP(w, r)
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := newNopWriter()
		rr := r.Clone(r.Context())
		for pb.Next() {
			h.ServeHTTP(w, rr)
		}
	})
}

// principalKey is the floors' context key: a floor attaches the principal
// with context.WithValue, the plain way.
type principalKey struct{}
