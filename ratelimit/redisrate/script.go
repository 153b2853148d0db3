package redisrate

import "github.com/redis/go-redis/v9"

// gcraScript makes one decision of the generic cell rate algorithm on the
// bucket KEYS[1], atomically, on the Redis server's clock. It is the same
// arithmetic as the in-memory limiter's (ratelimit.Memory), so that both
// agree on every decision.
//
// ARGV: the policy's interval and depth (tau = burst * interval), both in
// nanoseconds, and the cost (0 peeks, a negative cost refunds).
//
// The bucket holds its theoretical arrival time as "<µs>:<ns>": the
// server's time in whole microseconds and the nanoseconds beyond them, so
// that no part of it exceeds the 2^53 integers a Lua number holds exactly.
// The arithmetic is done on the offset from now in nanoseconds, which is
// exact for buckets up to 104 days deep. A full bucket is deleted; any
// other expires when it would be full again, so Redis holds only buckets
// that are in use.
//
// The reply is {allowed (0 or 1), remaining units, nanoseconds until the
// bucket is full, nanoseconds until the cost would be allowed}.
const gcraSource = `
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local d = 0
local v = redis.call('GET', KEYS[1])
if v then
  local i = string.find(v, ':', 1, true)
  if i then
    local us = tonumber(string.sub(v, 1, i - 1))
    local ns = tonumber(string.sub(v, i + 1))
    if us and ns then d = (us - now) * 1000 + ns end
  end
end
if d < 0 then d = 0 end
local allowed, nd, retry = 0, d, 0
if cost == 0 then
  local at = d + interval - tau
  if at > 0 then retry = at else allowed = 1 end
elseif cost < 0 then
  nd = math.max(0, d + cost * interval)
  allowed = 1
else
  local n = d + cost * interval
  if n > tau then retry = n - tau else allowed = 1; nd = n end
end
if nd ~= d then
  if nd > 0 then
    local us = math.floor(nd / 1000)
    redis.call('SET', KEYS[1], string.format('%.0f:%.0f', now + us, nd - us * 1000),
      'PX', math.ceil(nd / 1000000))
  else
    redis.call('DEL', KEYS[1])
  end
end
local remaining = 0
if tau - nd > 0 then remaining = math.floor((tau - nd) / interval) end
return {allowed, remaining, nd, retry}
`

// resetSource deletes the bucket KEYS[1]. It is a script so that the
// limiter needs no more of a client than redis.Scripter.
const resetSource = `return redis.call('DEL', KEYS[1])`

var (
	gcraScript  = redis.NewScript(gcraSource)
	resetScript = redis.NewScript(resetSource)
)
