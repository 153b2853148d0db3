package store

import (
	"context"
	"slices"
	"strings"
	"time"
)

var (
	_ OrgStore         = (*Memory)(nil)
	_ SignInTokenStore = (*Memory)(nil)
)

// CreateOrg implements [OrgStore].
func (m *Memory) CreateOrg(ctx context.Context, o *Org) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.orgs == nil {
		m.orgs = map[string]*Org{}
	}
	if _, ok := m.orgs[o.ID]; ok {
		return ErrConflict
	}
	m.orgs[o.ID] = o.Clone()
	return nil
}

// OrgByID implements [OrgStore].
func (m *Memory) OrgByID(ctx context.Context, id string) (*Org, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, ok := m.orgs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return o.Clone(), nil
}

// ListOrgs implements [OrgStore].
func (m *Memory) ListOrgs(ctx context.Context, f OrgFilter) ([]*Org, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := PageLimit(f.Limit)
	m.mu.RLock()
	var out []*Org
	for _, o := range m.orgs {
		if f.After != "" && o.ID <= f.After {
			continue
		}
		out = append(out, o.Clone())
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Org) int { return strings.Compare(a.ID, b.ID) })
	out, next := cutPage(out, limit, func(o *Org) string { return o.ID })
	return out, next, nil
}

// UpdateOrg implements [OrgStore].
func (m *Memory) UpdateOrg(ctx context.Context, id string, u OrgUpdate) (*Org, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orgs[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := o.Clone()
	if u.Name != nil {
		c.Name = *u.Name
	}
	switch {
	case u.ClearPolicy:
		c.Policy = nil
	case u.Policy != nil:
		p := *u.Policy
		c.Policy = &p
	}
	m.orgs[id] = c
	return c.Clone(), nil
}

// CreateSignInToken implements [SignInTokenStore].
func (m *Memory) CreateSignInToken(ctx context.Context, t *SignInToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.signin == nil {
		m.signin = map[Digest]*SignInToken{}
	}
	if _, ok := m.signin[t.Digest]; ok {
		return ErrConflict
	}
	c := *t
	m.signin[t.Digest] = &c
	return nil
}

// ConsumeSignInToken implements [SignInTokenStore].
func (m *Memory) ConsumeSignInToken(ctx context.Context, d Digest, now time.Time) (*SignInToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.signin[d]
	if !ok {
		return nil, ErrNotFound
	}
	delete(m.signin, d)
	if t.ExpiredAt(now) {
		return nil, ErrNotFound
	}
	c := *t
	return &c, nil
}
