package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP receiver stub: it keeps the requests it
// accepts.
type collector struct {
	mu      sync.Mutex
	raw     [][]byte
	traces  []*colltrace.ExportTraceServiceRequest
	metrics []*collmetrics.ExportMetricsServiceRequest
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = append(c.raw, b)
	switch r.URL.Path {
	case "/v1/traces":
		var req colltrace.ExportTraceServiceRequest
		if proto.Unmarshal(b, &req) == nil {
			c.traces = append(c.traces, &req)
		}
		b, _ = proto.Marshal(&colltrace.ExportTraceServiceResponse{})
	case "/v1/metrics":
		var req collmetrics.ExportMetricsServiceRequest
		if proto.Unmarshal(b, &req) == nil {
			c.metrics = append(c.metrics, &req)
		}
		b, _ = proto.Marshal(&collmetrics.ExportMetricsServiceResponse{})
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = kv.Value.GetStringValue()
	}
	return out
}

// TestExportsOverOTLP runs the example's server with its exporters pointed
// at a collector stub, and checks what reaches the collector when the
// providers are shut down: one span per request with the decision's
// attributes, and the otelauth metrics; never the key.
func TestExportsOverOTLP(t *testing.T) {
	col := &collector{}
	stub := httptest.NewServer(col)
	defer stub.Close()

	ctx := context.Background()
	tel, err := newTelemetry(ctx, stub.URL, time.Hour) // exported at Shutdown
	require.NoError(t, err)
	var out bytes.Buffer
	h, err := newServer(&out, "127.0.0.1:0", tel)
	require.NoError(t, err)
	m := regexp.MustCompile(`demo key: (demo_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2)
	key := m[1]

	for _, auth := range []string{"Bearer " + key, "Bearer " + key, ""} {
		req := httptest.NewRequest(http.MethodGet, "/projects", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	require.NoError(t, tel.Shutdown(ctx))

	col.mu.Lock()
	defer col.mu.Unlock()
	var outcomes []map[string]string
	for _, req := range col.traces {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					a := attrMap(s.Attributes)
					outcomes = append(outcomes, map[string]string{
						"outcome": a["gatehouse.auth.outcome"], "kind": a["gatehouse.auth.kind"],
						"tenant": a["gatehouse.tenant.id"], "code": a["gatehouse.auth.code"],
					})
				}
			}
		}
	}
	assert.ElementsMatch(t, []map[string]string{
		{"outcome": "authenticated", "kind": "api_key", "tenant": "org_demo", "code": ""},
		{"outcome": "authenticated", "kind": "api_key", "tenant": "org_demo", "code": ""},
		{"outcome": "refused", "kind": "", "tenant": "", "code": "unauthenticated"},
	}, outcomes)

	names := map[string]bool{}
	for _, req := range col.metrics {
		for _, rm := range req.ResourceMetrics {
			assert.Equal(t, "gatehouse-otel-example", attrMap(rm.Resource.Attributes)["service.name"])
			for _, sm := range rm.ScopeMetrics {
				for _, mt := range sm.Metrics {
					names[mt.Name] = true
				}
			}
		}
	}
	for _, name := range []string{"gatehouse.auth.decisions", "gatehouse.cache.lookups", "gatehouse.store.load.duration"} {
		assert.True(t, names[name], "%s exported; got %v", name, names)
	}
	for _, b := range col.raw {
		assert.NotContains(t, string(b), key[len("demo_live."):], "no export carries the key")
	}
}
