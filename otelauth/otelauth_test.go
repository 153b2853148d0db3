package otelauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/otelauth"
	"github.com/gatehouse-go/gatehouse/store"
)

func badChecksum(key string) string {
	c := byte('A')
	if key[len(key)-1] == 'A' {
		c = 'B'
	}
	return key[:len(key)-1] + string(c)
}

// TestThroughMiddleware drives a real middleware, API-key authenticator
// and key cache over HTTP, one request per row in order (the cache's state
// carries over), and checks the span of each request, then the metrics of
// them all.
func TestThroughMiddleware(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	key, _ := r.issue(t, "org_1")
	revoked, rec := r.issue(t, "org_2")
	_, err := r.mem.RevokeKey(ctx, rec.ID, time.Now())
	require.NoError(t, err)
	whileDown, _ := r.issue(t, "org_3")
	unknown, err := r.format.Generate()
	require.NoError(t, err)
	secrets := []string{key, revoked, whileDown, unknown, storeSecret}

	rows := []struct {
		name      string
		path      string
		auth      []string
		storeDown bool
		status    int
		span      map[string]string
	}{
		{"first use: a miss and a load", "/read", []string{"Bearer " + key}, false, 200,
			map[string]string{"gatehouse.auth.outcome": "authenticated", "gatehouse.auth.kind": "api_key", "gatehouse.tenant.id": "org_1"}},
		{"second use: a hit", "/read", []string{"Bearer " + key}, false, 200,
			map[string]string{"gatehouse.auth.outcome": "authenticated", "gatehouse.auth.kind": "api_key", "gatehouse.tenant.id": "org_1"}},
		{"no credentials", "/read", nil, false, 401,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "unauthenticated", "gatehouse.auth.reason": "missing"}},
		{"two Authorization headers", "/read", []string{"Bearer " + key, "Bearer " + key}, false, 400,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "invalid_request", "gatehouse.auth.reason": "malformed"}},
		{"unknown key: a miss and a load that finds nothing", "/read", []string{"Bearer " + unknown}, false, 401,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "invalid_token", "gatehouse.auth.reason": "unknown"}},
		{"unknown key again: a negative hit", "/read", []string{"Bearer " + unknown}, false, 401,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "invalid_token", "gatehouse.auth.reason": "unknown"}},
		{"bad checksum: no lookup", "/read", []string{"Bearer " + badChecksum(key)}, false, 401,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "invalid_token", "gatehouse.auth.reason": "bad_checksum"}},
		{"revoked key: the tenant of the found record", "/read", []string{"Bearer " + revoked}, false, 401,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "invalid_token", "gatehouse.auth.reason": "revoked", "gatehouse.tenant.id": "org_2"}},
		{"missing scope: authenticated, then refused", "/write", []string{"Bearer " + key}, false, 403,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "insufficient_scope", "gatehouse.auth.kind": "api_key", "gatehouse.tenant.id": "org_1"}},
		{"cached key while the store is down: a hit", "/read", []string{"Bearer " + key}, true, 200,
			map[string]string{"gatehouse.auth.outcome": "authenticated", "gatehouse.auth.kind": "api_key", "gatehouse.tenant.id": "org_1"}},
		{"new key while the store is down: a failed load", "/read", []string{"Bearer " + whileDown}, true, 503,
			map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "unavailable", "gatehouse.auth.reason": "backend"}},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			r.store.setDown(row.storeDown)
			require.Equal(t, row.status, r.get(t, row.path, row.auth...))
			spans := r.spans.Ended()
			require.Len(t, spans, i+1)
			assert.Equal(t, row.span, attrs(spans[i].Attributes()))
		})
	}
	r.store.setDown(false)

	rm := r.collect(t)
	t.Run("decisions by outcome, kind, code and reason", func(t *testing.T) {
		assert.Equal(t, map[string]int64{
			"gatehouse.auth.kind=api_key,gatehouse.auth.outcome=authenticated":                                    4,
			"gatehouse.auth.code=unauthenticated,gatehouse.auth.outcome=refused,gatehouse.auth.reason=missing":    1,
			"gatehouse.auth.code=invalid_request,gatehouse.auth.outcome=refused,gatehouse.auth.reason=malformed":  1,
			"gatehouse.auth.code=invalid_token,gatehouse.auth.outcome=refused,gatehouse.auth.reason=unknown":      2,
			"gatehouse.auth.code=invalid_token,gatehouse.auth.outcome=refused,gatehouse.auth.reason=bad_checksum": 1,
			"gatehouse.auth.code=invalid_token,gatehouse.auth.outcome=refused,gatehouse.auth.reason=revoked":      1,
			"gatehouse.auth.code=insufficient_scope,gatehouse.auth.outcome=refused":                               1,
			"gatehouse.auth.code=unavailable,gatehouse.auth.outcome=refused,gatehouse.auth.reason=backend":        1,
		}, sums(t, find(t, rm, otelauth.MetricDecisions)))
	})
	t.Run("cache lookups by outcome", func(t *testing.T) {
		m := find(t, rm, otelauth.MetricCacheLookups)
		assert.Equal(t, "{lookup}", m.Unit)
		got := sums(t, m)
		assert.Equal(t, map[string]int64{
			"gatehouse.cache.outcome=hit":          3, // second use, missing scope, while down
			"gatehouse.cache.outcome=negative_hit": 1,
			"gatehouse.cache.outcome=miss":         4, // first use, unknown, revoked, while down
		}, got)
		ratio := float64(got["gatehouse.cache.outcome=hit"]) /
			float64(got["gatehouse.cache.outcome=hit"]+got["gatehouse.cache.outcome=negative_hit"]+got["gatehouse.cache.outcome=miss"])
		assert.InDelta(t, 3.0/8, ratio, 1e-9)
	})
	t.Run("store load durations by result", func(t *testing.T) {
		m := find(t, rm, otelauth.MetricStoreLoadDuration)
		assert.Equal(t, "s", m.Unit)
		points := histogram(t, m)
		counts := map[string]uint64{}
		for k, p := range points {
			counts[k] = p.Count
			assert.Greater(t, p.Sum, 0.0, k)
			assert.Less(t, p.Sum, 10.0, "%s: seconds, not nanoseconds", k)
			assert.Equal(t, 0.0001, p.Bounds[0], "%s: buckets sized for store loads", k)
		}
		assert.Equal(t, map[string]uint64{
			"gatehouse.store.result=found":     2, // first use, revoked
			"gatehouse.store.result=not_found": 1,
			"gatehouse.store.result=error":     1,
		}, counts)
	})
	t.Run("no credential and no internal error recorded", func(t *testing.T) {
		for _, s := range recordedStrings(t, r.providers) {
			for _, secret := range secrets {
				assert.NotContains(t, s, secret)
				assert.NotContains(t, s, strings.TrimPrefix(secret, "cpx_live."))
			}
			assert.NotContains(t, s, "password")
		}
	})
}

