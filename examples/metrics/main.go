// Command metrics exports Gatehouse's authentication and cache events as
// Prometheus metrics, through the observe package's hook interface.
//
//	go run ./metrics
//	curl -H "Authorization: Bearer $KEY" localhost:8082/projects
//	curl localhost:8082/metrics | grep gatehouse_
//
// The exporter is the promObserver type below: an observe.Observer that
// increments counters and observes a histogram. Copy it into a service
// that already serves /metrics.
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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/observe"
	"github.com/gatehouse-go/gatehouse/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	h, err := newServer(os.Stdout, *addr, prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}

// promObserver turns Gatehouse events into Prometheus metrics:
//
//	gatehouse_auth_requests_total{result="ok"|<refusal code>}
//	gatehouse_cache_lookups_total{outcome="hit"|"negative_hit"|"miss"}
//	gatehouse_store_load_seconds{result="found"|"not_found"|"error"}
//
// The children of the vectors the request path uses are looked up once,
// so that an accepted request costs one atomic add.
type promObserver struct {
	auth    *prometheus.CounterVec
	ok      prometheus.Counter
	lookups [3]prometheus.Counter
	loads   *prometheus.HistogramVec
}

var _ observe.Observer = (*promObserver)(nil)

func newPromObserver(reg prometheus.Registerer) (*promObserver, error) {
	o := &promObserver{
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_auth_requests_total",
			Help: "Requests the Gatehouse middleware decided on, by result: ok or the refusal code.",
		}, []string{"result"}),
		loads: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_store_load_seconds",
			Help:    "Duration of credential loads from the store on a cache miss.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8), // 100 µs to 1.6 s
		}, []string{"result"}),
	}
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_cache_lookups_total",
		Help: "Credential cache lookups, by outcome.",
	}, []string{"outcome"})
	for _, c := range []prometheus.Collector{o.auth, o.loads, lookups} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	o.ok = o.auth.WithLabelValues("ok")
	for _, oc := range []store.CacheOutcome{store.CacheHit, store.CacheNegativeHit, store.CacheMiss} {
		o.lookups[oc] = lookups.WithLabelValues(oc.String())
	}
	return o, nil
}

func (o *promObserver) Authenticated(*http.Request, *gatehouse.Principal) { o.ok.Inc() }

func (o *promObserver) Refused(_ *http.Request, err error) {
	_, code := middleware.Classify(err)
	o.auth.WithLabelValues(code).Inc()
}

func (o *promObserver) CacheLookup(oc store.CacheOutcome) {
	if int(oc) < len(o.lookups) {
		o.lookups[oc].Inc()
	}
}

func (o *promObserver) StoreLoad(elapsed time.Duration, err error) {
	result := "found"
	switch {
	case errors.Is(err, store.ErrNotFound):
		result = "not_found"
	case err != nil:
		result = "error"
	}
	o.loads.WithLabelValues(result).Observe(elapsed.Seconds())
}

// newServer builds an API whose middleware and key cache report to a
// Prometheus registry served on /metrics, and prints a demo key to out.
func newServer(out io.Writer, addr string, reg *prometheus.Registry) (http.Handler, error) {
	obs, err := newPromObserver(reg)
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	key, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "demo", OwnerID: "user_1", Scopes: []string{"read"}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "demo key: %s\n  curl -H \"Authorization: Bearer %s\" http://%s/projects\n  curl http://%s/metrics\n", key, key, addr, addr)
	return mux, nil
}
