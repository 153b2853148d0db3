package ratelimit

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-go/gatehouse"
)

// MetadataKey is the Principal.Metadata entry that carries a principal's own
// limit, in the form [ParsePolicy] reads: "100/1m", "1000/1h;burst=50". An
// API key record's Metadata is copied to its principal, so setting this
// entry on a key gives that key its own limit.
const MetadataKey = "rate_limit"

// MetadataConfig configures [MetadataPolicy]. The zero value is usable.
type MetadataConfig struct {
	// Key is the Metadata entry to read. Default [MetadataKey].
	Key string
	// MaxCached bounds how many distinct entry values are kept parsed.
	// Values past the bound are parsed on every request. Default 1,024.
	MaxCached int
	// Logger receives a warning the first time an entry cannot be parsed.
	// Default slog.Default().
	Logger *slog.Logger
}

// MetadataPolicy returns a [PolicyFunc] that gives a principal the limit in
// its Metadata[cfg.Key], under the name of the middleware's policy, so that
// the principal's bucket is the same one whatever its limit. Requests
// without a principal, or whose principal has no such entry, get the
// middleware's policy. An entry that does not parse is logged once and
// ignored (the middleware's policy applies): a typo in a key record must
// neither lock the key out nor lift its limit.
//
// Each distinct entry is parsed once and cached, so a request with a
// cached entry does not allocate.
func MetadataPolicy(cfg MetadataConfig) PolicyFunc {
	if cfg.Key == "" {
		cfg.Key = MetadataKey
	}
	if cfg.MaxCached <= 0 {
		cfg.MaxCached = 1024
	}
	c := &policyCache{max: int64(cfg.MaxCached), log: cfg.Logger}
	return func(r *http.Request, def *Policy) *Policy {
		p, ok := gatehouse.FromContext(r.Context())
		if !ok {
			return nil
		}
		v, ok := p.Metadata[cfg.Key]
		if !ok || def == nil {
			return nil
		}
		return c.get(def.name, v)
	}
}

// policyCache maps (name, text) to a parsed policy, or to nil for text
// that does not parse. It only grows, up to max entries.
type policyCache struct {
	m   sync.Map // policyText -> *Policy
	n   atomic.Int64
	max int64
	log *slog.Logger
}

type policyText struct{ name, text string }

func (c *policyCache) get(name, text string) *Policy {
	k := policyText{name, text}
	if v, ok := c.m.Load(k); ok {
		return v.(*Policy)
	}
	p, err := ParsePolicy(name, text)
	if c.n.Load() >= c.max {
		return p
	}
	if _, loaded := c.m.LoadOrStore(k, p); !loaded {
		c.n.Add(1)
		if err != nil {
			l := c.log
			if l == nil {
				l = slog.Default()
			}
			l.Warn("ratelimit: a principal's rate limit entry does not parse; using the default policy",
				slog.String("policy", name), slog.String("error", err.Error()))
		}
	}
	return p
}
