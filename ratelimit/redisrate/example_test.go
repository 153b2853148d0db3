package redisrate_test

import (
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/ratelimit"
	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
)

// Share a per-key limit between every instance of a service. (Compiled,
// not run: it needs a Redis server.)
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	limiter, err := redisrate.New(rdb, redisrate.Config{
		Prefix:    "myapp:rl:",
		Timeout:   50 * time.Millisecond,
		OnFailure: redisrate.FailOpen, // keep limiting locally while Redis is down
	})
	if err != nil {
		log.Fatal(err)
	}
	perKey := ratelimit.MustNew(limiter, ratelimit.MustPolicy("per-key", 1000, time.Minute, 100),
		ratelimit.ByKeyID, ratelimit.Config{HeadersOnAllowed: true})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	// Authenticate first (ByKeyID needs the principal), then limit.
	_ = perKey.Handler(api)
}
