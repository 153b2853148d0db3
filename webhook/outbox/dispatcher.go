package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/webhook"
)

// Config holds the optional settings of a [Dispatcher]. The zero value is
// usable.
type Config struct {
	// Client sends the requests. Its redirects are never followed (a 3xx
	// is a failure). Default: an http.Client with Timeout.
	Client *http.Client
	// Timeout bounds one attempt, answer included. Default 10 seconds.
	Timeout time.Duration
	// Rate and Burst pace each endpoint with its own rate.Limiter.
	// Default 10 per second, burst 10.
	Rate  rate.Limit
	Burst int
	// BaseBackoff is the wait after the first failed attempt; each
	// further failure doubles it, up to MaxBackoff, with jitter over its
	// upper half. Default 5 seconds and 1 hour.
	BaseBackoff, MaxBackoff time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// marked failed. Default 15 (about 8 hours with the default backoff).
	MaxAttempts int
	// DisableAfter and DisableAfterFailures say when an endpoint is
	// disabled: once it has been failing without a success for at least
	// DisableAfter (since the first failed attempt of the run) and at
	// least DisableAfterFailures attempts in a row have failed. A short
	// outage never disables it, however many deliveries are queued.
	// Defaults 24 hours and 20.
	DisableAfter         time.Duration
	DisableAfterFailures int
	// Batch is how many deliveries one pass claims. Default 20.
	Batch int
	// Lease is how long a claimed delivery is this dispatcher's: another
	// process claims it again after that (at-least-once after a crash).
	// It must cover a pass: Batch attempts of Timeout each. Default
	// Batch*Timeout + 30 s.
	Lease time.Duration
	// Interval is how often Run looks for due deliveries when nothing
	// woke it. Default 1 second.
	Interval time.Duration
	// Retention is how long delivered and failed deliveries stay in the
	// outbox (for `gatehouse webhooks deliveries`) before a pass removes
	// them, at most once an hour. Default 7 days.
	Retention time.Duration
	// Logger receives gatehouse.webhook.* audit events. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; Sleep waits for d or until ctx ends (for the
	// rate limit). Defaults: time.Now and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for the backoff jitter. Default
	// math/rand/v2.
	Jitter func() float64
}

// Dispatcher sends the outbox's due deliveries. It is safe for concurrent
// use; several dispatchers, in one process or many, may share a store.
type Dispatcher struct {
	store store.WebhookStore
	cfg   Config
	log   *slog.Logger
	wake  chan struct{}

	mu        sync.Mutex
	limiters  map[string]*rate.Limiter // by endpoint ID
	lastPrune time.Time
	closed    bool // set by Close, before it waits for running

	stop    chan struct{}
	running sync.WaitGroup
}

// NewDispatcher returns a dispatcher of the deliveries in s. It starts
// nothing: call Run.
func NewDispatcher(s store.WebhookStore, cfg Config) (*Dispatcher, error) {
	if s == nil {
		return nil, errors.New("outbox: nil store")
	}
	if cfg.Timeout < 0 || cfg.Rate < 0 || cfg.Burst < 0 || cfg.MaxAttempts < 0 || cfg.DisableAfter < 0 || cfg.DisableAfterFailures < 0 || cfg.Batch < 0 ||
		cfg.BaseBackoff < 0 || cfg.MaxBackoff < 0 || cfg.Lease < 0 || cfg.Interval < 0 || cfg.Retention < 0 {
		return nil, errors.New("outbox: negative setting")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	client := *cfg.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &client
	if cfg.Rate == 0 {
		cfg.Rate = 10
	}
	if cfg.Burst == 0 {
		cfg.Burst = 10
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 15
	}
	if cfg.DisableAfter == 0 {
		cfg.DisableAfter = 24 * time.Hour
	}
	if cfg.DisableAfterFailures == 0 {
		cfg.DisableAfterFailures = 20
	}
	if cfg.Batch == 0 {
		cfg.Batch = 20
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Duration(cfg.Batch)*cfg.Timeout + 30*time.Second
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Retention == 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Jitter == nil {
		cfg.Jitter = defaultJitter
	}
	return &Dispatcher{store: s, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1),
		limiters: map[string]*rate.Limiter{}, stop: make(chan struct{})}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake makes Run look for due deliveries now instead of at its next
// interval. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends or Close is called: a pass at once, then
// one whenever woken or every Interval, and at once again after a pass
// that found work. Errors are logged. It blocks; run it in a goroutine
// you own.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.running.Add(1)
	d.mu.Unlock()
	defer d.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.LogAttrs(ctx, slog.LevelError, "gatehouse.webhook.pass_failed", slog.String("error", err.Error()))
		}
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// Close stops Run and waits for it to return. The deliveries Run claimed
// and did not attempt, or whose attempt Close interrupted, are released
// (no attempt counted), so that the next dispatcher sends them at once
// rather than when their lease ends. It is idempotent.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	d.running.Wait()
	return nil
}