// TestWithoutSpan checks that a request without a recording span is still
// counted, and that nothing is recorded on a span that does not sample.
func TestWithoutSpan(t *testing.T) {
	p := newProviders(t)
	obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	obs.Authenticated(req, &gatehouse.Principal{ID: "user_1", Kind: gatehouse.KindJWT, TenantID: "org_1"})
	obs.Refused(req, gatehouse.Invalid(gatehouse.ReasonExpired, "expired"))
	assert.Empty(t, p.spans.Ended())
	assert.Equal(t, map[string]int64{
		"gatehouse.auth.kind=jwt,gatehouse.auth.outcome=authenticated":                                   1,
		"gatehouse.auth.code=invalid_token,gatehouse.auth.outcome=refused,gatehouse.auth.reason=expired": 1,
	}, sums(t, find(t, p.collect(t), otelauth.MetricDecisions)))
}

// TestDecisions calls the Observer directly with the decisions the built-in
// authenticators never make: kinds and reasons of an application's own,
// errors that are not a gatehouse.Error, and internal causes.
func TestDecisions(t *testing.T) {
	cause := errors.New("pq: password authentication failed")
	rows := []struct {
		name      string
		principal *gatehouse.Principal // Authenticated when set, else Refused
		inContext *gatehouse.Principal // in the request's context
		err       error
		metric    string
		span      map[string]string
	}{
		{
			name:      "a kind of the application's own",
			principal: &gatehouse.Principal{ID: "svc", Kind: "mtls"},
			metric:    "gatehouse.auth.kind=mtls,gatehouse.auth.outcome=authenticated",
			span:      map[string]string{"gatehouse.auth.outcome": "authenticated", "gatehouse.auth.kind": "mtls"},
		},
		{
			name:      "a principal without a kind",
			principal: &gatehouse.Principal{ID: "svc", TenantID: "org_1"},
			metric:    "gatehouse.auth.kind=,gatehouse.auth.outcome=authenticated",
			span:      map[string]string{"gatehouse.auth.outcome": "authenticated", "gatehouse.tenant.id": "org_1"},
		},
		{
			name:   "a reason of the application's own",
			err:    &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: "network_not_allowed", TenantID: "org_9"},
			metric: "gatehouse.auth.code=forbidden,gatehouse.auth.outcome=refused,gatehouse.auth.reason=network_not_allowed",
			span: map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "forbidden",
				"gatehouse.auth.reason": "network_not_allowed", "gatehouse.tenant.id": "org_9"},
		},
		{
			name:   "a rate limit: no reason",
			err:    &gatehouse.RateLimitError{RetryAfter: time.Second},
			metric: "gatehouse.auth.code=rate_limited,gatehouse.auth.outcome=refused",
			span:   map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "rate_limited"},
		},
		{
			name:      "a per-key rate limit: the principal is known",
			inContext: &gatehouse.Principal{ID: "user_1", Kind: gatehouse.KindSession, TenantID: "org_1"},
			err:       &gatehouse.RateLimitError{RetryAfter: time.Second},
			metric:    "gatehouse.auth.code=rate_limited,gatehouse.auth.outcome=refused",
			span: map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "rate_limited",
				"gatehouse.auth.kind": "session", "gatehouse.tenant.id": "org_1"},
		},
		{
			name:   "a backend failure: the cause stays out",
			err:    gatehouse.Unavailable(cause),
			metric: "gatehouse.auth.code=unavailable,gatehouse.auth.outcome=refused,gatehouse.auth.reason=backend",
			span:   map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "unavailable", "gatehouse.auth.reason": "backend"},
		},
		{
			name:   "a bare error: unavailable",
			err:    cause,
			metric: "gatehouse.auth.code=unavailable,gatehouse.auth.outcome=refused",
			span:   map[string]string{"gatehouse.auth.outcome": "refused", "gatehouse.auth.code": "unavailable"},
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			p := newProviders(t)
			obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
			require.NoError(t, err)
			ctx, span := p.traces.Tracer("test").Start(context.Background(), "request")
			if row.inContext != nil {
				ctx = gatehouse.NewContext(ctx, row.inContext)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
			if row.principal != nil {
				obs.Authenticated(req, row.principal)
			} else {
				obs.Refused(req, row.err)
			}
			span.End()

			assert.Equal(t, map[string]int64{row.metric: 1}, sums(t, find(t, p.collect(t), otelauth.MetricDecisions)))
			spans := p.spans.Ended()
			require.Len(t, spans, 1)
			assert.Equal(t, row.span, attrs(spans[0].Attributes()))
			for _, s := range recordedStrings(t, p) {
				assert.NotContains(t, s, "password")
			}
		})
	}
}

