package observe

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// Counters counts events with atomics; the zero value is ready. Read it
// with [Counters.Snapshot].
type Counters struct {
	authenticated atomic.Uint64
	refused       [len(refusalCodes) + 1]atomic.Uint64 // by code; the last slot: any other
	lookups       [3]atomic.Uint64                     // by store.CacheOutcome
	loads         atomic.Uint64
	loadErrors    atomic.Uint64
	loadNanos     atomic.Uint64
	feedDowns     atomic.Uint64
	feedIsDown    atomic.Bool
}

// refusalCodes are the codes of middleware.Classify, in a fixed order.
var refusalCodes = [...]string{
	"unauthenticated", "invalid_request", "invalid_token", "insufficient_scope",
	"forbidden", "rate_limited", "unavailable", "credits_exhausted",
}

var (
	_ Observer           = (*Counters)(nil)
	_ store.FeedObserver = (*Counters)(nil)
)

// Authenticated implements [middleware.Observer].
func (c *Counters) Authenticated(*http.Request, *gatehouse.Principal) { c.authenticated.Add(1) }

// Refused implements [middleware.Observer].
func (c *Counters) Refused(_ *http.Request, err error) {
	_, code := middleware.Classify(err)
	for i, k := range refusalCodes {
		if k == code {
			c.refused[i].Add(1)
			return
		}
	}
	c.refused[len(refusalCodes)].Add(1)
}

// CacheLookup implements [store.CacheObserver].
func (c *Counters) CacheLookup(o store.CacheOutcome) {
	if int(o) < len(c.lookups) {
		c.lookups[o].Add(1)
	}
}

// StoreLoad implements [store.CacheObserver]. A load that found nothing
// ([store.ErrNotFound]) is not an error.
func (c *Counters) StoreLoad(elapsed time.Duration, err error) {
	c.loads.Add(1)
	c.loadNanos.Add(uint64(max(elapsed, 0)))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.loadErrors.Add(1)
	}
}

// FeedDown implements [store.FeedObserver].
func (c *Counters) FeedDown(error) {
	c.feedDowns.Add(1)
	c.feedIsDown.Store(true)
}

// FeedUp implements [store.FeedObserver].
func (c *Counters) FeedUp(time.Duration) { c.feedIsDown.Store(false) }

// Snapshot is what [Counters] counted up to one moment.
type Snapshot struct {
	Authenticated uint64
	// Refused counts refusals by the middleware's error code
	// (middleware.Classify); "other" holds any code it does not know.
	Refused map[string]uint64
	// Hits, NegativeHits and Misses count cache lookups by outcome.
	Hits, NegativeHits, Misses uint64
	// Loads counts store loads, LoadErrors the failed ones (unknown
	// digests are not failures), LoadTime their summed duration.
	Loads, LoadErrors uint64
	LoadTime          time.Duration
	// FeedOutages counts the times the invalidation feed went down;
	// FeedDown is true while it is down (alert on it).
	FeedOutages uint64
	FeedDown    bool
}

// Snapshot returns the counts. Each is read atomically, but not all at
// one instant.
func (c *Counters) Snapshot() Snapshot {
	s := Snapshot{
		Authenticated: c.authenticated.Load(),
		Refused:       make(map[string]uint64, len(refusalCodes)+1),
		Hits:          c.lookups[store.CacheHit].Load(),
		NegativeHits:  c.lookups[store.CacheNegativeHit].Load(),
		Misses:        c.lookups[store.CacheMiss].Load(),
		Loads:         c.loads.Load(),
		LoadErrors:    c.loadErrors.Load(),
		LoadTime:      time.Duration(c.loadNanos.Load()),
		FeedOutages:   c.feedDowns.Load(),
		FeedDown:      c.feedIsDown.Load(),
	}
	for i, k := range refusalCodes {
		if n := c.refused[i].Load(); n > 0 {
			s.Refused[k] = n
		}
	}
	if n := c.refused[len(refusalCodes)].Load(); n > 0 {
		s.Refused["other"] = n
	}
	return s
}
