package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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
		if routesFile != "" {
			if o.routes, err = proxy.LoadRoutes(routesFile); err != nil {
				return o, err
			}
		}
	} else if routesFile != "" || pass {
		return o, fmt.Errorf("%w: --routes and --pass-credential need --upstream", errUsage)
	}
	var proxies []string
	for _, p := range strings.Split(trusted, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	ip, err := ratelimit.NewClientIP(ratelimit.ClientIPConfig{TrustedProxies: proxies})
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
	return func() { rdb.Close() }, nil
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
