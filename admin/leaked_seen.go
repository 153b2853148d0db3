package admin

import (
	"container/list"
	"sync"
	"time"
)

// leakSeenWindow is how long a flagged key's key.leaked event is not
// emitted again, and leakSeenCap how many keys are remembered.
const (
	leakSeenWindow = 24 * time.Hour
	leakSeenCap    = 10_000
)

// leakSeen remembers when key.leaked was last emitted for each flagged
// key, so that a replayed report does not emit it again within window.
// It holds at most cap keys: the one reported least recently is
// forgotten first (and may then be emitted again). It is safe for
// concurrent use.
type leakSeen struct {
	window time.Duration
	cap    int

	mu    sync.Mutex
	order *list.List // of *leakSeenEntry, most recently reported first
	byID  map[string]*list.Element
}

type leakSeenEntry struct {
	id string
	at time.Time // when key.leaked was last emitted
}

func newLeakSeen(window time.Duration, capacity int) *leakSeen {
	return &leakSeen{window: window, cap: capacity, order: list.New(), byID: map[string]*list.Element{}}
}

// due reports whether key.leaked is to be emitted for key id at now: not
// within window of the last one. When it is, now is remembered.
func (s *leakSeen) due(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		s.order.MoveToFront(el)
		e := el.Value.(*leakSeenEntry)
		if now.Sub(e.at) < s.window {
			return false
		}
		e.at = now
		return true
	}
	s.byID[id] = s.order.PushFront(&leakSeenEntry{id: id, at: now})
	if s.order.Len() > s.cap {
		last := s.order.Back()
		s.order.Remove(last)
		delete(s.byID, last.Value.(*leakSeenEntry).id)
	}
	return true
}

func (s *leakSeen) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}
