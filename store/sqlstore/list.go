package sqlstore

import (
	"context"
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

// listPage runs a query built by filter.query and returns at most limit
// records and the cursor of the next page ("" on the last).
func listPage[T any](ctx context.Context, s *Store, op string, f *filter, q string, limit int,
	scan func(rowScanner) (T, error), id func(T) string) ([]T, string, error) {
	rows, err := s.db.QueryContext(ctx, q, f.args...)
	if err != nil {
		return nil, "", translate(op, err)
	}
	defer rows.Close()
	out := make([]T, 0, min(limit+1, 128))
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", translate(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(op, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = id(out[limit-1])
	}
	return out, next, nil
}
