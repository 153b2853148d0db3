package otelauth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// CacheLookup implements [store.CacheObserver]: it counts the lookup by
// outcome. The hit ratio is hits over all lookups of
// gatehouse.cache.lookups, over the window a query chooses.
func (o *Observer) CacheLookup(oc store.CacheOutcome) {
	if int(oc) < len(o.lookup) {
		o.lookups.Add(context.Background(), 1, o.lookup[oc]...)
	}
}

// StoreLoad implements [store.CacheObserver]: it records the load's
// duration in seconds, by result. A load that found nothing
// ([store.ErrNotFound]) is "not_found", not "error". The error's text is
// never recorded.
func (o *Observer) StoreLoad(elapsed time.Duration, err error) {
	res := loadFound
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		res = loadNotFound
	default:
		res = loadError
	}
	o.loads.Record(context.Background(), max(elapsed, 0).Seconds(), o.load[res]...)
}
