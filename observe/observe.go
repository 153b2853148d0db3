// Package observe gathers what Gatehouse can tell about its decisions: an
// [Observer] sees every accepted and refused request (through
// [middleware.Config.Observer]) and every cache lookup and store load
// (through [store.CacheConfig.Observer]).
//
// Two implementations come with it: [Slog] logs the events through
// log/slog, and [Counters] counts them with atomics, for tests, expvar or a
// metrics exporter. [Multi] sends events to several observers. The
// examples module has a Prometheus exporter built on the same interface
// (examples/metrics).
//
//	counters := &observe.Counters{}
//	obs := observe.Multi(observe.NewSlog(logger, nil), counters)
//	keys, _ := store.NewKeyCache(s, store.CacheConfig{Observer: obs})
//	m, _ := middleware.New(middleware.Config{Observer: obs}, auth)
//
// Observers run on the request path: they must be fast, must not block,
// and must be safe for concurrent use. None of them ever sees a
// credential: only the principal, the typed error and the request.
package observe

import (
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// Observer receives authentication and cache events.
type Observer interface {
	middleware.Observer
	store.CacheObserver
}

// Multi returns an Observer that passes every event to each of obs in
// order; nil entries are skipped.
func Multi(obs ...Observer) Observer {
	var out multi
	for _, o := range obs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

type multi []Observer

func (m multi) Authenticated(r *http.Request, p *gatehouse.Principal) {
	for _, o := range m {
		o.Authenticated(r, p)
	}
}

func (m multi) Refused(r *http.Request, err error) {
	for _, o := range m {
		o.Refused(r, err)
	}
}

func (m multi) CacheLookup(c store.CacheOutcome) {
	for _, o := range m {
		o.CacheLookup(c)
	}
}

func (m multi) StoreLoad(elapsed time.Duration, err error) {
	for _, o := range m {
		o.StoreLoad(elapsed, err)
	}
}
