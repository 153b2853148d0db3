package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory store for tests, examples and single-process
// services that can afford to lose their keys at restart. It is safe for
// concurrent use.
type Memory struct {
	mu       sync.RWMutex
	keys     map[string]*Key // by ID
	byDigest map[Digest]string
	users    map[string]*User // by ID
	byEmail  map[string]string
	reminded map[reminderKey]bool
	sessions map[Digest]*Session
	orgs     map[string]*Org // by ID
	signin   map[Digest]*SignInToken
}

var _ KeyStore = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{keys: map[string]*Key{}, byDigest: map[Digest]string{}}
	m.initLifecycleLocked()
	return m
}

// CreateKey implements [KeyStore].
func (m *Memory) CreateKey(ctx context.Context, k *Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return ErrConflict
	}
	if _, ok := m.byDigest[k.Digest]; ok {
		return ErrConflict
	}
	m.keys[k.ID] = k.Clone()
	m.byDigest[k.Digest] = k.ID
	return nil
}

// KeyByDigest implements [KeyStore].
func (m *Memory) KeyByDigest(ctx context.Context, d Digest) (*Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byDigest[d]
	if !ok {
		return nil, ErrNotFound
	}
	return m.keys[id].Clone(), nil
}

// KeyByID implements [KeyStore].
func (m *Memory) KeyByID(ctx context.Context, id string) (*Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.keys[id]
	if !ok {
		return nil, ErrNotFound
	}
	return k.Clone(), nil
}

// ListKeys implements [KeyStore].
func (m *Memory) ListKeys(ctx context.Context, f KeyFilter) ([]*Key, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := PageLimit(f.Limit)
	m.mu.RLock()
	var match []*Key
	for _, k := range m.keys {
		if (f.OwnerID != "" && k.OwnerID != f.OwnerID) ||
			(f.TenantID != "" && k.TenantID != f.TenantID) ||
			(!f.IncludeRevoked && k.Revoked()) ||
			(f.After != "" && k.ID <= f.After) {
			continue
		}
		match = append(match, k)
	}
	m.mu.RUnlock()
	slices.SortFunc(match, func(a, b *Key) int { return strings.Compare(a.ID, b.ID) })
	match, next := cutPage(match, limit, func(k *Key) string { return k.ID })
	out := make([]*Key, len(match))
	m.mu.RLock()
	for i, k := range match {
		out[i] = k.Clone()
	}
	m.mu.RUnlock()
	return out, next, nil
}

// UpdateKey implements [KeyStore].
func (m *Memory) UpdateKey(ctx context.Context, id string, u KeyUpdate) (*Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := k.Clone()
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	if u.ExpiresAt != nil {
		c.ExpiresAt = *u.ExpiresAt
	}
	applyControls(c, u)
	m.keys[id] = c
	return c.Clone(), nil
}

// RevokeKey implements [KeyStore].
func (m *Memory) RevokeKey(ctx context.Context, id string, t time.Time) (*Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nil, ErrNotFound
	}
	if !k.Revoked() {
		c := k.Clone()
		c.RevokedAt = t
		m.keys[id] = c
		k = c
	}
	return k.Clone(), nil
}

// DeleteKey implements [KeyStore].
func (m *Memory) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[id]; ok {
		delete(m.byDigest, k.Digest)
		delete(m.keys, id)
	}
	return nil
}
