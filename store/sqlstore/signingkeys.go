package sqlstore

import (
	"context"
	"errors"

	"github.com/gatehouse-go/gatehouse/store"
)

const signingKeyColumns = `kid, owner_id, tenant_id, name, algorithm, public_key, scopes, created_at, expires_at`

func scanSigningKey(r rowScanner) (*store.SigningKey, error) {
	k := &store.SigningKey{}
	err := r.Scan(&k.KID, &k.OwnerID, &k.TenantID, &k.Name, &k.Algorithm, &k.PublicKey,
		jsonCol[[]string]{&k.Scopes}, timeCol{&k.CreatedAt}, timeCol{&k.ExpiresAt})
	if err != nil {
		return nil, err
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	return k, nil
}

// RegisterSigningKey implements [store.SigningKeyStore]; a KID already
// registered is [store.ErrConflict].
func (s *Store) RegisterSigningKey(ctx context.Context, k *store.SigningKey) error {
	if k == nil || k.KID == "" || len(k.PublicKey) == 0 {
		return errors.New("sqlstore: a signing key needs a KID and a public key")
	}
	sc, err := scopesArg(k.Scopes)
	if err != nil {
		return translate("register signing key", err)
	}
	err = s.exec(ctx, `INSERT INTO gatehouse_signing_keys (`+signingKeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.KID, k.OwnerID, k.TenantID, k.Name, k.Algorithm, k.PublicKey, sc,
		s.timeArg(k.CreatedAt), s.timeArg(k.ExpiresAt))
	return translate("register signing key", err)
}

// SigningKeyByKID implements [store.SigningKeyStore].
func (s *Store) SigningKeyByKID(ctx context.Context, kid string) (*store.SigningKey, error) {
	k, err := scanSigningKey(s.db.QueryRowContext(ctx,
		`SELECT `+signingKeyColumns+` FROM gatehouse_signing_keys WHERE kid = $1`, kid))
	return k, translate("signing key by kid", err)
}

// ListSigningKeys implements [store.SigningKeyStore], in KID order.
func (s *Store) ListSigningKeys(ctx context.Context, ownerID string) ([]*store.SigningKey, error) {
	out, err := queryRows(ctx, s.db, nil, scanSigningKey, `SELECT `+signingKeyColumns+
		` FROM gatehouse_signing_keys WHERE owner_id = $1 ORDER BY kid`, ownerID)
	return out, translate("list signing keys", err)
}

// DeleteSigningKey implements [store.SigningKeyStore]; a missing KID is
// not an error.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	err := s.exec(ctx, `DELETE FROM gatehouse_signing_keys WHERE kid = $1`, kid)
	return translate("delete signing key", err)
}
