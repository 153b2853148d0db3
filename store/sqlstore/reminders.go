package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// ExpiringKeys implements [store.ReminderStore]: unrevoked keys whose
// expiry falls in (from, to], in ID order after afterID, through the
// partial index on expires_at.
func (s *Store) ExpiringKeys(ctx context.Context, from, to time.Time, afterID string, limit int) ([]*store.Key, error) {
	limit = store.PageLimit(limit)
	out, err := queryRows(ctx, s.db, nil, scanKey, `SELECT `+keyColumns+` FROM gatehouse_keys
		WHERE revoked_at IS NULL AND expires_at IS NOT NULL
		  AND expires_at > $1 AND expires_at <= $2 AND id > $3
		ORDER BY id LIMIT $4`,
		s.timeArg(from), s.timeArg(to), afterID, limit)
	return out, translate("expiring keys", err)
}

// MarkReminded implements [store.ReminderStore]. The insert and its
// primary key make the claim atomic across processes: exactly one caller
// gets true for a key and threshold.
func (s *Store) MarkReminded(ctx context.Context, keyID, threshold string, at time.Time) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO gatehouse_key_reminders (key_id, threshold, reminded_at)
			VALUES ($1, $2, $3) ON CONFLICT (key_id, threshold) DO NOTHING`,
			keyID, threshold, s.timeArg(at))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, translate("mark reminded", err)
	}
	return n == 1, nil
}
