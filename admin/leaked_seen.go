package admin

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
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

	mu   sync.Mutex                    // makes due's look-up and update one step
	last *lru.Cache[string, time.Time] // key ID: when key.leaked was last emitted
}

func newLeakSeen(window time.Duration, capacity int) *leakSeen {
	c, err := lru.New[string, time.Time](capacity)
	if err != nil {
		panic("admin: leak cache: " + err.Error()) // only for a size below 1
	}
	return &leakSeen{window: window, last: c}
}

// due reports whether key.leaked is to be emitted for key id at now: not
// within window of the last one. When it is, now is remembered.
func (s *leakSeen) due(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Get makes id the most recently reported, due or not.
	if at, ok := s.last.Get(id); ok && now.Sub(at) < s.window {
		return false
	}
	s.last.Add(id, now)
	return true
}

func (s *leakSeen) len() int { return s.last.Len() }
