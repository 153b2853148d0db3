package store

import (
	"context"
	"time"
)

var _ SessionStore = (*Memory)(nil)

// CreateSession implements [SessionStore].
func (m *Memory) CreateSession(ctx context.Context, s *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil {
		m.sessions = map[Digest]*Session{}
	}
	if _, ok := m.sessions[s.Digest]; ok {
		return ErrConflict
	}
	m.sessions[s.Digest] = s.Clone()
	return nil
}

// SessionByDigest implements [SessionStore].
func (m *Memory) SessionByDigest(ctx context.Context, d Digest) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[d]
	if !ok {
		return nil, ErrNotFound
	}
	return s.Clone(), nil
}

// TouchSession implements [SessionStore].
func (m *Memory) TouchSession(ctx context.Context, d Digest, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[d]; ok && at.After(s.LastSeenAt) {
		c := s.Clone()
		c.LastSeenAt = at
		m.sessions[d] = c
	}
	return nil
}

// DeleteSession implements [SessionStore].
func (m *Memory) DeleteSession(ctx context.Context, d Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, d)
	return nil
}

// DeleteUserSessions implements [SessionStore].
func (m *Memory) DeleteUserSessions(ctx context.Context, userID string) ([]Digest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Digest
	for d, s := range m.sessions {
		if s.UserID == userID {
			out = append(out, d)
			delete(m.sessions, d)
		}
	}
	return out, nil
}
