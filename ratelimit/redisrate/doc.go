// Package redisrate is a [ratelimit.Limiter] whose buckets live in Redis,
// for services that run as several instances and must share their rate
// limits.
//
// Each decision is one round trip: a Lua script (EVALSHA, loaded on first
// use) that applies the generic cell rate algorithm to one key atomically,
// on the Redis server's clock. It is the arithmetic of ratelimit.Memory,
// so a policy means the same in both; several instances that share a
// Redis together allow no more than one limiter would.
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr:                  "127.0.0.1:6379",
//		ContextTimeoutEnabled: true, // required: lets Config.Timeout bound a decision
//	})
//	limiter, err := redisrate.New(rdb, redisrate.Config{
//		Prefix:    "myapp:rl:",
//		OnFailure: redisrate.FailOpen, // or FailClosed, the default
//	})
//	// ...
//	perKey := ratelimit.MustNew(limiter, policy, ratelimit.ByKeyID, ratelimit.Config{})
//
// # When Redis is down
//
// A decision that fails or takes longer than Config.Timeout follows
// Config.OnFailure. [FailClosed] (the default) returns an error wrapping
// gatehouse.ErrUnavailable, which the ratelimit middleware answers with
// 503: nothing passes uncounted. [FailOpen] answers from a local fallback
// limiter (an in-memory one unless Config.Fallback names another), so
// that each instance keeps limiting on its own, each with the full limit.
// For Config.RetryInterval after a failure Redis is not asked at all.
// The limiter logs one warning (log/slog, with the failure policy) when
// Redis stops answering and one notice when it answers again.
//
// # Tests
//
// The tests that need a Redis server read its address from
// GATEHOUSE_TEST_REDIS (host:port or a redis:// URL) and skip without it,
// unless CI=true. The test of an outage starts its own redis-server when
// one is on PATH and stops it mid-test.
package redisrate
