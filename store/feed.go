package store

import "time"

// FeedObserver is told when an invalidation feed (sqlstore's Watcher)
// stops delivering changes and when it delivers them again, so that an
// outage can be logged and alerted on. Each outage is reported once when
// it starts and once when it ends, whatever the number of reconnection
// attempts in between. Implementations must be safe for concurrent use
// and must not block.
type FeedObserver interface {
	// FeedDown is called when the feed is lost: its connection failed, a
	// heartbeat went unanswered, or a poll failed. err says why; it is
	// for logs only.
	FeedDown(err error)
	// FeedUp is called when the feed delivers again, after the caches it
	// keeps were dropped; outage is how long it was down.
	FeedUp(outage time.Duration)
}