// TestStoreLoad checks how each load result is recorded.
func TestStoreLoad(t *testing.T) {
	rows := []struct {
		name    string
		elapsed time.Duration
		err     error
		want    string
	}{
		{"found", 300 * time.Microsecond, nil, "gatehouse.store.result=found"},
		{"not found is not an error", time.Millisecond, store.ErrNotFound, "gatehouse.store.result=not_found"},
		{"not found, wrapped", time.Millisecond, errors.Join(errors.New("sql: no rows"), store.ErrNotFound), "gatehouse.store.result=not_found"},
		{"an error", 2 * time.Second, errors.New("connection refused"), "gatehouse.store.result=error"},
		{"a negative duration counts as zero", -time.Second, nil, "gatehouse.store.result=found"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			p := newProviders(t)
			obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
			require.NoError(t, err)
			obs.StoreLoad(row.elapsed, row.err)
			points := histogram(t, find(t, p.collect(t), otelauth.MetricStoreLoadDuration))
			require.Len(t, points, 1)
			require.Contains(t, points, row.want)
			assert.EqualValues(t, 1, points[row.want].Count)
			assert.InDelta(t, max(row.elapsed, 0).Seconds(), points[row.want].Sum, 1e-12)
		})
	}
}

// TestCacheLookup checks each outcome, and that an outcome the cache
// package might add later is ignored rather than mislabelled.
func TestCacheLookup(t *testing.T) {
	p := newProviders(t)
	obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
	require.NoError(t, err)
	for _, oc := range []store.CacheOutcome{store.CacheHit, store.CacheHit, store.CacheNegativeHit, store.CacheMiss, store.CacheOutcome(9)} {
		obs.CacheLookup(oc)
	}
	assert.Equal(t, map[string]int64{
		"gatehouse.cache.outcome=hit":          2,
		"gatehouse.cache.outcome=negative_hit": 1,
		"gatehouse.cache.outcome=miss":         1,
	}, sums(t, find(t, p.collect(t), otelauth.MetricCacheLookups)))
}

