package observe

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// Slog logs events through log/slog:
//
//   - gatehouse.auth.ok (Debug): principal ID, kind, tenant, key ID;
//   - gatehouse.auth.refused (Info; Error for 503): status, code, reason,
//     key ID and tenant when the key was found, client IP, method, path,
//     and for a 503 the internal cause, which is never sent to the client;
//   - gatehouse.cache.lookup (Debug): the outcome;
//   - gatehouse.store.load (Debug; Warn when it failed or took longer than
//     SlowLoad): the duration and the error;
//   - gatehouse.feed.down (Warn) and gatehouse.feed.up (Info): the
//     invalidation feed was lost (with the error) and is back (with the
//     outage's duration), once each per outage.
//
// It never logs a credential.
type Slog struct {
	log      *slog.Logger
	clientIP func(*http.Request) string
	// SlowLoad is the store load duration from which loads are logged at
	// Warn. Default 100 ms.
	SlowLoad time.Duration
}

var (
	_ Observer           = (*Slog)(nil)
	_ store.FeedObserver = (*Slog)(nil)
)

// NewSlog logs to log (default slog.Default()). clientIP returns the
// client address of a request; nil means the host of r.RemoteAddr (behind
// a proxy, pass the rate limiter's trusted-proxy aware function).
func NewSlog(log *slog.Logger, clientIP func(*http.Request) string) *Slog {
	if log == nil {
		log = slog.Default()
	}
	if clientIP == nil {
		clientIP = remoteHost
	}
	return &Slog{log: log, clientIP: clientIP, SlowLoad: 100 * time.Millisecond}
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticated implements [middleware.Observer].
func (s *Slog) Authenticated(r *http.Request, p *gatehouse.Principal) {
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "gatehouse.auth.ok",
		slog.String("principal", p.ID), slog.String("kind", string(p.Kind)),
		slog.String("tenant_id", p.TenantID), slog.String("key_id", p.KeyID),
		slog.String("method", r.Method), slog.String("path", r.URL.Path))
}

// Refused implements [middleware.Observer].
func (s *Slog) Refused(r *http.Request, err error) {
	status, code := middleware.Classify(err)
	level := slog.LevelInfo
	if status == http.StatusServiceUnavailable {
		level = slog.LevelError
	}
	// Refusals are what a flood of bad credentials produces: build
	// nothing when the level is off.
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.Int("status", status),
		slog.String("code", code),
		slog.String("client_ip", s.clientIP(r)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge != nil {
		attrs = append(attrs, slog.String("reason", string(ge.Reason)))
		if ge.KeyID != "" {
			attrs = append(attrs, slog.String("key_id", ge.KeyID), slog.String("tenant_id", ge.TenantID))
		}
	}
	if level == slog.LevelError && ge != nil && ge.Cause != nil {
		// The cause is internal: logged for operators, never sent.
		attrs = append(attrs, slog.String("cause", ge.Cause.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "gatehouse.auth.refused", attrs...)
}

// CacheLookup implements [store.CacheObserver].
func (s *Slog) CacheLookup(o store.CacheOutcome) {
	ctx := context.Background()
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.LogAttrs(ctx, slog.LevelDebug, "gatehouse.cache.lookup", slog.String("outcome", o.String()))
	}
}

// StoreLoad implements [store.CacheObserver].
func (s *Slog) StoreLoad(elapsed time.Duration, err error) {
	ctx := context.Background()
	level := slog.LevelDebug
	failed := err != nil && !errors.Is(err, store.ErrNotFound)
	if failed || elapsed >= s.SlowLoad {
		level = slog.LevelWarn
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.Duration("elapsed", elapsed), slog.Bool("found", err == nil)}
	if failed {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, level, "gatehouse.store.load", attrs...)
}

// FeedDown implements [store.FeedObserver].
func (s *Slog) FeedDown(err error) {
	msg := "unknown"
	if err != nil {
		msg = err.Error()
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "gatehouse.feed.down",
		slog.String("error", msg),
		slog.String("effect", "cached records older than the revalidation span are checked against the store"))
}

// FeedUp implements [store.FeedObserver].
func (s *Slog) FeedUp(outage time.Duration) {
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "gatehouse.feed.up", slog.Duration("outage", outage))
}
