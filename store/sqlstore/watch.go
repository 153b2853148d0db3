package sqlstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Invalidator drops cached keys; [*store.KeyCache] is one. A [Watcher]
// calls it from its own goroutine.
type Invalidator interface {
	// Invalidate drops the key with digest d.
	Invalidate(d store.Digest)
	// InvalidateAll drops every key, when changes may have been missed.
	InvalidateAll()
}

var _ Invalidator = (*store.KeyCache)(nil)

// WatchConfig holds the optional settings of [Store.Watch]. The zero value
// is usable.
type WatchConfig struct {
	// PollInterval is how often a SQLite watcher reads the change log, and
	// so about the longest a change made by another process goes unseen.
	// Default 250 milliseconds.
	PollInterval time.Duration
	// Retention is how long a SQLite change-log row is kept before a
	// watcher prunes it. A watcher that could not read the log for longer
	// than that notices the gap and drops its whole cache. Default 1 hour.
	Retention time.Duration
	// HealthInterval is how long a PostgreSQL watcher's connection may stay
	// silent before the watcher pings it, so that a connection that died
	// without a word is noticed. Default 30 seconds.
	HealthInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before a PostgreSQL watcher
	// reconnects; it doubles from MinBackoff after every failed attempt.
	// Defaults 100 milliseconds and 10 seconds.
	MinBackoff, MaxBackoff time.Duration
	// OnError is called, from the watcher's goroutine, with every error
	// the feed meets: a dropped connection, a failed reconnection, a failed
	// poll. It must not block for long. Default: errors are dropped.
	OnError func(error)
}

func (c WatchConfig) withDefaults() (WatchConfig, error) {
	if c.PollInterval < 0 || c.Retention < 0 || c.HealthInterval < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 {
		return c, errors.New("sqlstore: watch config: durations must not be negative")
	}
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.Retention == 0 {
		c.Retention = time.Hour
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = 30 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, errors.New("sqlstore: watch config: MaxBackoff is below MinBackoff")
	}
	if c.OnError == nil {
		c.OnError = func(error) {}
	}
	return c, nil
}

// Watcher follows a Store's invalidation feed in a goroutine of its own
// and passes every changed key to an [Invalidator]. Stop it with Close.
type Watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	store  *Store
}

// Watch follows the invalidation feed of the database, so that keys
// updated, revoked or deleted by any Store on it (in this process or
// another) are dropped from inv, typically the [store.KeyCache] in front
// of this Store.
//
// On PostgreSQL the watcher LISTENs on [Channel] over a connection of its
// own, reconnecting with backoff when it drops. On SQLite it polls the
// change log every PollInterval. Either way inv.InvalidateAll is called
// once the feed is established, and again whenever events may have been
// missed (after a reconnection, or when the change log was pruned past the
// watcher's position): a cache never keeps a record across a gap.
//
// Staleness bound: with the feed up, another process's change reaches inv
// within a round trip on PostgreSQL and within PollInterval (250 ms) on
// SQLite. While the feed is down, a cache serves what it holds for at most
// its TTL (store.CacheConfig.TTL, 1 minute by default), and the first
// moment the feed is back everything is dropped.
//
// Watch returns an error when the feed cannot be established. The watcher
// then runs until Close is called, ctx is done, or the Store is closed.
func (s *Store) Watch(ctx context.Context, inv Invalidator, cfg WatchConfig) (*Watcher, error) {
	if inv == nil {
		return nil, errors.New("sqlstore: watch: nil Invalidator")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var run func(context.Context)
	switch s.dialect {
	case Postgres:
		l, err := s.newListener(ctx, inv, cfg)
		if err != nil {
			return nil, err
		}
		run = l.run
	default:
		p, err := s.newPoller(ctx, inv, cfg)
		if err != nil {
			return nil, err
		}
		run = p.run
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cancel: cancel, done: make(chan struct{}), store: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		run(wctx) // returns at once, releasing what the feed holds
		return nil, errors.New("sqlstore: watch: store is closed")
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	inv.InvalidateAll()
	go func() {
		defer close(w.done)
		run(wctx)
	}()
	return w, nil
}

// Close stops the watcher and waits for its goroutine to end. It is
// idempotent and always returns nil.
func (w *Watcher) Close() error {
	w.once.Do(func() {
		w.cancel()
		<-w.done
		w.store.mu.Lock()
		delete(w.store.watchers, w)
		w.store.mu.Unlock()
	})
	return nil
}

// Done is closed when the watcher's goroutine has ended: after Close, or
// once the ctx given to Watch is done.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// sleep waits for d or until ctx is done, and reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter returns d give or take a quarter, so that many processes that
// lost the database at once do not come back in lockstep.
func jitter(d time.Duration) time.Duration {
	q := int64(d / 4)
	if q <= 0 {
		return d
	}
	return d - time.Duration(q) + time.Duration(rand.Int64N(2*q))
}

// Invalidators returns an [Invalidator] that passes each call to every one
// of invs, so that one [Store.Watch] feed can serve several caches: the
// key cache and the session cache share the feed, as the digests they
// hold never collide.
func Invalidators(invs ...Invalidator) Invalidator { return multiInvalidator(invs) }

type multiInvalidator []Invalidator

func (m multiInvalidator) Invalidate(d store.Digest) {
	for _, i := range m {
		i.Invalidate(d)
	}
}

func (m multiInvalidator) InvalidateAll() {
	for _, i := range m {
		i.InvalidateAll()
	}
}
