package ratelimit

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math/bits"
	"sync"
	"time"
)

// MemoryConfig configures a [Memory] limiter. The zero value is usable.
type MemoryConfig struct {
	// MaxKeys bounds how many buckets are kept, so that a flood of new
	// keys (addresses, account names) cannot exhaust memory. When the
	// bound is reached the least recently used bucket is dropped; a
	// dropped bucket starts full when its key comes back, so set MaxKeys
	// above the number of keys active within one window. A bucket takes
	// about 200 bytes. Default 100,000.
	MaxKeys int
	// Shards is how many independently locked parts the buckets are split
	// into, so that parallel requests for different keys do not wait on
	// one lock; rounded up to a power of two and at most MaxKeys. Each
	// shard holds MaxKeys/Shards buckets. Default 32.
	Shards int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Memory is a [Limiter] that keeps buckets in this process's memory: one
// int64 per bucket (its theoretical arrival time under the GCRA), in a
// sharded LRU. Use it for one process, or as the local fallback of a shared
// limiter; processes that must share counts use a shared backend (package
// redisrate).
//
// A decision on a key seen before does not allocate. Memory never fails:
// its errors are only for invalid arguments. It starts no goroutine and
// needs no Close. It is safe for concurrent use.
type Memory struct {
	shards []memShard
	mask   uint64
	seed   maphash.Seed
	s0, s1 uint64           // random, from seed
	now    func() time.Time // nil: the monotonic clock
	base   time.Time
}

type memShard struct {
	mu  sync.Mutex
	lru lru
	_   [64]byte // keep neighbouring shards' locks off one cache line
}

var _ Limiter = (*Memory)(nil)

// NewMemory validates cfg and returns an empty in-memory limiter.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.MaxKeys < 0 || cfg.Shards < 0 {
		return nil, errors.New("ratelimit: memory: MaxKeys and Shards must not be negative")
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = 100_000
	}
	if cfg.Shards == 0 {
		cfg.Shards = 32
	}
	n := 1 << bits.Len(uint(cfg.Shards-1)) // round up to a power of two
	for n > cfg.MaxKeys {
		n >>= 1
	}
	m := &Memory{
		shards: make([]memShard, n),
		mask:   uint64(n - 1),
		seed:   maphash.MakeSeed(),
		now:    cfg.Now,
	}
	m.s0, m.s1 = maphash.String(m.seed, "s0"), maphash.String(m.seed, "s1")
	if m.now != nil {
		m.base = m.now()
	} else {
		m.base = time.Now()
	}
	for i := range m.shards {
		// Spread MaxKeys over the shards so that the bound holds exactly.
		per := cfg.MaxKeys / n
		if i < cfg.MaxKeys%n {
			per++
		}
		m.shards[i].lru.init(per)
	}
	return m, nil
}

// Allow implements [Limiter].
func (m *Memory) Allow(_ context.Context, key Key, p *Policy, cost int) (Decision, error) {
	if err := checkArgs(key, p, cost); err != nil {
		return Decision{}, err
	}
	now := m.nanos()
	id := bucketID{policy: p.name, key: key}
	h := m.hash(p, key)
	s := &m.shards[(h>>32)&m.mask]
	s.mu.Lock()
	e := s.lru.get(h, id)
	tat := now
	if e != nil {
		tat = e.tat
	}
	newTat, d := p.decide(tat, now, cost)
	switch {
	case e != nil:
		e.tat = newTat
	case newTat > now: // a bucket that is not full is worth keeping
		s.lru.add(h, id, newTat)
	}
	s.mu.Unlock()
	return d, nil
}

// nanos returns the time since the limiter was made, in nanoseconds. With
// the default clock it reads only the monotonic clock (time.Since of a
// monotonic base), which costs less than a full time.Now.
func (m *Memory) nanos() int64 {
	if m.now == nil {
		return int64(time.Since(m.base))
	}
	return int64(m.now().Sub(m.base))
}

// Reset implements [Limiter].
func (m *Memory) Reset(_ context.Context, key Key, p *Policy) error {
	if p == nil {
		return errNilPolicy
	}
	id := bucketID{policy: p.name, key: key}
	h := m.hash(p, key)
	s := &m.shards[(h>>32)&m.mask]
	s.mu.Lock()
	s.lru.remove(h, id)
	s.mu.Unlock()
	return nil
}

// Len returns how many buckets are kept.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.lru.len()
		s.mu.Unlock()
	}
	return n
}

// hash is the seeded 64-bit hash of a bucket: of the key's value (or
// address) under the limiter's random seed, so that nobody can aim a flood
// of keys at one shard or one slot, mixed with the policy name's and the
// scope's hashes, which are not secret. Its high half picks the shard, the
// whole indexes the shard's LRU.
func (m *Memory) hash(p *Policy, k Key) uint64 {
	var h uint64
	if k.addr.IsValid() {
		b := k.addr.As16()
		h = mix(binary.LittleEndian.Uint64(b[:8])^m.s0, binary.LittleEndian.Uint64(b[8:])^m.s1)
	} else {
		h = maphash.String(m.seed, k.value)
	}
	return mix(h^p.nameHash, fnv64(k.scope)^m.s1)
}

// mix folds the 128-bit product of a and b (the wyhash mixer).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// fnv64 is FNV-1a, for short strings that are not secret.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

var (
	errNilPolicy = &wrapped{"ratelimit: nil policy", ErrInvalidPolicy}
	errBadPolicy = &wrapped{"ratelimit: policy not built by NewPolicy or ParsePolicy", ErrInvalidPolicy}
	errBadKey    = &wrapped{"ratelimit: invalid key", ErrNoKey}
	errCost      = &wrapped{"ratelimit: cost exceeds the policy's burst", ErrCostTooHigh}
)

// checkArgs validates the arguments of Allow, without allocating. Limiters
// in other packages use it through [CheckArgs].
func checkArgs(key Key, p *Policy, cost int) error {
	switch {
	case p == nil:
		return errNilPolicy
	case p.interval == 0:
		return errBadPolicy
	case !key.Valid():
		return errBadKey
	case cost > p.burst:
		return errCost
	}
	return nil
}

// CheckArgs returns the error [Limiter.Allow] must return for these
// arguments, or nil: [ErrInvalidPolicy] for a nil or zero policy,
// [ErrNoKey] for an invalid key, [ErrCostTooHigh] for a cost above the
// burst. It is for implementations of Limiter in other packages.
func CheckArgs(key Key, p *Policy, cost int) error { return checkArgs(key, p, cost) }
