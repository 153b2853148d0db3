package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/proxy"
	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
	"github.com/gatehouse-go/gatehouse/session"
)

// serveOptions checks serve's proxy and rate-limit flags.
func serveOptions(upstream, routesFile string, pass bool, rate, trusted string) (apiOptions, error) {
	var o apiOptions
	if upstream != "" {
		u, err := url.Parse(upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("%w: --upstream must be an http(s) URL with a host", errUsage)
		}
		o.upstream, o.passCredential = u, pass
	} else if pass {
		return o, fmt.Errorf("%w: --pass-credential needs --upstream", errUsage)
	}
	// The routes guard the upstream in proxy mode, and the verify endpoint
	// (forward auth) in both modes.
	if routesFile != "" {
		var err error
		if o.routes, err = proxy.LoadRoutes(routesFile); err != nil {
			return o, err
		}
	}
	for _, p := range strings.Split(trusted, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.trustedProxies = append(o.trustedProxies, p)
		}
	}
	ip, err := ratelimit.NewClientIP(ratelimit.ClientIPConfig{TrustedProxies: o.trustedProxies})
	if err != nil {
		return o, fmt.Errorf("%w: --trusted-proxies: %v", errUsage, err)
	}
	o.clientIP = ip
	if rate != "off" {
		if o.rate, err = ratelimit.ParsePolicy("per-address", rate); err != nil {
			return o, fmt.Errorf("%w: --rate-limit: %v", errUsage, err)
		}
	}
	if o.limiter, err = ratelimit.NewMemory(ratelimit.MemoryConfig{}); err != nil {
		return o, err
	}
	return o, nil
}

// useRedis keeps rate limits and login failure counts in the Redis at
// addr, failing closed when it cannot answer.
func (o *apiOptions) useRedis(addr, prefix string, log *slog.Logger) (func(), error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("--redis %s: %w", addr, err)
	}
	lim, err := redisrate.New(rdb, redisrate.Config{Prefix: prefix, Logger: log})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	o.limiter, o.shared = lim, true
	// Usage credits are counted in Redis too, shared by every instance.
	if o.credits, err = redisrate.NewCredits(rdb, redisrate.CreditsConfig{Prefix: prefix + "credits:"}); err != nil {
		rdb.Close()
		return nil, err
	}
	return func() { rdb.Close() }, nil
}

// keyRateLimit reads --key-rate-limit: a policy, or "off".
func (o *apiOptions) keyRateLimit(v string) error {
	if v == "off" {
		return nil
	}
	p, err := ratelimit.ParsePolicy("per-key", v)
	if err != nil {
		return fmt.Errorf("%w: --key-rate-limit: %v", errUsage, err)
	}
	o.keyRate = p
	return nil
}

