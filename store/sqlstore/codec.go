package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Times are kept in UTC with microsecond precision, finer digits truncated
// (never rounded up, so a stored expiry is never later than the one
// given). SQLite holds them as INTEGER microseconds since the Unix epoch,
// PostgreSQL as timestamptz. NULL is the zero time ("never").

// timeArg returns t as the dialect stores it: nil for the zero time.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t
}

// timeCol scans a time column of either dialect into a UTC time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(x).UTC()
	case time.Time:
		*c.t = x.UTC().Truncate(time.Microsecond)
	default:
		return fmt.Errorf("sqlstore: time column holds %T", v)
	}
	return nil
}

// digestCol scans a bytea/BLOB column of exactly 32 bytes.
type digestCol struct{ d *store.Digest }

func (c digestCol) Scan(v any) error {
	b, ok := v.([]byte)
	if !ok || len(b) != len(store.Digest{}) {
		return fmt.Errorf("%w: digest column", store.ErrCorrupt)
	}
	copy(c.d[:], b)
	return nil
}

// Scopes and metadata are JSON text: an array of strings and an object of
// strings. Empty ones are stored as "[]" and "{}" and read back as nil.

func scopesArg(sc []string) (string, error) {
	if len(sc) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(sc)
	return string(b), err
}

func metadataArg(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// jsonCol scans JSON text into dst, leaving it nil when empty.
type jsonCol[T any] struct{ dst *T }

func (c jsonCol[T]) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	case nil:
		return nil
	default:
		return fmt.Errorf("sqlstore: JSON column holds %T", v)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("%w: JSON column", store.ErrCorrupt)
	}
	*c.dst = out
	return nil
}

// emptyToNil makes an empty slice or map nil, so that every store returns
// empty collections the same way.
func emptyToNil(k *store.Key) {
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
}

var (
	_ sql.Scanner = timeCol{}
	_ sql.Scanner = digestCol{}
	_ sql.Scanner = jsonCol[[]string]{}
)
