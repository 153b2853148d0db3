package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"

	"github.com/gatehouse-go/gatehouse/store"
)

// Channel is the PostgreSQL NOTIFY channel on which a Store announces
// changed keys. The payload is the key's digest in lower-case hex; any
// other payload makes watchers drop their whole cache. Another program may
// publish on it too, for example after editing keys by hand:
//
//	SELECT pg_notify('gatehouse_keys', encode(digest, 'hex')) FROM gatehouse_keys WHERE ...
const Channel = "gatehouse_keys"

// publish announces, inside tx, that the key with digest d changed:
// PostgreSQL sends a notification when tx commits, SQLite appends to the
// change log.
func (s *Store) publish(ctx context.Context, tx *sql.Tx, d store.Digest) error {
	if s.dialect == Postgres {
		_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, hex.EncodeToString(d[:]))
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO gatehouse_key_changes (digest, changed_at) VALUES ($1, $2)`,
		d[:], s.timeArg(s.now()))
	return err
}