// perKey returns the per-key limit that runs after authentication: each
// API key (or, for sessions and tokens, each principal) spends from its own
// bucket, in Redis when the limits are shared, under the key's own
// metadata rate_limit or the --key-rate-limit default. Without a default,
// only keys with a limit of their own are limited.
func (o *apiOptions) perKey(onError ratelimit.ErrorHandler, log *slog.Logger) (func(http.Handler) http.Handler, error) {
	def := o.keyRate
	if def == nil {
		// Only the name of the bucket's policy: requests whose principal
		// has no limit of its own skip the limiter below.
		def = ratelimit.MustPolicy("per-key", 1, time.Second, 0)
	}
	own := ratelimit.MetadataPolicy(ratelimit.MetadataConfig{Logger: log})
	rl, err := ratelimit.New(o.limiter, def, ratelimit.ByKeyID, ratelimit.Config{Policy: own, ErrorHandler: onError})
	if err != nil {
		return nil, err
	}
	if o.keyRate != nil {
		return rl.Handler, nil
	}
	return func(next http.Handler) http.Handler {
		limited := rl.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, ok := gatehouse.FromContext(r.Context()); ok && p.Metadata[ratelimit.MetadataKey] != "" {
				limited.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

func (o *apiOptions) limitsIn() string {
	if o.shared {
		return "redis"
	}
	return "memory"
}

// clientAddr is the client the login throttle and the audit log count by:
// the rate limiter's key, trusted-proxy aware and with IPv6 addresses
// reduced to their /64, so that one host cannot spread its attempts over
// 2^64 addresses.
func (o *apiOptions) clientAddr(r *http.Request) string {
	if k, err := o.clientIP.Key(r); err == nil {
		return k.Value()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// addressThrottle counts login failures per client address: nil (the
// session handler's in-memory default: 20 free failures, then doubling
// delays) unless the limits are shared, then in Redis with the same
// allowance, so that every instance sees one count per address.
func (o *apiOptions) addressThrottle() (session.Throttle, error) {
	if !o.shared {
		return nil, nil
	}
	t, err := ratelimit.NewThrottle(o.limiter, ratelimit.MustPolicy("login-address", 20, 15*time.Minute, 0), ratelimit.ThrottleConfig{})
	if err != nil {
		return nil, err
	}
	return session.NewLimiterThrottle(t, session.LimiterThrottleConfig{Scope: "login-address", RefundOnSuccess: true})
}

// accountThrottle counts login failures per account: in memory, with
// doubling delays, or in Redis when the limits are shared.
func (o *apiOptions) accountThrottle() (session.Throttle, error) {
	if !o.shared {
		return session.NewMemoryThrottle(session.ThrottleConfig{})
	}
	t, err := ratelimit.NewThrottle(o.limiter, ratelimit.MustPolicy("login", 5, 15*time.Minute, 0), ratelimit.ThrottleConfig{})
	if err != nil {
		return nil, err
	}
	hardCap, err := ratelimit.NewThrottle(o.limiter, ratelimit.MustPolicy("login-cap", 100, 30*24*time.Hour, 0), ratelimit.ThrottleConfig{})
	if err != nil {
		return nil, err
	}
	return session.NewLimiterThrottle(t, session.LimiterThrottleConfig{Scope: "login-account", HardCap: hardCap})
}

// redisLog is where go-redis's own messages go: the logger of the latest
// serve, at Debug. go-redis prints a line for every failed dial, once a
// second during an outage; redisrate already logs the outage once when it
// starts and once when it ends, so these are detail for debugging.
var (
	redisLog     atomic.Pointer[slog.Logger]
	redisLogOnce sync.Once
)

type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := redisLog.Load(); l != nil && l.Enabled(ctx, slog.LevelDebug) {
		l.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
	}
}

// routeRedisLogs sends go-redis's messages to log (a process-wide setting
// of go-redis, hence the latest serve's logger).
func routeRedisLogs(log *slog.Logger) {
	redisLog.Store(log)
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{}) })
}

// forwardAuth describes the verify endpoint for the startup log.
func (o *apiOptions) forwardAuth(addr string) string {
	if len(o.trustedProxies) == 0 {
		return "off (no --trusted-proxies)"
	}
	return fmt.Sprintf("http://%s%s for %s, %d routes", addr, proxy.DefaultVerifyPath, strings.Join(o.trustedProxies, ","), len(o.routes))
}

// resourceMetadata reads --resource and --authorization-server: the RFC
// 9728 document, with the scopes of the demo API, or of the routes in
// proxy mode.
func (o *apiOptions) resourceMetadata(resource string, authServers []string) error {
	if resource == "" {
		if len(authServers) > 0 {
			return fmt.Errorf("%w: --authorization-server needs --resource", errUsage)
		}
		return nil
	}
	sc := demoScopes
	if o.upstream != nil {
		sc = nil
		for _, r := range o.routes {
			for _, s := range r.Scopes {
				if !slices.Contains(sc, s) {
					sc = append(sc, s)
				}
			}
		}
		slices.Sort(sc)
	}
	u, path, h, err := middleware.NewResourceMetadata(middleware.ResourceMetadata{
		Resource: resource, AuthorizationServers: authServers, ScopesSupported: sc, ResourceName: "gatehouse serve"})
	if err != nil {
		return fmt.Errorf("%w: --resource: %v", errUsage, err)
	}
	o.metadataURL, o.metadataPath, o.metadata = u, path, h
	return nil
}