// TestFeed checks the outage counter, the gauge of feeds down (an
// UpDownCounter: two feeds may share an Observer) and the outage
// durations; the feed's error is never recorded.
func TestFeed(t *testing.T) {
	p := newProviders(t)
	obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
	require.NoError(t, err)
	down := func() int64 {
		return sums(t, find(t, p.collect(t), otelauth.MetricFeedDown))[""]
	}

	obs.FeedDown(errors.New(storeSecret))
	obs.FeedDown(errors.New(storeSecret)) // a second feed
	assert.EqualValues(t, 2, down())
	obs.FeedUp(90 * time.Second)
	assert.EqualValues(t, 1, down())
	obs.FeedUp(2 * time.Second)
	assert.EqualValues(t, 0, down())
	obs.FeedDown(nil)

	rm := p.collect(t)
	assert.Equal(t, map[string]int64{"": 3}, sums(t, find(t, rm, otelauth.MetricFeedOutages)))
	assert.Equal(t, map[string]int64{"": 1}, sums(t, find(t, rm, otelauth.MetricFeedDown)))
	outages := histogram(t, find(t, rm, otelauth.MetricFeedOutageDuration))
	require.Contains(t, outages, "")
	assert.EqualValues(t, 2, outages[""].Count)
	assert.InDelta(t, 92.0, outages[""].Sum, 1e-9)
	for _, s := range recordedStrings(t, p) {
		assert.NotContains(t, s, "password")
	}
}

