// Package ratelimit limits the rate of requests: per client address before
// authentication, so that floods of bad credentials never reach the store;
// per principal, API key or tenant after it, each key with its own limit if
// its record says so; and login failures per account and per address.
//
// A [Policy] is a rate (Limit units per Window) and a Burst, with a name
// that identifies it in response headers. A [Limiter] spends units of a
// bucket named by a [Key] under a policy and returns a [Decision] (allowed,
// limit, remaining, reset, retry after); a request may cost more than one
// unit, a cost of 0 only looks, and a negative cost gives units back.
// [Memory] keeps buckets in this process: sharded (one mutex per shard),
// bounded by an LRU over keys, with no allocation for a decision on a warm
// key and an injectable clock. Package redisrate shares buckets between
// instances through Redis.
//
// Both use the generic cell rate algorithm (GCRA) rather than
// golang.org/x/time/rate: a bucket is one int64 (its theoretical arrival
// time), so a million buckets cost little and an LRU entry needs no lock of
// its own; remaining units, the time until the bucket is full and the
// retry delay fall out of that one number exactly, for any cost; refunds
// are a subtraction; and the same few lines run as a Redis script, so a
// policy means the same in memory and in Redis. Units refill continuously:
// over any span d a key is allowed at most Burst + d*Limit/Window units.
//
// [Middleware] puts a limiter in front of a handler, keyed by a [KeyFunc]:
// [ClientIP.Key] (the client address through trusted proxies only),
// [ByRemoteAddr], [ByPrincipal], [ByKeyID], [ByTenant], [ByRoute], or
// [FirstOf] them. [MetadataPolicy] reads a principal's own limit from its
// Metadata["rate_limit"] ("100/1m", "1000/1h;burst=50"). [CountFailures]
// and [CountFailuresStrict] count only requests whose response is a
// failure (401, 403), for login routes and for callers who fail
// authentication. [Throttle] counts failures without HTTP, for handlers
// that know the outcome themselves (a login handler: "record a failure for
// this account", "is this account blocked?").
//
// Usage:
//
//	mem, _ := ratelimit.NewMemory(ratelimit.MemoryConfig{})
//	ip := ratelimit.MustClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
//
//	// Before authentication: 20 failed attempts per address, then 1 a minute.
//	perIP := ratelimit.MustNew(mem, ratelimit.MustPolicy("auth-failures", 20, 20*time.Minute, 0),
//		ip.Key, ratelimit.Config{Count: ratelimit.CountFailures})
//	// After it: 100 requests a minute per key, or the key's own rate_limit.
//	perKey := ratelimit.MustNew(mem, ratelimit.MustPolicy("default", 100, time.Minute, 0),
//		ratelimit.ByKeyID, ratelimit.Config{Policy: ratelimit.MetadataPolicy(ratelimit.MetadataConfig{})})
//
//	mux.Handle("/api/", perIP.Handler(auth.Handler(perKey.Handler(api))))
//
// # Responses
//
// A refused request is answered by Config.ErrorHandler with a
// *gatehouse.RateLimitError. The default, [WriteError], writes what the
// middleware package's default ProblemWriter writes (a ProblemWriter's
// WriteError can be used instead, to share its realm and problem types):
// 429, application/problem+json with code "rate_limited", and Retry-After
// in whole seconds, with a random delay of up to Config.MaxJitter (1s by
// default) added so that refused clients do not all come back at once. It
// also carries the fields of draft-ietf-httpapi-ratelimit-headers (-10,
// -11), which allowed responses carry too when Config.HeadersOnAllowed is
// set:
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=0;t=1
//	Retry-After: 2
//
// q is the limit, w the window in seconds, r the remaining units, t the
// seconds until the bucket is full again (allowed) or until the request
// would be allowed (refused); Retry-After is never earlier than t. A burst
// other than the limit is shown as ";gatehouse-burst=N". With
// Config.PartitionKeySecret (at least 16 bytes) both fields carry pk, a keyed digest
// (HMAC-SHA-256, 16 bytes, as a structured-field byte sequence) of the
// bucket's key, never the key itself.
//
// # When the limiter cannot answer
//
// The middleware fails closed: a limiter error is a 503
// (gatehouse.ErrUnavailable), never a pass, and so is a request that
// cannot be keyed (a route without a pattern under [ByRoute], a peer that
// is not an IP address). The principal key functions refuse a request
// without a principal with 401. A shared limiter may instead answer from a
// local fallback while its backend is down; package redisrate makes that
// a configured choice and logs it.
//
// # Client addresses
//
// Behind reverse proxies, list them in ClientIPConfig.TrustedProxies. The
// X-Forwarded-For (or Forwarded) header is read only on connections from
// them, walked from the right, skipping trusted proxies; the first other
// address is the client. A header from anyone else is ignored: it is
// trivially forged. IPv6 clients are keyed by their /64 by default.
//
// # Bounded state
//
// Buckets are keyed by IDs and addresses, never by credentials; a key
// value longer than [MaxKeyValue] (an account name typed into a form) is
// replaced by its digest. [Memory] keeps at most MemoryConfig.MaxKeys
// buckets and drops the least recently used: a dropped bucket starts full
// again, so a flood of new keys can at worst reset the counts of keys idle
// for longer than the flood took. Policy text from key records is parsed
// strictly ([ParsePolicy]) and a bounded number of parsed policies is
// cached.
package ratelimit
