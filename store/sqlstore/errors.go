package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-go/gatehouse/store"
)

// translate maps driver errors to the store's sentinels: no rows is
// [store.ErrNotFound], a unique or primary key violation is
// [store.ErrConflict]. Anything else is wrapped with what the store was
// doing, so that errors.Is still finds context.Canceled and the like.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case isUniqueViolation(err):
		return store.ErrConflict
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	// pgconn.PgError (and other PostgreSQL drivers' errors) report the
	// SQLSTATE; 23505 is unique_violation.
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}
