package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

const keyColumns = `id, digest, prefix, last4, name, description, owner_id, tenant_id,
	scopes, role, created_by, created_at, expires_at, last_used_at, revoked_at, metadata,
	allowed_cidrs, credits_remaining, credits_refill, credits_interval, credits_since`

type rowScanner interface{ Scan(dest ...any) error }

func scanKey(r rowScanner) (*store.Key, error) {
	k := &store.Key{}
	var cc creditsCols
	err := r.Scan(append([]any{&k.ID, digestCol{&k.Digest}, &k.Prefix, &k.Last4, &k.Name, &k.Description,
		&k.OwnerID, &k.TenantID, jsonCol[[]string]{&k.Scopes}, &k.Role, &k.CreatedBy,
		timeCol{&k.CreatedAt}, timeCol{&k.ExpiresAt}, timeCol{&k.LastUsedAt}, timeCol{&k.RevokedAt},
		jsonCol[map[string]string]{&k.Metadata}, cidrsCol{&k.AllowedNetworks}}, cc.dest()...)...)
	if err != nil {
		return nil, err
	}
	if k.Credits, err = cc.credits(); err != nil {
		return nil, err
	}
	emptyToNil(k)
	return k, nil
}

// CreateKey implements [store.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k *store.Key) error {
	sc, err := scopesArg(k.Scopes)
	if err != nil {
		return translate("create key", err)
	}
	md, err := metadataArg(k.Metadata)
	if err != nil {
		return translate("create key", err)
	}
	cidrs, err := cidrsArg(k.AllowedNetworks)
	if err != nil {
		return translate("create key", err)
	}
	args := append([]any{k.ID, k.Digest[:], k.Prefix, k.Last4, k.Name, k.Description, k.OwnerID, k.TenantID,
		sc, k.Role, k.CreatedBy, s.timeArg(k.CreatedAt), s.timeArg(k.ExpiresAt),
		s.timeArg(k.LastUsedAt), s.timeArg(k.RevokedAt), md, cidrs}, s.creditsArgs(k.Credits)...)
	err = s.exec(ctx, `INSERT INTO gatehouse_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
			$17, $18, $19, $20, $21)`, args...)
	return translate("create key", err)
}

// KeyByDigest implements [store.KeyStore] with one indexed lookup.
func (s *Store) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM gatehouse_keys WHERE digest = $1`, d[:]))
	return k, translate("key by digest", err)
}

// KeyByID implements [store.KeyStore].
func (s *Store) KeyByID(ctx context.Context, id string) (*store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM gatehouse_keys WHERE id = $1`, id))
	return k, translate("key by id", err)
}

// ListKeys implements [store.KeyStore] with keyset pagination on the ID.
func (s *Store) ListKeys(ctx context.Context, f store.KeyFilter) ([]*store.Key, string, error) {
	limit := store.PageLimit(f.Limit)
	var w filter
	w.eq("owner_id", f.OwnerID)
	w.eq("tenant_id", f.TenantID)
	if !f.IncludeRevoked {
		w.cond("revoked_at IS NULL")
	}
	q := w.query(`SELECT `+keyColumns+` FROM gatehouse_keys`, f.After, limit)
	return listPage(ctx, s, "list keys", &w, q, limit, scanKey, func(k *store.Key) string { return k.ID })
}

// UpdateKey implements [store.KeyStore]. A change is published on the
// invalidation feed in the same transaction.
func (s *Store) UpdateKey(ctx context.Context, id string, u store.KeyUpdate) (*store.Key, error) {
	var set []string
	w := filter{args: []any{id}} // $1 is the ID
	arg := w.arg
	if u.Name != nil {
		set = append(set, "name = "+arg(*u.Name))
	}
	if u.Description != nil {
		set = append(set, "description = "+arg(*u.Description))
	}
	if u.ExpiresAt != nil {
		set = append(set, "expires_at = "+arg(s.timeArg(*u.ExpiresAt)))
	}
	if u.AllowedNetworks != nil {
		cidrs, err := cidrsArg(*u.AllowedNetworks)
		if err != nil {
			return nil, translate("update key", err)
		}
		set = append(set, "allowed_cidrs = "+arg(cidrs))
	}
	if u.Credits != nil {
		var c *gatehouse.Credits
		if *u.Credits != (gatehouse.Credits{}) {
			c = u.Credits
		}
		ca := s.creditsArgs(c)
		set = append(set, "credits_remaining = "+arg(ca[0]), "credits_refill = "+arg(ca[1]),
			"credits_interval = "+arg(ca[2]), "credits_since = "+arg(ca[3]))
	}
	if len(set) == 0 {
		return s.KeyByID(ctx, id)
	}
	var k *store.Key
	err := s.changeKey(ctx, func(tx *sql.Tx) ([]store.Digest, error) {
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, `UPDATE gatehouse_keys SET `+strings.Join(set, ", ")+
			` WHERE id = $1 RETURNING `+keyColumns, w.args...))
		if err != nil {
			return nil, err
		}
		return []store.Digest{k.Digest}, nil
	})
	if err != nil {
		return nil, translate("update key", err)
	}
	return k, nil
}

// RevokeKey implements [store.KeyStore]. A revoked key keeps its first
// revocation time. The revocation is published on the invalidation feed in
// the same transaction.
func (s *Store) RevokeKey(ctx context.Context, id string, t time.Time) (*store.Key, error) {
	var k *store.Key
	err := s.changeKey(ctx, func(tx *sql.Tx) ([]store.Digest, error) {
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, `UPDATE gatehouse_keys
			SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING `+keyColumns,
			id, s.timeArg(t)))
		if err != nil {
			return nil, err
		}
		return []store.Digest{k.Digest}, nil
	})
	if err != nil {
		return nil, translate("revoke key", err)
	}
	return k, nil
}

// DeleteKey implements [store.KeyStore]; a missing key is not an error.
// The deletion is published on the invalidation feed in the same
// transaction.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	err := s.changeKey(ctx, func(tx *sql.Tx) ([]store.Digest, error) {
		return deletedDigests(ctx, tx, `DELETE FROM gatehouse_keys WHERE id = $1 RETURNING digest`, id)
	})
	return translate("delete key", err)
}

// changeKey runs change in a transaction and publishes the digests it
// returns (none: nothing changed) on the invalidation feed before
// committing, so that the change and its announcement are one: watchers
// never hear of a change that was rolled back, nor miss one that was
// committed. Keys and sessions share it.
func (s *Store) changeKey(ctx context.Context, change func(*sql.Tx) ([]store.Digest, error)) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ds, err := change(tx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := s.publish(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// deletedDigests runs a DELETE ... RETURNING digest in tx and returns the
// digests of the rows it deleted (none when nothing matched).
func deletedDigests(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]store.Digest, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Digest
	for rows.Next() {
		var d store.Digest
		if err := rows.Scan(digestCol{&d}); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TouchKeys implements [store.UsageStore] in one transaction. It does not
// publish on the invalidation feed: a last-used time is not worth dropping
// cached keys for.
func (s *Store) TouchKeys(ctx context.Context, usage []store.KeyUsage) error {
	if len(usage) == 0 {
		return ctx.Err()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE gatehouse_keys SET last_used_at = $2
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range usage {
			if _, err := stmt.ExecContext(ctx, u.KeyID, s.timeArg(u.At)); err != nil {
				return err
			}
		}
		return nil
	})
	return translate("touch keys", err)
}
