package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/ratelimit/redisrate"
	"github.com/gatehouse-go/gatehouse/store"
)

// creditFlags tell the key commands that read or move a key's credits
// where serve counts them: in the Redis of --redis (default
// $GATEHOUSE_REDIS, as serve), under --redis-prefix, or, for rotate, in
// the database (--credits-in-database). The database alone holds only the
// grant when serve counts in Redis.
type creditFlags struct {
	redis, prefix string
	inDatabase    bool
}

func (c *creditFlags) register(fs *flag.FlagSet, rotate bool) {
	fs.StringVar(&c.redis, "redis", "", "host:port of the Redis where serve counts keys' credits: serve's --redis (default $GATEHOUSE_REDIS)")
	fs.StringVar(&c.prefix, "redis-prefix", "gatehouse:rl:", "serve's --redis-prefix")
	if rotate {
		fs.BoolVar(&c.inDatabase, "credits-in-database", false, "serve counts credits in the database (it runs without --redis): move the count the database holds")
	}
}

// errCreditsWhere refuses to rotate a key with credits without knowing
// where the live count is: the database's grant may not be it.
func errCreditsWhere(id string) error {
	return fmt.Errorf("%w: key %s has credits, which a rotation moves to the new key: "+
		"pass --redis ADDR (and --redis-prefix) as given to serve if serve counts credits in Redis, "+
		"or --credits-in-database if serve runs without Redis", errUsage, id)
}

// keyStore returns the store the command reads keys through: the
// database, or with Redis a store.LiveCredits over it, whose reads show
// and whose rotation moves the live count. close releases the Redis
// client.
func (c *creditFlags) keyStore(ctx context.Context, a *app, e env) (s store.KeyStore, close func(), err error) {
	addr := c.redis
	if addr == "" {
		addr = e.getenv("GATEHOUSE_REDIS")
	}
	if addr == "" {
		return a.db, func() {}, nil
	}
	if c.inDatabase {
		return nil, nil, fmt.Errorf("%w: give --redis (or GATEHOUSE_REDIS) or --credits-in-database, not both", errUsage)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("--redis %s: %w", addr, err)
	}
	counts, err := redisrate.NewCredits(rdb, redisrate.CreditsConfig{Prefix: c.prefix + "credits:"})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return store.NewLiveCredits(a.db, counts, nil), func() { rdb.Close() }, nil
}

// known reports whether the command was told where the live count is.
func (c *creditFlags) known(e env) bool {
	return c.inDatabase || c.redis != "" || e.getenv("GATEHOUSE_REDIS") != ""
}