// RunOnce claims the due deliveries (up to Batch), sends them, one
// goroutine per endpoint and in order within each, and returns how many
// it attempted. Once an hour it also removes the deliveries done for
// longer than Retention.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.prune(ctx)
	ds, err := d.store.ClaimWebhookDeliveries(ctx, d.cfg.Now(), d.cfg.Lease, d.cfg.Batch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	groups := map[string][]*store.WebhookDelivery{}
	var order []string
	for _, x := range ds {
		if _, ok := groups[x.EndpointID]; !ok {
			order = append(order, x.EndpointID)
		}
		groups[x.EndpointID] = append(groups[x.EndpointID], x)
	}
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		go func(id string, group []*store.WebhookDelivery) {
			defer wg.Done()
			d.sendGroup(ctx, id, group)
		}(id, groups[id])
	}
	wg.Wait()
	return len(ds), nil
}

// sendGroup sends one endpoint's deliveries in order, and stops when the
// endpoint is disabled or ctx ends; it releases the leases of the
// deliveries it did not attempt, so that they are claimed again at once
// (after a restart too) rather than when their lease ends.
func (d *Dispatcher) sendGroup(ctx context.Context, endpointID string, group []*store.WebhookDelivery) {
	e, err := d.store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			if ctx.Err() == nil {
				d.log.LogAttrs(ctx, slog.LevelError, "gatehouse.webhook.pass_failed", slog.String("endpoint_id", endpointID), slog.String("error", err.Error()))
			}
			d.release(ctx, group)
		}
		return
	}
	lim := d.limiter(endpointID)
	for i, x := range group {
		if ctx.Err() != nil {
			d.release(ctx, group[i:])
			return
		}
		if wait := lim.ReserveN(d.cfg.Now(), 1).DelayFrom(d.cfg.Now()); wait > 0 {
			if d.cfg.Sleep(ctx, wait) != nil {
				d.release(ctx, group[i:])
				return
			}
		}
		if stop := d.attempt(ctx, e, x); stop {
			d.release(ctx, group[i+1:])
			return
		}
	}
}

// release gives up the leases of deliveries this dispatcher claimed and
// will not attempt, even when ctx has ended (within a bound).
func (d *Dispatcher) release(ctx context.Context, xs []*store.WebhookDelivery) {
	if len(xs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	for _, x := range xs {
		err := d.store.ReleaseWebhookDelivery(ctx, x.ID, x.LeaseToken)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			d.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.webhook.release_failed", slog.String("delivery_id", x.ID),
				slog.String("error", err.Error()))
		}
	}
}

// releaseTimeout bounds the release of a stopping dispatcher's leases.
const releaseTimeout = 5 * time.Second

// prune removes old finished deliveries, at most once an hour.
func (d *Dispatcher) prune(ctx context.Context) {
	now := d.cfg.Now()
	d.mu.Lock()
	due := d.lastPrune.IsZero() || now.Sub(d.lastPrune) >= time.Hour
	if due {
		d.lastPrune = now
	}
	d.mu.Unlock()
	if !due {
		return
	}
	if n, err := d.store.PruneWebhookDeliveries(ctx, now.Add(-d.cfg.Retention)); err != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.webhook.prune_failed", slog.String("error", err.Error()))
	} else if n > 0 {
		d.log.LogAttrs(ctx, slog.LevelDebug, "gatehouse.webhook.pruned", slog.Int("deliveries", n))
	}
}

