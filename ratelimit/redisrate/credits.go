package redisrate

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// CreditsConfig holds the optional settings of a [Credits] spender. The
// zero value is usable.
type CreditsConfig struct {
	// Prefix is put before every Redis key the spender writes. Default
	// "gatehouse:credits:".
	Prefix string
	// Timeout bounds one spend's round trip to Redis; a spend that takes
	// longer fails, and the request is refused with 503. Default 100ms.
	Timeout time.Duration
}

// Credits is a [store.CreditSpender] that keeps the live count of every
// key's credits in Redis, shared by every instance that uses the same Redis
// and Prefix: each spend is one round trip, a Lua script that decrements
// the count only while it is above zero, atomically.
//
// The key's record (in the database) holds the allowance as an
// administrator last set it: Remaining as of Since, and the refill. The
// count of a refill period starts from Remaining in the period that holds
// Since, and from Refill in every later one; it lives under Prefix + key
// ID + ":" + Since + ":" + the period's start, so that setting the credits
// again (a new Since) starts a new count at once in every instance, and a
// new period starts a full one. A period's count expires a day after the
// period ends; a count that is never refilled does not expire, so Redis
// must keep its data (RDB or AOF) for the counts to survive a restart.
// The records' Remaining is not updated by spending: the count in Redis is
// the truth (see [Credits.Remaining], and store.LiveCredits to show it).
//
// Redis down is a failure (fail closed): spending returns an error and the
// middleware answers 503. A Credits is safe for concurrent use and needs
// no Close.
type Credits struct {
	client  redis.Scripter
	prefix  string
	timeout time.Duration
}

var (
	_ store.CreditSpender = (*Credits)(nil)
	_ store.CreditCounter = (*Credits)(nil)
	_ store.CreditTaker   = (*Credits)(nil)
)

// NewCredits returns a spender that keeps counts in Redis through client,
// which must honour context deadlines (see [New]).
func NewCredits(client redis.Scripter, cfg CreditsConfig) (*Credits, error) {
	if err := checkClient(client); err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("redisrate: the timeout must not be negative")
	}
	c := &Credits{client: client, prefix: cfg.Prefix, timeout: cfg.Timeout}
	if c.prefix == "" {
		c.prefix = "gatehouse:credits:"
	}
	if c.timeout == 0 {
		c.timeout = 100 * time.Millisecond
	}
	return c, nil
}

// The modes of spendScript.
const (
	modeSpend = "0"
	modePeek  = "1"
	modeTake  = "2"
)

// spendScript spends one use of the count KEYS[1], which starts at
// ARGV[1] when absent; ARGV[2] is its time to live in milliseconds (0:
// none). It returns the count left, or -1 when none was left (and writes
// nothing). ARGV[3] is the mode: modeSpend; modePeek returns the count
// without spending; modeTake sets it to 0 and returns what it was.
var spendScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then v = tonumber(v) else v = tonumber(ARGV[1]) end
if ARGV[3] == '1' then return v end
local set = 0
if ARGV[3] == '0' then
  if v <= 0 then return -1 end
  set = v - 1
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], set, 'PX', ttl)
else
  redis.call('SET', KEYS[1], set)
end
if ARGV[3] == '2' then return v end
return set
`)

// SpendCredit implements [store.CreditSpender] on the credits c the key's
// record holds. It never returns [store.ErrNotFound]: Redis does not know
// which keys exist.
func (s *Credits) SpendCredit(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (int64, error) {
	if c == nil {
		return -1, nil
	}
	v, err := s.run(ctx, keyID, c, now, modeSpend)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, store.Exhausted(&store.Key{ID: keyID}, c, now)
	}
	return v, nil
}

// Remaining returns the live count of the key's credits at now without
// spending any, for display.
func (s *Credits) Remaining(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (int64, error) {
	if c == nil {
		return -1, nil
	}
	return s.run(ctx, keyID, c, now, modePeek)
}

// TakeCredits implements [store.CreditTaker]: it sets the count of the
// credits c (the record's: the allowance as an administrator set it, not
// a live view) to 0 at now, atomically, and returns what it was. The
// record is not changed: the caller stores credits without a use left
// (store.LiveCredits reads the record for c and does both, as a rotation
// needs).
func (s *Credits) TakeCredits(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (int64, error) {
	if c == nil {
		return -1, nil
	}
	v, err := s.run(ctx, keyID, c, now, modeTake)
	return max(v, 0), err
}

func (s *Credits) run(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time, mode string) (int64, error) {
	period := c.PeriodStart(now)
	key := s.prefix + keyID + ":" + strconv.FormatInt(c.Since.UnixMicro(), 10) + ":" + strconv.FormatInt(period.Unix(), 10)
	var ttl int64
	if next := c.NextRefill(now); !next.IsZero() {
		ttl = next.Add(24 * time.Hour).Sub(now).Milliseconds()
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, err := spendScript.Run(rctx, s.client, []string{key}, c.At(now), ttl, mode).Int64()
	if err != nil {
		return 0, gatehouse.Unavailable(err)
	}
	return v, nil
}
