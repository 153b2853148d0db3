// Command otel exports Gatehouse's decisions over OTLP/HTTP: the
// attributes of each decision on the request's span, and the otelauth
// metrics (decisions, cache lookups, store load durations).
//
//	docker run --rm -p 4318:4318 otel/opentelemetry-collector   # or any OTLP/HTTP receiver
//	go run ./otel -otlp http://localhost:4318
//	curl -H "Authorization: Bearer $KEY" localhost:8083/projects
//
// Without -otlp the exporters follow the standard OTEL_EXPORTER_OTLP_*
// environment variables (default https://localhost:4318). Spans are sent
// in batches, metrics every -interval; both are flushed when the program
// is interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/otelauth"
	"github.com/gatehouse-go/gatehouse/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "listen address")
	endpoint := flag.String("otlp", "", "OTLP/HTTP endpoint, such as http://localhost:4318 (default: OTEL_EXPORTER_OTLP_* variables)")
	interval := flag.Duration("interval", 10*time.Second, "metric export interval")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tel, err := newTelemetry(ctx, *endpoint, *interval)
	if err != nil {
		log.Fatal(err)
	}
	h, err := newServer(os.Stdout, *addr, tel)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
	}
	// Flush the spans and metrics not yet exported.
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(flush); err != nil {
		log.Print(err)
	}
}

// telemetry holds the SDK providers that export over OTLP/HTTP.
type telemetry struct {
	meters *sdkmetric.MeterProvider
	traces *sdktrace.TracerProvider
}

// newTelemetry builds the providers. endpoint is the base URL of an
// OTLP/HTTP receiver ("/v1/traces" and "/v1/metrics" are appended); empty,
// the exporters read the OTEL_EXPORTER_OTLP_* environment variables.
func newTelemetry(ctx context.Context, endpoint string, interval time.Duration) (*telemetry, error) {
	var traceOpts []otlptracehttp.Option
	var metricOpts []otlpmetrichttp.Option
	if endpoint != "" {
		base := strings.TrimSuffix(endpoint, "/")
		traceOpts = append(traceOpts, otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		metricOpts = append(metricOpts, otlpmetrichttp.WithEndpointURL(base+"/v1/metrics"))
	}
	spans, err := otlptracehttp.New(ctx, traceOpts...)
	if err != nil {
		return nil, err
	}
	metrics, err := otlpmetrichttp.New(ctx, metricOpts...)
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", "gatehouse-otel-example")))
	if err != nil {
		return nil, err
	}
	return &telemetry{
		traces: sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans), sdktrace.WithResource(res)),
		meters: sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
			sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(interval)))),
	}, nil
}

// Shutdown exports what is pending and stops both providers.
func (t *telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.traces.Shutdown(ctx), t.meters.Shutdown(ctx))
}

// newServer builds an API whose key cache and middleware report to an
// otelauth.Observer, behind otelhttp, which starts the server span of each
// request that the Observer adds the decision's attributes to. It prints a
// demo key to out.
func newServer(out io.Writer, addr string, tel *telemetry) (http.Handler, error) {
	obs, err := otelauth.New(otelauth.Config{MeterProvider: tel.meters})
	if err != nil {
		return nil, err
	}
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{Observer: obs})
	if err != nil {
		return nil, err
	}
	format := apikey.MustFormat("demo_live.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		return nil, err
	}
	m, err := middleware.New(middleware.Config{Realm: "demo", Observer: obs}, auth)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /projects", m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, `["apollo","gemini"]`) }))))

	key, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "demo", OwnerID: "user_1", TenantID: "org_demo", Scopes: []string{"read"}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "demo key: %s\n  curl -H \"Authorization: Bearer %s\" http://%s/projects\n", key, key, addr)
	return otelhttp.NewHandler(mux, "gatehouse-demo",
		otelhttp.WithTracerProvider(tel.traces),
		otelhttp.WithMeterProvider(tel.meters),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
	), nil
}
