package otelauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/otelauth"
	"github.com/gatehouse-go/gatehouse/store"
)

// One Observer for the key cache and the middleware; here the meter
// provider keeps its metrics in memory, where a service would export them
// over OTLP (see examples/otel).
func Example() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(ctx) }()

	obs, err := otelauth.New(otelauth.Config{MeterProvider: mp})
	if err != nil {
		log.Fatal(err)
	}
	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{Observer: obs})
	format := apikey.MustFormat("cpx_live.")
	auth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
	m, _ := middleware.New(middleware.Config{Observer: obs}, auth)
	key, _, _ := apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "CI", OwnerID: "user_1"})
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for _, auth := range []string{"Bearer " + key, "Bearer " + key, ""} {
		req := httptest.NewRequest("GET", "/projects", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} %d", mt.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} count %d", mt.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// gatehouse.auth.decisions{gatehouse.auth.code=unauthenticated,gatehouse.auth.outcome=refused,gatehouse.auth.reason=missing} 1
	// gatehouse.auth.decisions{gatehouse.auth.kind=api_key,gatehouse.auth.outcome=authenticated} 2
	// gatehouse.cache.lookups{gatehouse.cache.outcome=hit} 1
	// gatehouse.cache.lookups{gatehouse.cache.outcome=miss} 1
	// gatehouse.store.load.duration{gatehouse.store.result=found} count 1
}
