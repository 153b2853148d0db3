package console

import (
	"crypto/rand"

	lru "github.com/hashicorp/golang-lru/v2"
)

// formLedgerSize bounds the forms remembered as sent.
const formLedgerSize = 10000

// formLedger remembers which create and rotate forms were sent, so that a
// form sent twice (a reload of the page that showed a key, a double click)
// neither issues a second key nor shows one: each form carries a random
// form_id, and only its first successful POST acts. A POST takes the
// form_id atomically before it acts, so that two concurrent sends of one
// form never both act, and releases it when the action fails, so that the
// form can be sent again (going back after a 422 or a 503). It is bounded (an LRU) and
// local to the process: behind a load balancer a resent form may reach
// another instance and act again, which issues a second key but never
// shows the first one twice. It is safe for concurrent use.
type formLedger struct {
	seen *lru.Cache[string, struct{}]
}

func newFormLedger(size int) *formLedger {
	c, _ := lru.New[string, struct{}](size)
	return &formLedger{seen: c}
}

// newFormID returns a fresh form_id: 128 bits from crypto/rand, in
// base32 (26 characters).
func newFormID() string {
	return rand.Text()
}

// take records id and reports whether no other send of it had taken it
// before (atomically). An id of the wrong shape is never taken.
func (l *formLedger) take(id string) bool {
	if !validFormID(id) {
		return false
	}
	found, _ := l.seen.ContainsOrAdd(id, struct{}{})
	return !found
}

// release forgets id, taken by a send whose action failed, so that the
// form may be sent again.
func (l *formLedger) release(id string) { l.seen.Remove(id) }

// validFormID reports whether id has the shape newFormID makes: 26
// characters of crypto/rand's Text alphabet (base32).
func validFormID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
