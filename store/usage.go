package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// UsageRecorder coalesces last-used times in memory and writes them to a
// [UsageStore] in batches, so that using a key never costs a store write on
// the request path. Record is cheap and safe for concurrent use; call Flush
// periodically (Run does) and once at shutdown.
type UsageRecorder struct {
	store UsageStore

	mu      sync.Mutex
	pending map[string]time.Time
}

// NewUsageRecorder returns a recorder that flushes to s.
func NewUsageRecorder(s UsageStore) (*UsageRecorder, error) {
	if s == nil {
		return nil, errors.New("store: usage recorder: nil store")
	}
	return &UsageRecorder{store: s, pending: map[string]time.Time{}}, nil
}

// Record notes that key id was used at t.
func (u *UsageRecorder) Record(id string, t time.Time) {
	u.mu.Lock()
	if prev, ok := u.pending[id]; !ok || t.After(prev) {
		u.pending[id] = t
	}
	u.mu.Unlock()
}

// Pending returns how many keys have usage not yet flushed.
func (u *UsageRecorder) Pending() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.pending)
}

// Flush writes every pending last-used time in one TouchKeys call. On an
// error the batch is kept for the next flush.
func (u *UsageRecorder) Flush(ctx context.Context) error {
	u.mu.Lock()
	if len(u.pending) == 0 {
		u.mu.Unlock()
		return nil
	}
	batch := make([]KeyUsage, 0, len(u.pending))
	for id, t := range u.pending {
		batch = append(batch, KeyUsage{KeyID: id, At: t})
	}
	u.pending = make(map[string]time.Time, len(batch))
	u.mu.Unlock()
	if err := u.store.TouchKeys(ctx, batch); err != nil {
		for _, b := range batch {
			u.Record(b.KeyID, b.At)
		}
		return err
	}
	return nil
}

// Run flushes every interval until ctx is done, then flushes once more
// with a short deadline. It blocks; run it in a goroutine you own.
func (u *UsageRecorder) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := u.Flush(fctx); err != nil && onError != nil {
				onError(err)
			}
			cancel()
			return
		case <-t.C:
			if err := u.Flush(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// Touch records a use of the cached key at now in rec, at most once a
// second per key: the common case is one atomic load and no lock.
func (c *CachedKey) Touch(now time.Time, rec *UsageRecorder) {
	if c.claimUse(now) {
		rec.Record(c.Key.ID, now)
	}
}
