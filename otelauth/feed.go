package otelauth

import (
	"context"
	"time"
)

// FeedDown implements [store.FeedObserver]: it counts an outage and adds
// one to gatehouse.feed.down. The error is not recorded (it is for logs:
// see observe.Slog).
func (o *Observer) FeedDown(error) {
	ctx := context.Background()
	o.outages.Add(ctx, 1)
	o.feedDown.Add(ctx, 1)
}

// FeedUp implements [store.FeedObserver]: it takes one from
// gatehouse.feed.down and records the outage's duration.
func (o *Observer) FeedUp(outage time.Duration) {
	ctx := context.Background()
	o.feedDown.Add(ctx, -1)
	o.outageSeconds.Record(ctx, max(outage, 0).Seconds())
}