func (d *Dispatcher) limiter(id string) *rate.Limiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.limiters[id]
	if !ok {
		l = rate.NewLimiter(d.cfg.Rate, d.cfg.Burst)
		d.limiters[id] = l
	}
	return l
}

// attempt sends x to e once and records the outcome; it reports whether
// the endpoint's other deliveries must wait (it is now disabled, or the
// dispatcher is stopping).
func (d *Dispatcher) attempt(ctx context.Context, e *store.WebhookEndpoint, x *store.WebhookDelivery) bool {
	now := d.cfg.Now()
	status, reason := d.send(ctx, e, x, now)
	if ctx.Err() != nil {
		// Shutting down mid-attempt: no attempt is counted, and the
		// lease is released so that the delivery is sent again (under
		// the same webhook-id) as soon as a dispatcher runs.
		d.release(ctx, []*store.WebhookDelivery{x})
		return true
	}
	a := store.WebhookAttempt{DeliveryID: x.ID, LeaseToken: x.LeaseToken, At: d.cfg.Now(), Status: status, Error: reason,
		Delivered: reason == ""}
	if !a.Delivered && x.Attempts+1 < d.cfg.MaxAttempts && reason != errURL {
		a.NextAt = a.At.Add(backoff(x.Attempts+1, d.cfg.BaseBackoff, d.cfg.MaxBackoff, d.cfg.Jitter))
	}
	failures, err := d.store.RecordWebhookAttempt(ctx, a)
	if err != nil {
		// A lost lease (another process took it over) or a store failure:
		// the delivery is sent again, which receivers deduplicate.
		d.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.webhook.record_failed", slog.String("delivery_id", x.ID),
			slog.String("error", err.Error()))
		return false
	}
	attrs := []slog.Attr{slog.String("endpoint_id", e.ID), slog.String("delivery_id", x.ID), slog.String("event_id", x.EventID),
		slog.String("event", x.EventType), slog.Int("attempt", x.Attempts+1)}
	if a.Delivered {
		d.log.LogAttrs(ctx, slog.LevelDebug, "gatehouse.webhook.delivered", attrs...)
		return false
	}
	attrs = append(attrs, slog.Int("status", status), slog.String("reason", reason))
	if a.NextAt.IsZero() {
		d.log.LogAttrs(ctx, slog.LevelError, "gatehouse.webhook.failed", attrs...)
	} else {
		d.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.webhook.retry", append(attrs, slog.Time("next_at", a.NextAt))...)
	}
	if failures.Count < d.cfg.DisableAfterFailures || a.At.Sub(failures.Since) < d.cfg.DisableAfter {
		return false
	}
	why := strconv.Itoa(failures.Count) + " consecutive failed attempts since " + failures.Since.UTC().Format(time.RFC3339)
	first, err := d.store.DisableWebhookEndpoint(ctx, e.ID, d.cfg.Now(), why)
	if err != nil {
		d.log.LogAttrs(ctx, slog.LevelError, "gatehouse.webhook.disable_failed", slog.String("endpoint_id", e.ID), slog.String("error", err.Error()))
		return false
	}
	if first {
		d.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse.webhook.disabled", slog.String("endpoint_id", e.ID),
			slog.String("url", redact(e.URL)), slog.String("reason", why))
	}
	return true
}

const errURL = "endpoint URL refused (https, or http on loopback only)"

// send POSTs the signed delivery; reason is "" for a 2xx answer, else a
// short reason without secrets.
func (d *Dispatcher) send(ctx context.Context, e *store.WebhookEndpoint, x *store.WebhookDelivery, now time.Time) (status int, reason string) {
	if webhook.CheckURL(e.URL) != nil {
		return 0, errURL
	}
	signer, err := webhook.NewSigner(e.Secret)
	if err != nil {
		return 0, "endpoint secret is malformed"
	}
	rctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, e.URL, bytes.NewReader(x.Payload))
	if err != nil {
		return 0, "request could not be built"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks/1")
	signer.SetHeaders(req.Header, x.EventID, now, x.Payload)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		if rctx.Err() != nil {
			return 0, "timeout"
		}
		return 0, "connection failed"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// redact returns u without its query, which may hold a token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
