package storetest

import (
	"context"
	"errors"
	"sync"

	"github.com/gatehouse-go/gatehouse/store"
)

// Fault is what a [Faulty] store does to a lookup.
type Fault int

// The faults.
const (
	// FaultNone passes the lookup to the wrapped store.
	FaultNone Fault = iota
	// FaultError fails the lookup with ErrInjected.
	FaultError
	// FaultStall blocks until the lookup's context ends, past any
	// deadline the caller set, and returns the context's error.
	FaultStall
	// FaultCorrupt answers with a record for another digest.
	FaultCorrupt
	// FaultNil answers with no record and no error.
	FaultNil
	// FaultPanic panics.
	FaultPanic
)

func (f Fault) String() string {
	return [...]string{"none", "error", "stall", "corrupt", "nil", "panic"}[f]
}

// ErrInjected is the error of [FaultError].
var ErrInjected = errors.New("storetest: injected fault")

// Faulty wraps a store.KeyStore and injects faults into KeyByDigest, the
// lookup on the request path, following a schedule: call n gets
// schedule[n % len(schedule)], until [Faulty.Set] replaces it. Other methods
// pass through. It is safe for concurrent use.
type Faulty struct {
	store.KeyStore

	mu       sync.Mutex
	schedule []Fault
	calls    int
	seen     map[Fault]int
}

// NewFaulty returns s wrapped with the given schedule (none: no fault).
func NewFaulty(s store.KeyStore, schedule ...Fault) *Faulty {
	f := &Faulty{KeyStore: s, seen: map[Fault]int{}}
	f.Set(schedule...)
	return f
}

// Set replaces the schedule and restarts it.
func (f *Faulty) Set(schedule ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(schedule) == 0 {
		schedule = []Fault{FaultNone}
	}
	f.schedule, f.calls = append([]Fault(nil), schedule...), 0
}

// Seen returns how many lookups got each fault so far.
func (f *Faulty) Seen() map[Fault]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[Fault]int, len(f.seen))
	for k, v := range f.seen {
		out[k] = v
	}
	return out
}

func (f *Faulty) next() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault := f.schedule[f.calls%len(f.schedule)]
	f.calls++
	f.seen[fault]++
	return fault
}

// KeyByDigest implements store.KeyStore with the scheduled fault.
func (f *Faulty) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	switch f.next() {
	case FaultError:
		return nil, ErrInjected
	case FaultStall:
		<-ctx.Done()
		return nil, ctx.Err()
	case FaultCorrupt:
		k, err := f.KeyStore.KeyByDigest(ctx, d)
		if err != nil {
			return nil, err
		}
		k.Digest[0] ^= 0xff
		return k, nil
	case FaultNil:
		return nil, nil
	case FaultPanic:
		panic("storetest: injected panic")
	}
	return f.KeyStore.KeyByDigest(ctx, d)
}
