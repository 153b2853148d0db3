package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/gatehouse-go/gatehouse/store"
)

const userColumns = `id, tenant_id, email, name, level, scopes, password_hash, created_at`

func scanUser(r rowScanner) (*store.User, error) {
	u := &store.User{}
	var level string
	err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &level,
		jsonCol[[]string]{&u.Scopes}, &u.PasswordHash, timeCol{&u.CreatedAt})
	if err != nil {
		return nil, err
	}
	u.Level = store.Level(level)
	if len(u.Scopes) == 0 {
		u.Scopes = nil
	}
	return u, nil
}

// CreateUser implements [store.UserStore]. The e-mail address is stored
// normalised ([store.NormalizeEmail]); a second user with the same
// non-empty address is [store.ErrConflict].
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	sc, err := scopesArg(u.Scopes)
	if err != nil {
		return translate("create user", err)
	}
	level := u.Level
	if level == "" {
		level = store.LevelMember
	}
	err = s.exec(ctx, `INSERT INTO gatehouse_users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.TenantID, store.NormalizeEmail(u.Email), u.Name, string(level), sc,
		u.PasswordHash, s.timeArg(u.CreatedAt))
	return translate("create user", err)
}

// UserByID implements [store.UserStore].
func (s *Store) UserByID(ctx context.Context, id string) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM gatehouse_users WHERE id = $1`, id))
	return u, translate("user by id", err)
}

// UserByEmail implements [store.UserStore]; the address is normalised
// before the lookup.
func (s *Store) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	email = store.NormalizeEmail(email)
	if email == "" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM gatehouse_users WHERE email = $1`, email))
	return u, translate("user by email", err)
}

// ListUsers implements [store.UserStore] with keyset pagination on the ID.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, string, error) {
	limit := store.PageLimit(f.Limit)
	var w filter
	w.eq("tenant_id", f.TenantID)
	q := w.query(`SELECT `+userColumns+` FROM gatehouse_users`, f.After, limit)
	return listPage(ctx, s, "list users", &w, q, limit, scanUser, func(u *store.User) string { return u.ID })
}

// UpdateUser implements [store.UserStore].
func (s *Store) UpdateUser(ctx context.Context, id string, up store.UserUpdate) (*store.User, error) {
	var set []string
	w := filter{args: []any{id}} // $1 is the ID
	arg := w.arg
	if up.Name != nil {
		set = append(set, "name = "+arg(*up.Name))
	}
	if up.Level != nil {
		set = append(set, "level = "+arg(string(*up.Level)))
	}
	if up.Scopes != nil {
		sc, err := scopesArg(*up.Scopes)
		if err != nil {
			return nil, translate("update user", err)
		}
		set = append(set, "scopes = "+arg(sc))
	}
	if up.PasswordHash != nil {
		set = append(set, "password_hash = "+arg(*up.PasswordHash))
	}
	if len(set) == 0 {
		return s.UserByID(ctx, id)
	}
	var u *store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE gatehouse_users SET `+strings.Join(set, ", ")+
			` WHERE id = $1 RETURNING `+userColumns, w.args...))
		return err
	})
	return u, translate("update user", err)
}

// DeleteUser implements [store.UserStore]; a missing user is not an
// error. The user's keys and sessions are left to the caller (the admin
// manager revokes keys, the session manager ends sessions).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.exec(ctx, `DELETE FROM gatehouse_users WHERE id = $1`, id)
	return translate("delete user", err)
}
