package jwtauth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-go/gatehouse/store"
)

// RegisteredKeysConfig holds the optional settings of [RegisteredKeys].
// The zero value is usable.
type RegisteredKeysConfig struct {
	// Size bounds the number of keys kept in memory. Default 10,000.
	Size int
	// NegativeSize bounds the number of unknown kids remembered, kept apart
	// so that a flood of made-up kids cannot evict real keys. Default
	// 10,000.
	NegativeSize int
	// RecheckInterval is how long a key read from the store is trusted
	// before it is read again, together with the tokens it verified. It
	// bounds how long a registration deleted by another process keeps
	// working here; deletions made through [RegisteredKeys.DeleteSigningKey]
	// or reported with [RegisteredKeys.Invalidate] take effect at once.
	// Default 1 minute.
	RecheckInterval time.Duration
	// NegativeTTL is how long an unknown kid is remembered. Default 5
	// seconds.
	NegativeTTL time.Duration
	// LoadTimeout bounds one store call. Default 5 seconds.
	LoadTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// RegisteredKeys is a [KeySource] of public keys users registered in a
// [store.SigningKeyStore] to sign their own tokens (personal access
// configs, see [NewPersonalConfig]). Tokens it verifies act as the key's
// owner, in its tenant, with at most its scopes, whatever their claims say.
//
// It also implements store.SigningKeyStore over the same store, so that
// registrations and deletions made through it reach the caches at once:
// a deleted key stops verifying, and the tokens it verified leave the
// authenticator's token cache, before DeleteSigningKey returns.
//
// It is safe for concurrent use.
type RegisteredKeys struct {
	store store.SigningKeyStore
	cfg   RegisteredKeysConfig
	keys  *lru.Cache[string, *Key]
	neg   *lru.Cache[string, time.Time]
	group singleflight.Group

	mu    sync.Mutex // held to change epoch and to insert
	epoch atomic.Uint64
}

var (
	_ KeySource             = (*RegisteredKeys)(nil)
	_ store.SigningKeyStore = (*RegisteredKeys)(nil)
)

// registeredAlgorithms are the algorithms a registration may use.
var registeredAlgorithms = []string{EdDSA, ES256}

// NewRegisteredKeys returns a key source over s.
func NewRegisteredKeys(s store.SigningKeyStore, cfg RegisteredKeysConfig) (*RegisteredKeys, error) {
	if s == nil {
		return nil, errors.New("jwtauth: registered keys: nil store")
	}
	if cfg.Size < 0 || cfg.NegativeSize < 0 || cfg.RecheckInterval < 0 || cfg.NegativeTTL < 0 || cfg.LoadTimeout < 0 {
		return nil, errors.New("jwtauth: registered keys: sizes and durations must not be negative")
	}
	if cfg.Size == 0 {
		cfg.Size = 10_000
	}
	if cfg.NegativeSize == 0 {
		cfg.NegativeSize = 10_000
	}
	if cfg.RecheckInterval == 0 {
		cfg.RecheckInterval = time.Minute
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = 5 * time.Second
	}
	if cfg.LoadTimeout == 0 {
		cfg.LoadTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &RegisteredKeys{store: s, cfg: cfg}
	var err error
	// A key that leaves the cache, evicted or dropped, is no longer
	// fresh: the tokens it verified are verified again (and the store
	// read) on their next use, so that Invalidate never misses one.
	stale := func(_ string, k *Key) { k.freshUntil.Store(0) }
	if r.keys, err = lru.NewWithEvict[string, *Key](cfg.Size, stale); err != nil {
		return nil, fmt.Errorf("jwtauth: registered keys: %w", err)
	}
	if r.neg, err = lru.New[string, time.Time](cfg.NegativeSize); err != nil {
		return nil, fmt.Errorf("jwtauth: registered keys: %w", err)
	}
	return r, nil
}

// Algorithms implements [KeySource]: EdDSA and ES256.
func (r *RegisteredKeys) Algorithms() []string { return slices.Clone(registeredAlgorithms) }

// Key implements [KeySource]. Registered keys are always named by kid.
func (r *RegisteredKeys) Key(ctx context.Context, kid string) (*Key, error) {
	if kid == "" || len(kid) > MaxKeyIDLength {
		return nil, ErrUnknownKey
	}
	now := r.cfg.Now()
	if k, ok := r.keys.Get(kid); ok && !k.Revoked() && now.UnixNano() < k.freshUntil.Load() {
		return k, nil
	}
	if until, ok := r.neg.Get(kid); ok && now.Before(until) {
		return nil, ErrUnknownKey
	}
	e0 := r.epoch.Load()
	ch := r.group.DoChan(fmt.Sprintf("%d/%s", e0, kid), func() (any, error) {
		return r.load(ctx, kid, e0)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Key), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// load reads kid from the store and caches the result, unless an
// invalidation happened since epoch e0 began (then a key found is handed to
// this lookup only, never trusted by the token cache).
func (r *RegisteredKeys) load(ctx context.Context, kid string, e0 uint64) (*Key, error) {
	// A load that ended just before this one began may have answered
	// already: look again, so that callers who missed the caches together
	// cause one store read, not one per wave.
	if now := r.cfg.Now(); r.epoch.Load() == e0 {
		if k, ok := r.keys.Peek(kid); ok && !k.Revoked() && now.UnixNano() < k.freshUntil.Load() {
			return k, nil
		}
		if until, ok := r.neg.Peek(kid); ok && now.Before(until) {
			return nil, ErrUnknownKey
		}
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LoadTimeout)
	defer cancel()
	rec, err := safeSigningKeyLoad(lctx, r.store, kid)
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	current := r.epoch.Load() == e0
	prev, _ := r.keys.Peek(kid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if current {
			r.neg.Add(kid, now.Add(r.cfg.NegativeTTL))
			r.keys.Remove(kid)
			if prev != nil {
				prev.revoke()
			}
		}
		return nil, ErrUnknownKey
	case err != nil:
		return nil, fmt.Errorf("jwtauth: registered keys: %w", err)
	}
	k, err := registeredKey(rec, kid)
	if err != nil {
		return nil, err
	}
	if !current {
		return k, nil // freshUntil stays 0
	}
	if prev != nil && !prev.Revoked() && sameRegistration(prev, k) {
		k = prev
	} else if prev != nil {
		prev.revoke()
	}
	k.freshUntil.Store(now.Add(r.cfg.RecheckInterval).UnixNano())
	r.keys.Add(kid, k)
	r.neg.Remove(kid)
	return k, nil
}

// safeSigningKeyLoad calls the store and turns a panic into an error.
func safeSigningKeyLoad(ctx context.Context, s store.SigningKeyStore, kid string) (rec *store.SigningKey, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jwtauth: signing key store panicked: %v", p)
		}
	}()
	return s.SigningKeyByKID(ctx, kid)
}

// registeredKey builds the key of a registration. A record that cannot be
// right (another kid, an unknown algorithm, a key that does not parse or
// does not fit the algorithm) is store.ErrCorrupt, which fails closed.
func registeredKey(rec *store.SigningKey, kid string) (*Key, error) {
	if rec == nil || rec.KID != kid || !slices.Contains(registeredAlgorithms, rec.Algorithm) {
		return nil, store.ErrCorrupt
	}
	pub, err := x509.ParsePKIXPublicKey(rec.PublicKey)
	if err != nil || checkKeyType(rec.Algorithm, pub) != nil {
		return nil, store.ErrCorrupt
	}
	k := newKey(rec.KID, rec.Algorithm, pub, sha256.Sum256(rec.PublicKey))
	k.freshUntil.Store(0)
	k.reg = rec.Clone()
	if !rec.ExpiresAt.IsZero() {
		k.notAfter = rec.ExpiresAt.UnixNano()
	}
	return k, nil
}

// sameRegistration reports whether a and b verify the same tokens into the
// same principals.
func sameRegistration(a, b *Key) bool {
	ra, rb := a.reg, b.reg
	return a.alg == b.alg && a.fingerprint == b.fingerprint && a.notAfter == b.notAfter &&
		ra.OwnerID == rb.OwnerID && ra.TenantID == rb.TenantID && slices.Equal(ra.Scopes, rb.Scopes)
}

// Invalidate drops kid from the caches and revokes the key held for it, so
// that neither it nor the tokens it verified are trusted again before the
// store is read. An invalidation feed calls it when another process
// changes a registration.
func (r *RegisteredKeys) Invalidate(kid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch.Add(1)
	if k, ok := r.keys.Peek(kid); ok {
		k.revoke()
	}
	r.keys.Remove(kid)
	r.neg.Remove(kid)
}

// RegisterSigningKey implements store.SigningKeyStore: it stores k and
// forgets that its kid was unknown.
func (r *RegisteredKeys) RegisterSigningKey(ctx context.Context, k *store.SigningKey) error {
	if err := r.store.RegisterSigningKey(ctx, k); err != nil {
		return err
	}
	r.Invalidate(k.KID)
	return nil
}

// SigningKeyByKID implements store.SigningKeyStore; it reads the store.
func (r *RegisteredKeys) SigningKeyByKID(ctx context.Context, kid string) (*store.SigningKey, error) {
	return r.store.SigningKeyByKID(ctx, kid)
}

// ListSigningKeys implements store.SigningKeyStore; it reads the store.
func (r *RegisteredKeys) ListSigningKeys(ctx context.Context, ownerID string) ([]*store.SigningKey, error) {
	return r.store.ListSigningKeys(ctx, ownerID)
}

// DeleteSigningKey implements store.SigningKeyStore: it deletes the
// registration and revokes the key, so that no token signed with it is
// accepted in this process once it returns, cached or not.
func (r *RegisteredKeys) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := r.store.DeleteSigningKey(ctx, kid); err != nil {
		return err
	}
	r.Invalidate(kid)
	return nil
}
