package otelauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/otelauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// storeSecret is in the error of the store while it is down: a cause that
// must reach neither a span nor a metric.
const storeSecret = "dial tcp 10.0.0.9:5432: password authentication failed for user gatehouse_admin"

// flakyStore fails lookups while down is set.
type flakyStore struct {
	store.KeyStore
	mu   sync.Mutex
	down bool
}

func (s *flakyStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New(storeSecret)
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

func (s *flakyStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// providers are SDK providers that keep what they record in memory.
type providers struct {
	reader *sdkmetric.ManualReader
	meters *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	traces *sdktrace.TracerProvider
}

func newProviders(t *testing.T) *providers {
	t.Helper()
	p := &providers{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	p.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.reader))
	p.traces = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p.spans))
	t.Cleanup(func() {
		ctx := context.Background()
		require.NoError(t, p.meters.Shutdown(ctx))
		require.NoError(t, p.traces.Shutdown(ctx))
	})
	return p
}

// collect returns what the meter provider has recorded so far.
func (p *providers) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, p.reader.Collect(context.Background(), &rm))
	return rm
}

// traced starts a server span around each request, as otelhttp does.
func traced(tp trace.TracerProvider, h http.Handler) http.Handler {
	tr := tp.Tracer("otelauth_test")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tr.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// rig is an HTTP server whose middleware and key cache report to an
// Observer on in-memory SDK providers: GET /read needs scope "read", GET
// /write scope "write".
type rig struct {
	*providers
	srv    *httptest.Server
	format apikey.Format
	store  *flakyStore
	mem    *store.Memory
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{providers: newProviders(t), mem: store.NewMemory(), format: apikey.MustFormat("cpx_live.")}
	r.store = &flakyStore{KeyStore: r.mem}
	obs, err := otelauth.New(otelauth.Config{MeterProvider: r.meters})
	require.NoError(t, err)
	keys, err := store.NewKeyCache(r.store, store.CacheConfig{Observer: obs})
	require.NoError(t, err)
	auth, err := apikey.NewAuthenticator(r.format, keys, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{Observer: obs}, auth)
	require.NoError(t, err)
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /read", m.Handler(m.MustRequireScopes("read")(ok)))
	mux.Handle("GET /write", m.Handler(m.MustRequireScopes("write")(ok)))
	r.srv = httptest.NewServer(traced(r.traces, mux))
	t.Cleanup(r.srv.Close)
	return r
}

// issue stores a new key with scope "read" in tenant and returns it.
func (r *rig) issue(t *testing.T, tenant string) (string, *store.Key) {
	t.Helper()
	key, rec, err := apikey.Issue(context.Background(), r.mem, r.format, nil,
		apikey.Params{Name: "ci", OwnerID: "user_1", TenantID: tenant, Scopes: []string{"read"}})
	require.NoError(t, err)
	return key, rec
}

// get requests path with the Authorization header values given and
// returns the status.
func (r *rig) get(t *testing.T, path string, auth ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.srv.URL+path, nil)
	require.NoError(t, err)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := r.srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// attrs renders a span's attributes as a map.
func attrs(kvs []attribute.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// setKey renders an attribute set as "k=v,k=v", sorted by key.
func setKey(s attribute.Set) string {
	parts := make([]string, 0, s.Len())
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// find returns the metric called name, failing the test when it is absent.
func find(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				require.Equal(t, otelauth.ScopeName, sm.Scope.Name)
				return m
			}
		}
	}
	require.FailNow(t, "no metric "+name)
	return metricdata.Metrics{}
}

// sums returns the points of an int64 sum by attribute set.
func sums(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T", m.Name, m.Data)
	out := map[string]int64{}
	for _, p := range s.DataPoints {
		out[setKey(p.Attributes)] = p.Value
	}
	return out
}

// histogram returns the points of a float64 histogram by attribute set.
func histogram(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T", m.Name, m.Data)
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, p := range h.DataPoints {
		out[setKey(p.Attributes)] = p
	}
	return out
}

// recordedStrings returns every string the providers hold that an
// exporter would send: span names, attributes, events and statuses, and
// metric names, descriptions and attributes.
func recordedStrings(t *testing.T, p *providers) []string {
	t.Helper()
	var out []string
	add := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	for _, s := range p.spans.Ended() {
		out = append(out, s.Name(), s.Status().Description)
		add(s.Attributes())
		for _, e := range s.Events() {
			out = append(out, e.Name)
			add(e.Attributes)
		}
	}
	rm := p.collect(t)
	add(rm.Resource.Attributes())
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out = append(out, m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, pt := range d.DataPoints {
					add(pt.Attributes.ToSlice())
					for _, ex := range pt.Exemplars {
						add(ex.FilteredAttributes)
					}
				}
			case metricdata.Histogram[float64]:
				for _, pt := range d.DataPoints {
					add(pt.Attributes.ToSlice())
					for _, ex := range pt.Exemplars {
						add(ex.FilteredAttributes)
					}
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}
