package otelauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/otelauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// benchObserver returns an Observer on an SDK meter provider with a manual
// reader (never collected: recording is what is measured) and a tracer
// provider that samples every span.
func benchObserver(tb testing.TB) (*otelauth.Observer, trace.Tracer) {
	tb.Helper()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	tb.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	obs, err := otelauth.New(otelauth.Config{MeterProvider: mp})
	require.NoError(tb, err)
	return obs, tp.Tracer("bench")
}

// event is one call of the Observer, or with span, the same call in a new
// recording span, next to the span alone as a baseline.
type event struct {
	name string
	fn   func()
}

// events returns the Observer's calls on a request without a span, and
// the span baseline and the calls in a span.
func events(tb testing.TB) (plain, spanned []event) {
	obs, tr := benchObserver(tb)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	p := &gatehouse.Principal{ID: "user_1", Kind: gatehouse.KindAPIKey, TenantID: "org_1"}
	refusal := gatehouse.Invalid(gatehouse.ReasonUnknown, "Invalid or expired API key")
	down := gatehouse.Unavailable(errors.New("connection refused"))
	loadErr := errors.New("connection refused")
	inSpan := func(f func(*http.Request)) func() {
		return func() {
			ctx, span := tr.Start(context.Background(), "GET /")
			f(req.WithContext(ctx))
			span.End()
		}
	}
	plain = []event{
		{"Authenticated", func() { obs.Authenticated(req, p) }},
		{"Refused", func() { obs.Refused(req, refusal) }},
		{"Refused/cause", func() { obs.Refused(req, down) }},
		{"CacheLookup", func() { obs.CacheLookup(store.CacheHit) }},
		{"StoreLoad", func() { obs.StoreLoad(time.Millisecond, nil) }},
		{"StoreLoad/error", func() { obs.StoreLoad(time.Millisecond, loadErr) }},
	}
	spanned = []event{
		{"span alone", inSpan(func(*http.Request) {})},
		{"Authenticated/span", inSpan(func(r *http.Request) { obs.Authenticated(r, p) })},
		{"Refused/span", inSpan(func(r *http.Request) { obs.Refused(r, refusal) })},
	}
	return plain, spanned
}

func BenchmarkObserver(b *testing.B) {
	plain, spanned := events(b)
	for _, ev := range append(plain, spanned...) {
		b.Run(ev.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ev.fn()
			}
		})
	}
}

// BenchmarkMiddleware serves a cached key through the middleware and a
// scope guard without an observer and with otelauth's, each without a span
// and inside a recording span (started for both, so that the difference
// is the observer's).
func BenchmarkMiddleware(b *testing.B) {
	obs, tr := benchObserver(b)
	for _, withObs := range []bool{false, true} {
		for _, withSpan := range []bool{false, true} {
			name := "none"
			if withObs {
				name = "otelauth"
			}
			if withSpan {
				name += "/span"
			}
			b.Run(name, func(b *testing.B) {
				var o middleware.Observer
				var co store.CacheObserver
				if withObs {
					o, co = obs, obs
				}
				mem := store.NewMemory()
				keys, err := store.NewKeyCache(mem, store.CacheConfig{Observer: co})
				require.NoError(b, err)
				format := apikey.MustFormat("cpx_live.")
				auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
				require.NoError(b, err)
				m, err := middleware.New(middleware.Config{Observer: o}, auth)
				require.NoError(b, err)
				key, _, err := apikey.Issue(context.Background(), mem, format, nil,
					apikey.Params{Name: "k", OwnerID: "user_1", TenantID: "org_1", Scopes: []string{"read"}})
				require.NoError(b, err)
				h := m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+key)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				require.Equal(b, http.StatusOK, w.Code)
				b.ReportAllocs()
				for b.Loop() {
					if withSpan {
						ctx, span := tr.Start(context.Background(), "GET /")
						h.ServeHTTP(w, r.WithContext(ctx))
						span.End()
					} else {
						h.ServeHTTP(w, r)
					}
				}
			})
		}
	}
}

// TestAllocations guards the hot path: without a recording span, a
// decision, a cache lookup and a store load allocate nothing (the attribute
// sets are built in New); in a recording span, a decision allocates the
// slice of its span attributes, and the SDK's span grows its own.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	plain, spanned := events(t)
	for _, ev := range plain {
		allocs := testing.AllocsPerRun(1000, ev.fn)
		t.Logf("%s: %v allocations", ev.name, allocs)
		if ev.name != "Refused/cause" { // a 503: errors.Is on an error with a cause allocates
			assert.Zero(t, allocs, ev.name)
		}
	}
	base := testing.AllocsPerRun(1000, spanned[0].fn)
	for _, ev := range spanned[1:] {
		allocs := testing.AllocsPerRun(1000, ev.fn) - base
		t.Logf("%s: %v allocations more than the span alone", ev.name, allocs)
		assert.LessOrEqual(t, allocs, 2.0, ev.name)
	}
}
