package benchmarks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/testdb"
)

// benchRedis returns a client of the Redis at GATEHOUSE_TEST_REDIS and a
// key prefix of its own, whose keys are deleted when b ends; it skips
// without one.
func benchRedis(b *testing.B) (*redis.Client, string) {
	b.Helper()
	addr := testdb.RedisAddr(b)
	opt := &redis.Options{Addr: addr}
	if strings.Contains(addr, "://") {
		var err error
		if opt, err = redis.ParseURL(addr); err != nil {
			b.Fatal(err)
		}
	}
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	prefix := "gatehouse-bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	b.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}
