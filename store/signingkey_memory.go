package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
)

// MemorySigningKeys is an in-memory [SigningKeyStore] for tests, examples
// and single-process services. It is safe for concurrent use.
type MemorySigningKeys struct {
	mu   sync.RWMutex
	keys map[string]*SigningKey // by KID
}

var _ SigningKeyStore = (*MemorySigningKeys)(nil)

// NewMemorySigningKeys returns an empty store.
func NewMemorySigningKeys() *MemorySigningKeys {
	return &MemorySigningKeys{keys: map[string]*SigningKey{}}
}

// RegisterSigningKey implements [SigningKeyStore]. It refuses a key without
// a KID or a public key.
func (m *MemorySigningKeys) RegisterSigningKey(ctx context.Context, k *SigningKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k == nil || k.KID == "" || len(k.PublicKey) == 0 {
		return errors.New("store: a signing key needs a KID and a public key")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.KID]; ok {
		return ErrConflict
	}
	m.keys[k.KID] = k.Clone()
	return nil
}

// SigningKeyByKID implements [SigningKeyStore].
func (m *MemorySigningKeys) SigningKeyByKID(ctx context.Context, kid string) (*SigningKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.keys[kid]
	if !ok {
		return nil, ErrNotFound
	}
	return k.Clone(), nil
}

// ListSigningKeys implements [SigningKeyStore].
func (m *MemorySigningKeys) ListSigningKeys(ctx context.Context, ownerID string) ([]*SigningKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var out []*SigningKey
	for _, k := range m.keys {
		if k.OwnerID == ownerID {
			out = append(out, k.Clone())
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *SigningKey) int { return strings.Compare(a.KID, b.KID) })
	return out, nil
}

// DeleteSigningKey implements [SigningKeyStore].
func (m *MemorySigningKeys) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.keys, kid)
	m.mu.Unlock()
	return nil
}
