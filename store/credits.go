package store

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// CreditSpender spends the usage credits of API keys ([Key.Credits]),
// atomically across every process that shares its backend. Implementations
// are safe for concurrent use.
type CreditSpender interface {
	// SpendCredit spends one use of key keyID, whose record (as loaded
	// into a cache, perhaps a little stale) holds c, at now, refilling
	// the count first when a refill period has started since it was last
	// set. It returns the uses left after this one, a
	// [*gatehouse.CreditsError] when none was left (nothing is spent),
	// -1 and no error when the key has no allowance (any more: nothing is
	// spent), or [ErrNotFound] for a key that no longer exists. Any other error is a
	// backend failure, and the request is refused (fail closed).
	SpendCredit(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (remaining int64, err error)
}

// CreditTaker takes what is left of a key's credits in one atomic step,
// so that a rotation moves them to the new key instead of copying them
// (admin.Manager.RotateKey). The memory and SQL stores, redisrate.Credits
// and [LiveCredits] implement it. Implementations are safe for concurrent
// use.
type CreditTaker interface {
	// TakeCredits returns the uses key keyID, whose record holds c, has
	// left at now (after the refill due by then) and leaves it none: a
	// use spent meanwhile, by any process, is either counted in the
	// result or refused. A store that keeps the count in the record sets
	// the record's credits to {Remaining: 0, Since: now}, without refill;
	// a counter kept away from the records (Redis) sets its count to 0,
	// and the caller stores those credits in the record. It returns -1
	// and no error for a key without credits, and [ErrNotFound] for a key
	// that does not exist (where the implementation knows).
	TakeCredits(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (int64, error)
}

// Exhausted returns the refusal of key k, whose credits c are spent, at
// now: when they are refilled, and how long until then.
func Exhausted(k *Key, c *gatehouse.Credits, now time.Time) *gatehouse.CreditsError {
	e := &gatehouse.CreditsError{RefillAt: c.NextRefill(now)}
	if !e.RefillAt.IsZero() {
		e.RetryAfter = e.RefillAt.Sub(now)
	}
	if k != nil {
		e.KeyID, e.TenantID = k.ID, k.TenantID
	}
	return e
}

// spendLocked spends one use of c at now in place: the memory store's
// rule, and the one every backend follows.
func spendLocked(c *gatehouse.Credits, now time.Time) bool {
	if c.Refill > 0 {
		if p := c.PeriodStart(now); p.After(c.Since) {
			c.Remaining, c.Since = c.Refill, p
		}
	}
	if c.Remaining <= 0 {
		return false
	}
	c.Remaining--
	return true
}

var _ CreditSpender = (*Memory)(nil)

// SpendCredit implements [CreditSpender] on the record the memory store
// holds; c is not used.
func (m *Memory) SpendCredit(ctx context.Context, keyID string, _ *gatehouse.Credits, now time.Time) (int64, error) {
	return m.withCredits(ctx, keyID, func(k *Key) (int64, error) {
		// The stored record is private to the store (reads return
		// clones), so its count is changed in place.
		if !spendLocked(k.Credits, now) {
			return 0, Exhausted(k, k.Credits, now)
		}
		return k.Credits.Remaining, nil
	})
}

// withCredits runs f, under the store's lock, on the stored record
// of the key, when it has an allowance: -1 when it has none (any more),
// ErrNotFound when there is no such key.
func (m *Memory) withCredits(ctx context.Context, keyID string, f func(k *Key) (int64, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[keyID]
	if !ok {
		return 0, ErrNotFound
	}
	if k.Credits == nil {
		return -1, nil
	}
	return f(k)
}

var _ CreditTaker = (*Memory)(nil)

// TakeCredits implements [CreditTaker] on the record the memory store
// holds; c is not used.
func (m *Memory) TakeCredits(ctx context.Context, keyID string, _ *gatehouse.Credits, now time.Time) (int64, error) {
	return m.withCredits(ctx, keyID, func(k *Key) (int64, error) {
		left := k.Credits.At(now)
		k.Credits = &gatehouse.Credits{Since: now} // private to the store, as in SpendCredit
		return left, nil
	})
}

// ParseNetwork reads an address or a CIDR prefix ("10.0.0.5",
// "10.0.0.0/8", "fd00::/8") as a network: an address is a prefix of its
// full length, and the result is normalized as [NormalizeNetworks] does
// each entry. It reports false for anything else.
func ParseNetwork(s string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false // PrefixFrom would drop a zone
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return normalizeNetwork(p)
}

// normalizeNetwork returns p masked, as IPv4 when it is IPv4-mapped; false
// for an invalid prefix, one with a zone, or an IPv4-mapped one shorter
// than /96 (::ffff:10.0.0.0/8 would be ::/8, which holds no IPv4 address).
func normalizeNetwork(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Zone() != "" {
		return netip.Prefix{}, false
	} else if a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false
		}
		// An IPv4-mapped network is the IPv4 network: client addresses
		// are unmapped before they are checked.
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// NormalizeNetworks returns ps normalized (masked, IPv4-mapped ones as
// IPv4), without duplicates, in the order given; nil for an empty list. It
// reports false for an invalid prefix, one with a zone, or an IPv4-mapped
// one shorter than /96.
func NormalizeNetworks(ps []netip.Prefix) ([]netip.Prefix, bool) {
	if len(ps) == 0 {
		return nil, true
	}
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		p, ok := normalizeNetwork(p)
		if !ok {
			return nil, false
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, true
}

// applyControls sets k's allowed networks and credits as u asks.
func applyControls(k *Key, u KeyUpdate) {
	if u.AllowedNetworks != nil {
		k.AllowedNetworks = nil
		if len(*u.AllowedNetworks) > 0 {
			k.AllowedNetworks = append([]netip.Prefix(nil), (*u.AllowedNetworks)...)
		}
	}
	if u.Credits != nil {
		k.Credits = nil
		if *u.Credits != (gatehouse.Credits{}) {
			c := *u.Credits
			k.Credits = &c
		}
	}
}
