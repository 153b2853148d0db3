package otelauth

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/observe"
	"github.com/gatehouse-go/gatehouse/store"
)

// Config holds the optional settings of an [Observer]. The zero value is
// usable.
type Config struct {
	// MeterProvider creates the instruments. Default
	// otel.GetMeterProvider(), the global provider (instruments created
	// from it before otel.SetMeterProvider is called follow the provider
	// set later).
	MeterProvider metric.MeterProvider
}

// Observer records Gatehouse's events as OpenTelemetry span attributes and
// metrics. It implements [observe.Observer] (give it to
// middleware.Config.Observer and store.CacheConfig.Observer) and
// [store.FeedObserver] (give it to sqlstore's WatchConfig.Observer).
//
// It sets attributes on the span already in the request's context (the
// one otelhttp or another instrumentation started) and starts none: a
// request without a recording span costs only the metric updates. It never
// records a credential, key material or the text of an internal error.
//
// An Observer is immutable after [New] and safe for concurrent use.
type Observer struct {
	decisions     metric.Int64Counter
	lookups       metric.Int64Counter
	loads         metric.Float64Histogram
	outages       metric.Int64Counter
	feedDown      metric.Int64UpDownCounter
	outageSeconds metric.Float64Histogram

	// The measurement options of the fixed attribute combinations, built
	// once so that a decision or a lookup does not build an attribute set.
	kinds   map[gatehouse.Kind][]metric.AddOption
	refused map[refusal][]metric.AddOption
	lookup  [3][]metric.AddOption    // by store.CacheOutcome
	load    [3][]metric.RecordOption // by loadResult
}

var (
	_ observe.Observer   = (*Observer)(nil)
	_ store.FeedObserver = (*Observer)(nil)
)

// refusal is the metric identity of a refusal: the problem code and the
// reason ("" when the error carries none).
type refusal struct {
	code   string
	reason gatehouse.Reason
}

// codes are the codes middleware.Classify returns.
var codes = [...]string{
	"unauthenticated", "invalid_request", "invalid_token", "insufficient_scope",
	"forbidden", "rate_limited", "unavailable", "credits_exhausted",
}

// reasons are the root package's reasons and "" (no reason).
var reasons = [...]gatehouse.Reason{
	"",
	gatehouse.ReasonMissing, gatehouse.ReasonMalformed, gatehouse.ReasonTooLong,
	gatehouse.ReasonUnsupported, gatehouse.ReasonBadChecksum, gatehouse.ReasonUnknown,
	gatehouse.ReasonRevoked, gatehouse.ReasonExpired, gatehouse.ReasonNotYetValid,
	gatehouse.ReasonBadSignature, gatehouse.ReasonUnknownKeyID, gatehouse.ReasonBadIssuer,
	gatehouse.ReasonBadAudience, gatehouse.ReasonBadClaims, gatehouse.ReasonBackend,
	gatehouse.ReasonNetwork, gatehouse.ReasonCreditsExhausted,
}

// kinds are the root package's kinds and "" (an authenticator that sets
// none).
var kinds = [...]gatehouse.Kind{
	"", gatehouse.KindAPIKey, gatehouse.KindJWT, gatehouse.KindSession, gatehouse.KindBasic,
}

// loadResult indexes Observer.load.
type loadResult uint8

const (
	loadFound loadResult = iota
	loadNotFound
	loadError
)

var loadResults = [...]string{loadFound: "found", loadNotFound: "not_found", loadError: "error"}

// Bucket boundaries, in seconds. Store loads: 100 µs (an in-memory or
// local SQLite read) to 5 s (past any load timeout worth setting). Feed
// outages: 1 s to 1 h.
var (
	loadBuckets   = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	outageBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 3600}
)

// New creates the instruments of an Observer from cfg.MeterProvider. It
// returns an error when the provider refuses one.
func New(cfg Config) (*Observer, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	o := &Observer{
		kinds:   make(map[gatehouse.Kind][]metric.AddOption, len(kinds)),
		refused: make(map[refusal][]metric.AddOption, len(codes)*len(reasons)),
	}
	var errs [6]error
	o.decisions, errs[0] = m.Int64Counter(MetricDecisions, metric.WithUnit("{decision}"),
		metric.WithDescription("Authentication decisions of the Gatehouse middleware, by outcome, and by kind or refusal code and reason."))
	o.lookups, errs[1] = m.Int64Counter(MetricCacheLookups, metric.WithUnit("{lookup}"),
		metric.WithDescription("Credential cache lookups, by outcome: hit, negative_hit or miss."))
	o.loads, errs[2] = m.Float64Histogram(MetricStoreLoadDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of credential loads from the store on a cache miss."),
		metric.WithExplicitBucketBoundaries(loadBuckets...))
	o.outages, errs[3] = m.Int64Counter(MetricFeedOutages, metric.WithUnit("{outage}"),
		metric.WithDescription("Times an invalidation feed stopped delivering changes."))
	o.feedDown, errs[4] = m.Int64UpDownCounter(MetricFeedDown, metric.WithUnit("{feed}"),
		metric.WithDescription("Invalidation feeds down now."))
	o.outageSeconds, errs[5] = m.Float64Histogram(MetricFeedOutageDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of invalidation feed outages, recorded when they end."),
		metric.WithExplicitBucketBoundaries(outageBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("otelauth: creating instruments: %w", err)
	}

	for _, k := range kinds {
		o.kinds[k] = kindOptions(k)
	}
	for _, c := range codes {
		for _, r := range reasons {
			o.refused[refusal{c, r}] = refusalOptions(refusal{c, r})
		}
	}
	for _, oc := range []store.CacheOutcome{store.CacheHit, store.CacheNegativeHit, store.CacheMiss} {
		o.lookup[oc] = []metric.AddOption{metric.WithAttributeSet(
			attribute.NewSet(AttrCacheOutcome.String(oc.String())))}
	}
	for i, r := range loadResults {
		o.load[i] = []metric.RecordOption{metric.WithAttributeSet(
			attribute.NewSet(AttrStoreResult.String(r)))}
	}
	return o, nil
}

// kindOptions returns the options of a decision that authenticated a
// principal of kind k.
func kindOptions(k gatehouse.Kind) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		AttrOutcome.String(OutcomeAuthenticated), AttrKind.String(string(k))))}
}

// refusalOptions returns the options of a refusal.
func refusalOptions(r refusal) []metric.AddOption {
	kvs := []attribute.KeyValue{AttrOutcome.String(OutcomeRefused), AttrCode.String(r.code)}
	if r.reason != "" {
		kvs = append(kvs, AttrReason.String(string(r.reason)))
	}
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}
