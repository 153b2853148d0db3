package ratelimit

// bucketID identifies a bucket: a policy name and a key.
type bucketID struct {
	policy string
	key    Key
}

// lruEntry is one bucket: its theoretical arrival time and its place in
// the recency list.
type lruEntry struct {
	id         bucketID
	hash       uint64
	tat        int64
	prev, next *lruEntry
}

// lru is a fixed-capacity map of buckets that drops the least recently
// used one to make room. It is not safe for concurrent use: each shard of
// [Memory] guards its own with a mutex. Once full, adding a bucket reuses
// the entry of the one it drops, so that a flood of new keys does not
// allocate.
//
// Entries are indexed by a 64-bit seeded hash of their bucketID, which the
// caller computes once per decision (it also picks the shard); an entry
// found under a hash is used only if its bucketID is the one asked for.
// Two buckets whose hashes collide share one slot: the later replaces the
// earlier, which starts full when it comes back, as if the LRU had dropped
// it. With a random seed per limiter, nobody can aim for that.
type lru struct {
	items map[uint64]*lruEntry
	root  lruEntry // root.next is the most recent entry, root.prev the least
	cap   int
}

func (l *lru) init(capacity int) {
	l.items = make(map[uint64]*lruEntry, min(capacity, 1024))
	l.root.next, l.root.prev = &l.root, &l.root
	l.cap = capacity
}

func (l *lru) len() int { return len(l.items) }

// get returns the entry for id, made the most recent, or nil.
func (l *lru) get(h uint64, id bucketID) *lruEntry {
	e := l.items[h]
	if e == nil || e.id != id {
		return nil
	}
	if l.root.next != e {
		l.unlink(e)
		l.pushFront(e)
	}
	return e
}

// add inserts id, which get did not find, as the most recent entry: in
// the slot of a colliding entry if there is one, else in a new entry or,
// when full, in that of the least recent one.
func (l *lru) add(h uint64, id bucketID, tat int64) {
	e := l.items[h]
	switch {
	case e != nil: // a collision: take over the slot
		l.unlink(e)
	case len(l.items) >= l.cap:
		e = l.root.prev
		l.unlink(e)
		delete(l.items, e.hash)
		l.items[h] = e
	default:
		e = new(lruEntry)
		l.items[h] = e
	}
	e.id, e.hash, e.tat = id, h, tat
	l.pushFront(e)
}

// remove drops id if present.
func (l *lru) remove(h uint64, id bucketID) {
	if e := l.items[h]; e != nil && e.id == id {
		l.unlink(e)
		delete(l.items, h)
	}
}

func (l *lru) unlink(e *lruEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (l *lru) pushFront(e *lruEntry) {
	e.prev = &l.root
	e.next = l.root.next
	l.root.next.prev = e
	l.root.next = e
}
