package store

import (
	"context"
	"slices"
	"strings"
	"time"
)

var (
	_ UserStore     = (*Memory)(nil)
	_ UsageStore    = (*Memory)(nil)
	_ ReminderStore = (*Memory)(nil)
)

type reminderKey struct{ keyID, threshold string }

func (m *Memory) initLifecycleLocked() {
	if m.users == nil {
		m.users = map[string]*User{}
		m.byEmail = map[string]string{}
		m.reminded = map[reminderKey]bool{}
	}
}

// CreateUser implements [UserStore].
func (m *Memory) CreateUser(ctx context.Context, u *User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLifecycleLocked()
	email := NormalizeEmail(u.Email)
	if _, ok := m.users[u.ID]; ok {
		return ErrConflict
	}
	if _, ok := m.byEmail[email]; ok && email != "" {
		return ErrConflict
	}
	c := u.Clone()
	c.Email = email
	m.users[u.ID] = c
	if email != "" {
		m.byEmail[email] = u.ID
	}
	return nil
}

// UserByID implements [UserStore].
func (m *Memory) UserByID(ctx context.Context, id string) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[id]
	if !ok {
		return nil, ErrNotFound
	}
	return u.Clone(), nil
}

// UserByEmail implements [UserStore].
func (m *Memory) UserByEmail(ctx context.Context, email string) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byEmail[NormalizeEmail(email)]
	if !ok || email == "" {
		return nil, ErrNotFound
	}
	return m.users[id].Clone(), nil
}

// ListUsers implements [UserStore].
func (m *Memory) ListUsers(ctx context.Context, f UserFilter) ([]*User, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := PageLimit(f.Limit)
	m.mu.RLock()
	var out []*User
	for _, u := range m.users {
		if (f.TenantID != "" && u.TenantID != f.TenantID) || (f.After != "" && u.ID <= f.After) {
			continue
		}
		out = append(out, u.Clone())
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *User) int { return strings.Compare(a.ID, b.ID) })
	out, next := cutPage(out, limit, func(u *User) string { return u.ID })
	return out, next, nil
}

// UpdateUser implements [UserStore].
func (m *Memory) UpdateUser(ctx context.Context, id string, up UserUpdate) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := u.Clone()
	if up.Name != nil {
		c.Name = *up.Name
	}
	if up.Level != nil {
		c.Level = *up.Level
	}
	if up.Scopes != nil {
		c.Scopes = append([]string(nil), (*up.Scopes)...)
	}
	if up.PasswordHash != nil {
		c.PasswordHash = *up.PasswordHash
	}
	m.users[id] = c
	return c.Clone(), nil
}

// DeleteUser implements [UserStore].
func (m *Memory) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[id]; ok {
		delete(m.byEmail, u.Email)
		delete(m.users, id)
	}
	return nil
}

// TouchKeys implements [UsageStore].
func (m *Memory) TouchKeys(ctx context.Context, usage []KeyUsage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range usage {
		k, ok := m.keys[u.KeyID]
		if !ok || !u.At.After(k.LastUsedAt) {
			continue
		}
		c := k.Clone()
		c.LastUsedAt = u.At
		m.keys[u.KeyID] = c
	}
	return nil
}

// ExpiringKeys implements [ReminderStore].
func (m *Memory) ExpiringKeys(ctx context.Context, from, to time.Time, afterID string, limit int) ([]*Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var out []*Key
	for _, k := range m.keys {
		if k.Revoked() || k.ExpiresAt.IsZero() || !k.ExpiresAt.After(from) || k.ExpiresAt.After(to) || k.ID <= afterID {
			continue
		}
		out = append(out, k.Clone())
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Key) int { return strings.Compare(a.ID, b.ID) })
	if limit = PageLimit(limit); len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// MarkReminded implements [ReminderStore].
func (m *Memory) MarkReminded(ctx context.Context, keyID, threshold string, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initLifecycleLocked()
	k := reminderKey{keyID, threshold}
	if m.reminded[k] {
		return false, nil
	}
	m.reminded[k] = true
	return true, nil
}
