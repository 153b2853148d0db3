package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

const sessionColumns = `digest, user_id, tenant_id, scopes, created_at, last_seen_at, expires_at`

func scanSession(r rowScanner) (*store.Session, error) {
	ss := &store.Session{}
	err := r.Scan(digestCol{&ss.Digest}, &ss.UserID, &ss.TenantID, jsonCol[[]string]{&ss.Scopes},
		timeCol{&ss.CreatedAt}, timeCol{&ss.LastSeenAt}, timeCol{&ss.ExpiresAt})
	if err != nil {
		return nil, err
	}
	if len(ss.Scopes) == 0 {
		ss.Scopes = nil
	}
	return ss, nil
}

// CreateSession implements [store.SessionStore].
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	sc, err := scopesArg(ss.Scopes)
	if err != nil {
		return translate("create session", err)
	}
	err = s.exec(ctx, `INSERT INTO gatehouse_sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ss.Digest[:], ss.UserID, ss.TenantID, sc, s.timeArg(ss.CreatedAt),
		s.timeArg(ss.LastSeenAt), s.timeArg(ss.ExpiresAt))
	return translate("create session", err)
}

// SessionByDigest implements [store.SessionStore].
func (s *Store) SessionByDigest(ctx context.Context, d store.Digest) (*store.Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM gatehouse_sessions WHERE digest = $1`, d[:]))
	return ss, translate("session by digest", err)
}

// TouchSession implements [store.SessionStore]; the last-seen time only
// moves forward, and a missing session is not an error.
func (s *Store) TouchSession(ctx context.Context, d store.Digest, at time.Time) error {
	err := s.exec(ctx, `UPDATE gatehouse_sessions SET last_seen_at = $2
		WHERE digest = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)`, d[:], s.timeArg(at))
	return translate("touch session", err)
}

// DeleteSession implements [store.SessionStore]. The deletion is published
// on the invalidation feed, so that other processes' session caches drop it.
func (s *Store) DeleteSession(ctx context.Context, d store.Digest) error {
	err := s.changeKey(ctx, func(tx *sql.Tx) ([]store.Digest, error) {
		return deletedDigests(ctx, tx, `DELETE FROM gatehouse_sessions WHERE digest = $1 RETURNING digest`, d[:])
	})
	return translate("delete session", err)
}

// DeleteUserSessions implements [store.SessionStore], publishing every
// deleted session on the invalidation feed.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) ([]store.Digest, error) {
	var out []store.Digest
	err := s.changeKey(ctx, func(tx *sql.Tx) ([]store.Digest, error) {
		var err error
		out, err = deletedDigests(ctx, tx, `DELETE FROM gatehouse_sessions WHERE user_id = $1 RETURNING digest`, userID)
		return out, err
	})
	if err != nil {
		return nil, translate("delete user sessions", err)
	}
	return out, nil
}
