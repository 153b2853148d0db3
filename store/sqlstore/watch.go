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
// calls it from its own goroutine. An Invalidator that also has a
// FeedAlive(time.Time) method, as the store's caches do, is told of every
// answered heartbeat (see [store.KeyCache.FeedAlive]).
type Invalidator interface {
	// Invalidate drops the key with digest d.
	Invalidate(d store.Digest)
	// InvalidateAll drops every key, when changes may have been missed.
	InvalidateAll()
}

// feedAliver is the optional heartbeat side of an Invalidator.
type feedAliver interface{ FeedAlive(at time.Time) }

var (
	_ Invalidator = (*store.KeyCache)(nil)
	_ Invalidator = (*store.SessionCache)(nil)
	_ feedAliver  = (*store.KeyCache)(nil)
	_ feedAliver  = (*store.SessionCache)(nil)
)

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
	// HealthInterval is how often a PostgreSQL watcher sends a heartbeat
	// (an empty query) on its connection. Each answered heartbeat proves
	// that every change committed before it was sent has been delivered,
	// and is passed on to the caches (see [store.KeyCache.FeedAlive]),
	// which serve records without asking the store only while such a
	// proof is recent. Default 250 milliseconds.
	HealthInterval time.Duration
	// Timeout bounds one heartbeat, one reconnection attempt and one poll
	// of the change log; past it the feed counts as down. Default 2
	// seconds.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a PostgreSQL watcher
	// reconnects; it doubles from MinBackoff after every failed attempt.
	// Defaults 100 milliseconds and 1 second, so that a watcher is back
	// within about a second of the database.
	MinBackoff, MaxBackoff time.Duration
	// Observer is told once when the feed goes down and once when it is
	// back (observe.Slog logs both; observe.Counters counts them). Default
	// none.
	Observer store.FeedObserver
	// OnError is called, from the watcher's goroutine, with every error
	// the feed meets: a dropped connection, each failed reconnection, each
	// failed poll. It must not block for long. Default: errors are dropped.
	OnError func(error)
	// Now is the clock of the heartbeat times given to the caches; it must
	// be the caches' clock. Default time.Now.
	Now func() time.Time
}

func (c WatchConfig) withDefaults() (WatchConfig, error) {
	if c.PollInterval < 0 || c.Retention < 0 || c.HealthInterval < 0 || c.Timeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 {
		return c, errors.New("sqlstore: watch config: durations must not be negative")
	}
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.Retention == 0 {
		c.Retention = time.Hour
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = 250 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, errors.New("sqlstore: watch config: MaxBackoff is below MinBackoff")
	}
	if c.OnError == nil {
		c.OnError = func(error) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// feedState reports a feed's outages to the Observer, once when one starts
// and once when it ends, and its heartbeats to the Invalidator. Only the
// watcher's goroutine uses it.
type feedState struct {
	cfg       WatchConfig
	inv       Invalidator
	downSince time.Time // zero while up
}

// alive passes on that every change made before at was delivered.
func (f *feedState) alive(at time.Time) {
	if a, ok := f.inv.(feedAliver); ok {
		a.FeedAlive(at)
	}
}

// down records a failure of the feed.
func (f *feedState) down(err error) {
	f.cfg.OnError(err)
	if !f.downSince.IsZero() {
		return
	}
	f.downSince = f.cfg.Now()
	if f.cfg.Observer != nil {
		f.cfg.Observer.FeedDown(err)
	}
}

// up records that the feed delivers again; the caller has dropped the
// caches already, and began is a time before it did.
func (f *feedState) up(began time.Time) {
	f.alive(began)
	if f.downSince.IsZero() {
		return
	}
	outage := f.cfg.Now().Sub(f.downSince)
	f.downSince = time.Time{}
	if f.cfg.Observer != nil {
		f.cfg.Observer.FeedUp(outage)
	}
}

// Watcher follows a Store's invalidation feed in a goroutine of its own
// and passes every changed key to an [Invalidator]. Stop it with Close.
type Watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	store  *Store
}

// Watch follows the invalidation feed of the database, so that keys and
// sessions updated, revoked or deleted by any Store on it (in this process
// or another) are dropped from inv, typically the [store.KeyCache] and
// [store.SessionCache] in front of this Store ([Invalidators] joins them).
//
// On PostgreSQL the watcher LISTENs on [Channel] over a connection of its
// own, sends a heartbeat every HealthInterval, and reconnects with a
// backoff capped at MaxBackoff (1 s) when the connection fails or a
// heartbeat goes unanswered. On SQLite it polls the change log every
// PollInterval. Either way inv.InvalidateAll is called once the feed is
// established, and again whenever events may have been missed (after a
// reconnection, or when the change log was pruned past the watcher's
// position): a cache never keeps a record across a gap.
//
// Staleness bound: every answered heartbeat (every successful poll) is
// passed to inv's FeedAlive, and a cache so kept serves a record older
// than its RevalidateAfter (1 s) only while the feed proved itself within
// that span; otherwise it reads the record from the store again. So a
// change made by another process reaches this one within 1 s whenever
// this process can reach its store, feed or no feed: within a round trip
// on PostgreSQL and within PollInterval on SQLite while the feed is up,
// through revalidation while it is down. When the store cannot be reached
// either, the cache's StaleIfUnavailable decides (503 by default).
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
	began := cfg.Now()
	f := &feedState{cfg: cfg, inv: inv}
	var run func(context.Context)
	switch s.dialect {
	case Postgres:
		l, err := s.newListener(ctx, f)
		if err != nil {
			return nil, err
		}
		run = l.run
	default:
		p, err := s.newPoller(ctx, f)
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
	f.alive(began)
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

func (m multiInvalidator) FeedAlive(at time.Time) {
	for _, i := range m {
		if a, ok := i.(feedAliver); ok {
			a.FeedAlive(at)
		}
	}
}
