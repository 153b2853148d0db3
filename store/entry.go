package store

import (
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// entryState is what a cached key or session carries besides its record:
// the principal built from it once, whether its plaintext's format was
// checked, and the last use recorded in this process. [CachedKey] and
// [CachedSession] embed it.
type entryState[T any] struct {
	principal atomic.Pointer[gatehouse.Principal]
	formatOK  atomic.Bool
	lastUse   atomic.Int64 // unix nanoseconds
}

// FormatChecked reports whether MarkFormatChecked was called. A cache
// cannot see plaintexts; an authenticator that checks a credential's
// format before the lookup that loaded this entry marks it, and may skip
// the check on later hits: only that plaintext has this digest. An entry
// loaded any other way (an administrative read, a record imported with a
// digest of its own) starts unmarked.
func (s *entryState[T]) FormatChecked() bool { return s.formatOK.Load() }

// MarkFormatChecked records that a plaintext with this entry's digest was
// found well-formed by its authenticator.
func (s *entryState[T]) MarkFormatChecked() { s.formatOK.Store(true) }

// principalOnce returns the principal built from rec, building it with
// build on first use. Every later call returns the same value, whatever
// build it passes: one cache serves one mapping of records to principals.
func (s *entryState[T]) principalOnce(rec *T, build func(*T) *gatehouse.Principal) *gatehouse.Principal {
	if p := s.principal.Load(); p != nil {
		return p
	}
	s.principal.CompareAndSwap(nil, build(rec))
	return s.principal.Load()
}

// claimUse reports whether a use at now is the first in this second, and
// if so records it: callers write a use through at most once a second per
// entry, and the common case is one atomic load and no lock.
func (s *entryState[T]) claimUse(now time.Time) bool {
	n := now.UnixNano()
	last := s.lastUse.Load()
	return n-last >= int64(time.Second) && s.lastUse.CompareAndSwap(last, n)
}