// TestNew checks the instruments and their metadata, the global provider
// by default, and the error of a provider that refuses an instrument.
func TestNew(t *testing.T) {
	t.Run("instruments", func(t *testing.T) {
		p := newProviders(t)
		obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
		require.NoError(t, err)
		obs.Authenticated(httptest.NewRequest(http.MethodGet, "/", nil), &gatehouse.Principal{Kind: gatehouse.KindAPIKey})
		obs.CacheLookup(store.CacheHit)
		obs.StoreLoad(time.Millisecond, nil)
		obs.FeedDown(nil)
		obs.FeedUp(time.Second)
		rm := p.collect(t)
		for _, want := range []struct{ name, unit string }{
			{otelauth.MetricDecisions, "{decision}"},
			{otelauth.MetricCacheLookups, "{lookup}"},
			{otelauth.MetricStoreLoadDuration, "s"},
			{otelauth.MetricFeedOutages, "{outage}"},
			{otelauth.MetricFeedDown, "{feed}"},
			{otelauth.MetricFeedOutageDuration, "s"},
		} {
			m := find(t, rm, want.name)
			assert.Equal(t, want.unit, m.Unit, want.name)
			assert.NotEmpty(t, m.Description, want.name)
		}
		sum, ok := find(t, rm, otelauth.MetricFeedDown).Data.(metricdata.Sum[int64])
		require.True(t, ok)
		assert.False(t, sum.IsMonotonic, "feeds down goes up and down")
	})
	t.Run("global provider by default", func(t *testing.T) {
		obs, err := otelauth.New(otelauth.Config{})
		require.NoError(t, err)
		obs.CacheLookup(store.CacheHit) // the global no-op until one is set
	})
	t.Run("a provider that refuses an instrument", func(t *testing.T) {
		_, err := otelauth.New(otelauth.Config{MeterProvider: refusingProvider{}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "otelauth: creating instruments")
	})
}

// refusingProvider's meters refuse to create histograms.
type refusingProvider struct{ noop.MeterProvider }

func (refusingProvider) Meter(string, ...metric.MeterOption) metric.Meter { return refusingMeter{} }

type refusingMeter struct{ noop.Meter }

func (refusingMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return nil, errors.New("histograms are not supported")
}

// TestCodeIsClassify checks that the code recorded for a refusal is the
// one the error handler answers with (middleware.Classify), whatever the
// error's shape: the Observer classifies a bare *gatehouse.Error by its
// sentinel, which must not change the answer.
func TestCodeIsClassify(t *testing.T) {
	rows := []struct {
		name string
		err  error
	}{
		{"invalid token", gatehouse.Invalid(gatehouse.ReasonUnknown, "x")},
		{"malformed", gatehouse.Malformed("x")},
		{"no credentials", &gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonMissing}},
		{"forbidden", &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonMalformed}},
		{"unavailable with a cause", gatehouse.Unavailable(errors.New("down"))},
		{"a cause that wraps an earlier sentinel", &gatehouse.Error{Err: gatehouse.ErrInvalidToken,
			Reason: gatehouse.ReasonUnsupported, Cause: fmt.Errorf("x: %w", gatehouse.ErrInvalidRequest)}},
		{"an unsupported scheme", &gatehouse.Error{Err: gatehouse.ErrNoCredentials,
			Reason: gatehouse.ReasonUnsupported, Cause: middleware.ErrUnsupportedScheme}},
		{"a wrapped gatehouse.Error", fmt.Errorf("verify: %w", gatehouse.Invalid(gatehouse.ReasonExpired, "x"))},
		{"joined with an earlier sentinel", errors.Join(gatehouse.Invalid(gatehouse.ReasonExpired, "x"), gatehouse.ErrInvalidRequest)},
		{"a gatehouse.Error without a sentinel", &gatehouse.Error{Reason: gatehouse.ReasonBackend}},
		{"a scope error", &gatehouse.ScopeError{Required: []string{"write"}}},
		{"a rate limit", &gatehouse.RateLimitError{RetryAfter: time.Second}},
		{"a bare sentinel", gatehouse.ErrInvalidToken},
		{"an unknown error", errors.New("boom")},
	}
	p := newProviders(t)
	obs, err := otelauth.New(otelauth.Config{MeterProvider: p.meters})
	require.NoError(t, err)
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ctx, span := p.traces.Tracer("test").Start(context.Background(), "request")
			obs.Refused(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), row.err)
			span.End()
			spans := p.spans.Ended()
			require.Len(t, spans, i+1)
			_, want := middleware.Classify(row.err)
			assert.Equal(t, want, attrs(spans[i].Attributes())["gatehouse.auth.code"])
		})
	}
}
