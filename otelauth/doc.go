// Package otelauth records Gatehouse's decisions with OpenTelemetry: the
// attributes of each decision on the request's span, counters of decisions
// and cache lookups, and histograms of store load and feed outage
// durations. It is a module of its own, so that the OpenTelemetry API never
// enters the dependency graph of services that do not use it.
//
// An [Observer] implements observe.Observer and store.FeedObserver; give
// the same one to the key cache, the middleware and, with the SQL store,
// the invalidation feed:
//
//	obs, err := otelauth.New(otelauth.Config{MeterProvider: mp}) // nil: the global provider
//	if err != nil { ... }
//	keys, _ := store.NewKeyCache(s, store.CacheConfig{Observer: obs})
//	auth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
//	m, _ := middleware.New(middleware.Config{Observer: obs}, auth)
//	w, _ := sqlStore.Watch(ctx, keys, sqlstore.WatchConfig{Observer: obs})
//	// otelhttp starts the server span that the Observer adds to.
//	http.ListenAndServe(addr, otelhttp.NewHandler(m.Handler(api), "api"))
//
// # Spans
//
// The Observer starts no span: it sets attributes on the span in the
// request's context (trace.SpanFromContext), the one otelhttp or any other
// instrumentation started, and does nothing more when that span is not
// recording. Each decision sets:
//
//	gatehouse.auth.outcome   authenticated | refused
//	gatehouse.auth.kind      api_key | jwt | session | basic (the principal's kind), when known
//	gatehouse.auth.code      the refusal's problem code (invalid_token, unavailable, ...)
//	gatehouse.auth.reason    the refusal's gatehouse.Reason (unknown, revoked, ...), when it has one
//	gatehouse.tenant.id      the principal's tenant, or that of a found key refused as
//	                         revoked or expired; absent when empty
//
// A request authenticated and then refused by a scope guard gets both
// decisions, and its span ends with the refusal's outcome and code. The
// span never receives the credential, any part of a key, the principal's
// or key's ID, or the text of an error (whose cause may be internal: a
// database address, a driver's message).
//
// # Metrics
//
// The instruments are created once, in [New], from a meter named
// [ScopeName]; the attribute sets of the built-in kinds, codes and reasons
// are built there too, so that recording one allocates nothing.
//
//	name                            instrument             unit        attributes
//	gatehouse.auth.decisions        Int64Counter           {decision}  outcome, and kind (authenticated)
//	                                                                   or code and reason (refused)
//	gatehouse.cache.lookups         Int64Counter           {lookup}    gatehouse.cache.outcome: hit | negative_hit | miss
//	gatehouse.store.load.duration   Float64Histogram       s           gatehouse.store.result: found | not_found | error
//	gatehouse.feed.outages          Int64Counter           {outage}    none
//	gatehouse.feed.down             Int64UpDownCounter     {feed}      none; feeds down now (alert when > 0)
//	gatehouse.feed.outage.duration  Float64Histogram       s           none; recorded when an outage ends
//
// The tenant is a span attribute only: on a metric its cardinality would
// be the number of tenants. Kinds and reasons are codes chosen by
// authenticators, never by a client; one an application adds gets its own
// series, at the cost of building its attribute set on each use.
//
// The cache hit ratio is hits over all lookups; in PromQL, after an OTLP
// to Prometheus translation:
//
//	sum(rate(gatehouse_cache_lookups_total{gatehouse_cache_outcome="hit"}[5m]))
//	  / sum(rate(gatehouse_cache_lookups_total[5m]))
//
// A negative hit is an unknown key answered from the cache, a miss a load
// from the store (or a wait for a load under way). A store load that found
// nothing (store.ErrNotFound) is "not_found", an answer, not an error.
// The store load buckets run from 100 µs to 5 s; replace them with an SDK
// view if they do not suit.
//
// The Observer is immutable and safe for concurrent use. Its methods run
// on the request path and never block; cache events, which have no
// request, are recorded with context.Background().
package otelauth
