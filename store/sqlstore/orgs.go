package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

const orgColumns = `id, name, created_at, has_policy, require_expiry, max_lifetime_days,
	default_lifetime_days, policy_updated_at, policy_updated_by`

func scanOrg(r rowScanner) (*store.Org, error) {
	o := &store.Org{}
	var (
		has bool
		p   store.OrgPolicy
	)
	err := r.Scan(&o.ID, &o.Name, timeCol{&o.CreatedAt}, &has, &p.RequireExpiry, &p.MaxLifetimeDays,
		&p.DefaultLifetimeDays, timeCol{&p.UpdatedAt}, &p.UpdatedBy)
	if err != nil {
		return nil, err
	}
	if has {
		o.Policy = &p
	}
	return o, nil
}

// policyArgs returns the policy columns' values: the zero policy, unset,
// for nil.
func (s *Store) policyArgs(p *store.OrgPolicy) (has, require bool, maxDays, defDays int, at any, by string) {
	if p == nil {
		return false, false, 0, 0, nil, ""
	}
	return true, p.RequireExpiry, p.MaxLifetimeDays, p.DefaultLifetimeDays, s.timeArg(p.UpdatedAt), p.UpdatedBy
}

// CreateOrg implements [store.OrgStore].
func (s *Store) CreateOrg(ctx context.Context, o *store.Org) error {
	has, req, maxDays, defDays, at, by := s.policyArgs(o.Policy)
	err := s.exec(ctx, `INSERT INTO gatehouse_orgs (`+orgColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.ID, o.Name, s.timeArg(o.CreatedAt), has, req, maxDays, defDays, at, by)
	return translate("create org", err)
}

// OrgByID implements [store.OrgStore].
func (s *Store) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	o, err := scanOrg(s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM gatehouse_orgs WHERE id = $1`, id))
	return o, translate("org by id", err)
}

// ListOrgs implements [store.OrgStore] with keyset pagination on the ID.
func (s *Store) ListOrgs(ctx context.Context, f store.OrgFilter) ([]*store.Org, string, error) {
	limit := store.PageLimit(f.Limit)
	var w filter
	q := w.query(`SELECT `+orgColumns+` FROM gatehouse_orgs`, f.After, limit)
	return listPage(ctx, s, "list orgs", &w, q, limit, scanOrg, func(o *store.Org) string { return o.ID })
}

// UpdateOrg implements [store.OrgStore].
func (s *Store) UpdateOrg(ctx context.Context, id string, u store.OrgUpdate) (*store.Org, error) {
	var set []string
	w := filter{args: []any{id}} // $1 is the ID
	arg := w.arg
	if u.Name != nil {
		set = append(set, "name = "+arg(*u.Name))
	}
	if u.ClearPolicy || u.Policy != nil {
		p := u.Policy
		if u.ClearPolicy {
			p = nil
		}
		has, req, maxDays, defDays, at, by := s.policyArgs(p)
		set = append(set, "has_policy = "+arg(has), "require_expiry = "+arg(req),
			"max_lifetime_days = "+arg(maxDays), "default_lifetime_days = "+arg(defDays),
			"policy_updated_at = "+arg(at), "policy_updated_by = "+arg(by))
	}
	if len(set) == 0 {
		return s.OrgByID(ctx, id)
	}
	var o *store.Org
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		o, err = scanOrg(tx.QueryRowContext(ctx, `UPDATE gatehouse_orgs SET `+strings.Join(set, ", ")+
			` WHERE id = $1 RETURNING `+orgColumns, w.args...))
		return err
	})
	return o, translate("update org", err)
}

const signInColumns = `digest, user_id, created_at, expires_at`

// CreateSignInToken implements [store.SignInTokenStore].
func (s *Store) CreateSignInToken(ctx context.Context, t *store.SignInToken) error {
	err := s.exec(ctx, `INSERT INTO gatehouse_signin_tokens (`+signInColumns+`) VALUES ($1, $2, $3, $4)`,
		t.Digest[:], t.UserID, s.timeArg(t.CreatedAt), s.timeArg(t.ExpiresAt))
	return translate("create sign-in token", err)
}

// ConsumeSignInToken implements [store.SignInTokenStore]: one DELETE ...
// RETURNING, so that of concurrent callers only the one whose statement
// deleted the row gets the token. An expired token is deleted too.
func (s *Store) ConsumeSignInToken(ctx context.Context, d store.Digest, now time.Time) (*store.SignInToken, error) {
	var t store.SignInToken
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM gatehouse_signin_tokens WHERE digest = $1 RETURNING `+signInColumns, d[:]).
			Scan(digestCol{&t.Digest}, &t.UserID, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt})
	})
	if err != nil {
		return nil, translate("consume sign-in token", err)
	}
	if t.ExpiredAt(now) {
		return nil, store.ErrNotFound
	}
	return &t, nil
}
