package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// The per-key controls: allowed_cidrs as JSON text (an array of masked
// CIDR strings), parsed when the row is read so that a cached key never
// parses; credits in four columns, credits_remaining NULL for none.

func cidrsArg(ps []netip.Prefix) (string, error) {
	if len(ps) == 0 {
		return "[]", nil
	}
	ss := make([]string, len(ps))
	for i, p := range ps {
		if !p.IsValid() {
			return "", errors.New("sqlstore: invalid network prefix")
		}
		ss[i] = p.String()
	}
	b, err := json.Marshal(ss)
	return string(b), err
}

// cidrsCol scans allowed_cidrs into prefixes; a malformed one is a corrupt
// record (never an open door).
type cidrsCol struct{ dst *[]netip.Prefix }

func (c cidrsCol) Scan(v any) error {
	var ss []string
	if err := (jsonCol[[]string]{&ss}).Scan(v); err != nil {
		return err
	}
	if len(ss) == 0 {
		*c.dst = nil
		return nil
	}
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%w: allowed_cidrs column", store.ErrCorrupt)
		}
		out[i] = p
	}
	*c.dst = out
	return nil
}

// creditsCols scans the four credits columns.
type creditsCols struct {
	remaining sql.NullInt64
	refill    int64
	interval  string
	since     time.Time
}

func (c *creditsCols) dest() []any {
	return []any{&c.remaining, &c.refill, &c.interval, timeCol{&c.since}}
}

func (c *creditsCols) credits() (*gatehouse.Credits, error) {
	if !c.remaining.Valid {
		return nil, nil
	}
	cr := &gatehouse.Credits{Remaining: c.remaining.Int64, Refill: c.refill,
		Interval: gatehouse.CreditInterval(c.interval), Since: c.since}
	if cr.Validate() != nil {
		return nil, fmt.Errorf("%w: credits columns", store.ErrCorrupt)
	}
	return cr, nil
}

// creditsArgs returns the values of the four credits columns for c.
func (s *Store) creditsArgs(c *gatehouse.Credits) []any {
	if c == nil {
		return []any{nil, int64(0), "", nil}
	}
	return []any{c.Remaining, c.Refill, string(c.Interval), s.timeArg(c.Since)}
}

var _ store.CreditSpender = (*Store)(nil)

// spendQuery returns the spending statement of dialect d. The start of the
// refill period of the row is $2 (the day's) or $3 (the month's), both UTC;
// PostgreSQL is told their type, which it cannot infer inside CASE.
func spendQuery(d Dialect) string {
	day, month := "$2", "$3"
	if d != SQLite {
		day, month = "$2::timestamptz", "$3::timestamptz"
	}
	period := `CASE credits_interval WHEN 'month' THEN ` + month + ` ELSE ` + day + ` END`
	due := `(credits_refill > 0 AND (credits_since IS NULL OR credits_since < ` + period + `))`
	return `UPDATE gatehouse_keys SET
			credits_remaining = CASE WHEN ` + due + ` THEN credits_refill ELSE credits_remaining END - 1,
			credits_since = CASE WHEN ` + due + ` THEN ` + period + ` ELSE credits_since END
		WHERE id = $1 AND credits_remaining IS NOT NULL AND (credits_remaining > 0 OR ` + due + `)
		RETURNING credits_remaining`
}

// SpendCredit implements [store.CreditSpender] with one UPDATE ...
// RETURNING that refills the count when a period has started since it was
// set and spends one use, only while one is left: atomic across every
// process that shares the database. c is not used: the row is the truth.
// An exhausted key costs a second read, for its refill time.
func (s *Store) SpendCredit(ctx context.Context, keyID string, _ *gatehouse.Credits, now time.Time) (int64, error) {
	day := (&gatehouse.Credits{Refill: 1, Interval: gatehouse.CreditsDaily}).PeriodStart(now)
	month := (&gatehouse.Credits{Refill: 1, Interval: gatehouse.CreditsMonthly}).PeriodStart(now)
	var left int64
	err := s.db.QueryRowContext(ctx, spendQuery(s.dialect), keyID, s.timeArg(day), s.timeArg(month)).Scan(&left)
	if err == nil {
		return left, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, translate("spend credit", err)
	}
	var cc creditsCols
	var tenant string
	err = s.db.QueryRowContext(ctx, `SELECT tenant_id, credits_remaining, credits_refill, credits_interval, credits_since
		FROM gatehouse_keys WHERE id = $1`, keyID).Scan(append([]any{&tenant}, cc.dest()...)...)
	if err != nil {
		return 0, translate("spend credit", err)
	}
	cr, err := cc.credits()
	if err != nil {
		return 0, err
	}
	if cr == nil {
		return -1, nil
	}
	return 0, store.Exhausted(&store.Key{ID: keyID, TenantID: tenant}, cr, now)
}

var _ store.CreditTaker = (*Store)(nil)

// TakeCredits implements [store.CreditTaker]: in one transaction it reads
// the row's credits, locked (FOR UPDATE in PostgreSQL; SQLite's
// transactions take the write lock when they begin), and sets them to none
// left, without refill, so that a concurrent spend either comes before and
// is not taken, or after and is refused. c is not used: the row is the
// truth.
func (s *Store) TakeCredits(ctx context.Context, keyID string, _ *gatehouse.Credits, now time.Time) (int64, error) {
	lock := ""
	if s.dialect != SQLite {
		lock = " FOR UPDATE"
	}
	left := int64(-1)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var cc creditsCols
		err := tx.QueryRowContext(ctx, `SELECT credits_remaining, credits_refill, credits_interval, credits_since
			FROM gatehouse_keys WHERE id = $1`+lock, keyID).Scan(cc.dest()...)
		if err != nil {
			return err
		}
		cr, err := cc.credits()
		if err != nil || cr == nil {
			return err
		}
		left = cr.At(now)
		_, err = tx.ExecContext(ctx, `UPDATE gatehouse_keys
			SET credits_remaining = 0, credits_refill = 0, credits_interval = '', credits_since = $2 WHERE id = $1`,
			keyID, s.timeArg(now))
		return err
	})
	if err != nil {
		return 0, translate("take credits", err)
	}
	return left, nil
}
