package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-go/gatehouse/store"
)

// ErrPepperMismatch means the pepper given to [Store.CheckPepper] is not
// the one the database's key digests are made with (or one is given where
// none was used, or none where one was). Keys such a process created would
// be refused by every other, and the others' keys by it.
var ErrPepperMismatch = errors.New("sqlstore: pepper mismatch")

// CheckPepper compares h's [store.Hasher.Fingerprint] with the one recorded
// in the database, and records it if there is none yet (the first process
// to call it on a database decides; processes racing to be first agree on
// one). It returns an error wrapping [ErrPepperMismatch] when they differ:
// call it before a process creates or verifies keys, and refuse to start
// on that error. A database created before fingerprints were recorded
// takes the fingerprint of the first process that checks it.
func (s *Store) CheckPepper(ctx context.Context, h *store.Hasher) error {
	want := h.Fingerprint()
	got, err := s.claimSetting(ctx, "pepper", want)
	if err != nil {
		return translate("check pepper", err)
	}
	switch {
	case got == want:
		return nil
	case want == "none":
		return fmt.Errorf("%w: the database's keys were made with a pepper, and none is configured", ErrPepperMismatch)
	case got == "none":
		return fmt.Errorf("%w: the database's keys were made without a pepper, and one is configured", ErrPepperMismatch)
	}
	return fmt.Errorf("%w: the configured pepper is not the one the database's keys were made with", ErrPepperMismatch)
}

// claimSetting stores value under name unless a value is there already,
// and returns the stored value.
func (s *Store) claimSetting(ctx context.Context, name, value string) (string, error) {
	var got string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gatehouse_settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM gatehouse_settings WHERE name = $1`, name).Scan(&got)
	})
	return got, err
}
