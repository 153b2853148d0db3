package otelauth

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope (the meter's name) of every
// instrument the package creates.
const ScopeName = "github.com/gatehouse-go/gatehouse/otelauth"

// The names of the instruments an [Observer] creates, for views and
// queries. The package documentation gives their kind, unit and attributes.
const (
	MetricDecisions          = "gatehouse.auth.decisions"
	MetricCacheLookups       = "gatehouse.cache.lookups"
	MetricStoreLoadDuration  = "gatehouse.store.load.duration"
	MetricFeedOutages        = "gatehouse.feed.outages"
	MetricFeedDown           = "gatehouse.feed.down"
	MetricFeedOutageDuration = "gatehouse.feed.outage.duration"
)

// The attribute keys an [Observer] records on spans and measurements.
const (
	// AttrOutcome is "authenticated" or "refused": on spans and on
	// gatehouse.auth.decisions.
	AttrOutcome attribute.Key = "gatehouse.auth.outcome"
	// AttrKind is the principal's [gatehouse.Kind] (api_key, jwt, session,
	// basic): on spans, and on gatehouse.auth.decisions when authenticated.
	AttrKind attribute.Key = "gatehouse.auth.kind"
	// AttrCode is the refusal's problem code from middleware.Classify
	// (invalid_token, unavailable, ...): on spans and decisions.
	AttrCode attribute.Key = "gatehouse.auth.code"
	// AttrReason is the refusal's [gatehouse.Reason] (unknown, revoked,
	// expired, bad_checksum, ...), absent when the error has none (a
	// missing scope, a rate limit): on spans and decisions.
	AttrReason attribute.Key = "gatehouse.auth.reason"
	// AttrTenant is the principal's tenant ID, or the tenant of a found but
	// refused key: on spans only, never on metrics (its cardinality is the
	// number of tenants).
	AttrTenant attribute.Key = "gatehouse.tenant.id"
	// AttrCacheOutcome is "hit", "negative_hit" or "miss": on
	// gatehouse.cache.lookups.
	AttrCacheOutcome attribute.Key = "gatehouse.cache.outcome"
	// AttrStoreResult is "found", "not_found" or "error": on
	// gatehouse.store.load.duration. Only "error" is a failure; a digest
	// the store does not know is an answer.
	AttrStoreResult attribute.Key = "gatehouse.store.result"
)

// The values of AttrOutcome.
const (
	OutcomeAuthenticated = "authenticated"
	OutcomeRefused       = "refused"
)
