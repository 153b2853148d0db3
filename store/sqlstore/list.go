package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// filter builds the WHERE clause of a listing, with numbered arguments.
type filter struct {
	where []string
	args  []any
}

func (f *filter) arg(v any) string {
	f.args = append(f.args, v)
	return "$" + strconv.Itoa(len(f.args))
}

// eq adds "col = v" unless v is empty.
func (f *filter) eq(col, v string) {
	if v != "" {
		f.where = append(f.where, col+" = "+f.arg(v))
	}
}

// cond adds a condition without arguments.
func (f *filter) cond(c string) { f.where = append(f.where, c) }

// query returns selectFrom with the conditions, keyset pagination after
// the ID after, and one row more than limit: its presence says there is a
// next page.
func (f *filter) query(selectFrom, after string, limit int) string {
	if after != "" {
		f.where = append(f.where, "id > "+f.arg(after))
	}
	q := selectFrom
	if len(f.where) > 0 {
		q += " WHERE " + strings.Join(f.where, " AND ")
	}
	return q + " ORDER BY id LIMIT " + f.arg(limit+1)
}

// queryRows runs query on q (the database or a transaction) and appends
// each row, read by scan, to out. On an error in scan it returns nil; on
// one after the last row, the rows read and the error.
func queryRows[T any](ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, out []T, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// listPage runs a query built by filter.query and returns at most limit
// records and the cursor of the next page ("" on the last).
func listPage[T any](ctx context.Context, s *Store, op string, f *filter, q string, limit int,
	scan func(rowScanner) (T, error), id func(T) string) ([]T, string, error) {
	out, err := queryRows(ctx, s.db, make([]T, 0, min(limit+1, 128)), scan, q, f.args...)
	if err != nil {
		return nil, "", translate(op, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = id(out[limit-1])
	}
	return out, next, nil
}
