package store

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// CreditCounter is implemented by a [CreditSpender] that keeps the live
// count of credits away from the records (redisrate.Credits): Remaining
// returns it without spending any.
type CreditCounter interface {
	Remaining(ctx context.Context, keyID string, c *gatehouse.Credits, now time.Time) (int64, error)
}

// LiveCredits is a [KeyStore] whose reads by ID and listings show each
// key's live count of credits, asked of a [CreditCounter], as of now
// (Credits.Remaining is the count, Credits.Since is now), so that the
// management API sees what is left rather than the grant the record keeps;
// it is a [CreditTaker] too, so that a rotation moves what is left.
// Lookups by digest (the request path) and writes go to the wrapped store
// unchanged. A counter that fails fails the read. It is safe for
// concurrent use.
type LiveCredits struct {
	KeyStore
	counter CreditCounter
	now     func() time.Time
}

// NewLiveCredits wraps s; now defaults to time.Now.
func NewLiveCredits(s KeyStore, counter CreditCounter, now func() time.Time) *LiveCredits {
	if now == nil {
		now = time.Now
	}
	return &LiveCredits{KeyStore: s, counter: counter, now: now}
}

// KeyByID implements [KeyStore] with the live count.
func (l *LiveCredits) KeyByID(ctx context.Context, id string) (*Key, error) {
	k, err := l.KeyStore.KeyByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := l.live(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// ListKeys implements [KeyStore] with the live counts.
func (l *LiveCredits) ListKeys(ctx context.Context, f KeyFilter) ([]*Key, string, error) {
	keys, next, err := l.KeyStore.ListKeys(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for _, k := range keys {
		if err := l.live(ctx, k); err != nil {
			return nil, "", err
		}
	}
	return keys, next, nil
}

var _ CreditTaker = (*LiveCredits)(nil)

var errNoTaker = errors.New("store: the credit counter of LiveCredits cannot take credits (no TakeCredits)")

// TakeCredits implements [CreditTaker] with the counter, which must
// implement it too (redisrate.Credits does): it reads the key's record
// from the wrapped store, for the allowance the count belongs to (c, a
// live view, is not used), and takes that count. Like the counter's, it
// does not change the record: the caller stores credits with no use left.
func (l *LiveCredits) TakeCredits(ctx context.Context, keyID string, _ *gatehouse.Credits, now time.Time) (int64, error) {
	t, ok := l.counter.(CreditTaker)
	if !ok {
		return 0, errNoTaker
	}
	k, err := l.KeyStore.KeyByID(ctx, keyID)
	if err != nil {
		return 0, err
	}
	if k.Credits == nil {
		return -1, nil
	}
	return t.TakeCredits(ctx, keyID, k.Credits, now)
}

// live replaces k's credits (k is the caller's copy) by the live count.
func (l *LiveCredits) live(ctx context.Context, k *Key) error {
	if k.Credits == nil {
		return nil
	}
	now := l.now()
	n, err := l.counter.Remaining(ctx, k.ID, k.Credits, now)
	if err != nil {
		return err
	}
	c := *k.Credits
	c.Remaining, c.Since = max(n, 0), now
	k.Credits = &c
	return nil
}
