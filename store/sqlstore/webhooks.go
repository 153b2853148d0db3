package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

var _ store.WebhookStore = (*Store)(nil)

const endpointColumns = `id, url, secret, events, created_by, created_at, failures, failing_since, disabled_at, disabled_reason`

func scanEndpoint(r rowScanner) (*store.WebhookEndpoint, error) {
	e := &store.WebhookEndpoint{}
	err := r.Scan(&e.ID, &e.URL, &e.Secret, jsonCol[[]string]{&e.Events}, &e.CreatedBy, timeCol{&e.CreatedAt},
		&e.Failures, timeCol{&e.FailingSince}, timeCol{&e.DisabledAt}, &e.DisabledReason)
	if err != nil {
		return nil, err
	}
	if len(e.Events) == 0 {
		e.Events = nil
	}
	return e, nil
}

const deliveryColumns = `id, endpoint_id, event_id, event_type, payload, created_at, attempts, next_at,
	lease_token, lease_until, last_attempt_at, last_status, last_error, delivered_at`

func scanDelivery(r rowScanner) (*store.WebhookDelivery, error) {
	d := &store.WebhookDelivery{}
	var payload string
	err := r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &payload, timeCol{&d.CreatedAt}, &d.Attempts,
		timeCol{&d.NextAt}, &d.LeaseToken, timeCol{&d.LeaseUntil}, timeCol{&d.LastAttemptAt}, &d.LastStatus,
		&d.LastError, timeCol{&d.DeliveredAt})
	if err != nil {
		return nil, err
	}
	d.Payload = []byte(payload)
	return d, nil
}

// CreateWebhookEndpoint implements [store.WebhookStore].
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	ev, err := scopesArg(e.Events)
	if err != nil {
		return translate("create webhook endpoint", err)
	}
	err = s.exec(ctx, `INSERT INTO gatehouse_webhook_endpoints (`+endpointColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.URL, e.Secret, ev, e.CreatedBy, s.timeArg(e.CreatedAt), e.Failures, s.timeArg(e.FailingSince),
		s.timeArg(e.DisabledAt), e.DisabledReason)
	return translate("create webhook endpoint", err)
}

// WebhookEndpoint implements [store.WebhookStore].
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM gatehouse_webhook_endpoints WHERE id = $1`, id))
	return e, translate("webhook endpoint", err)
}

// ListWebhookEndpoints implements [store.WebhookStore].
func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]*store.WebhookEndpoint, error) {
	out, err := queryRows(ctx, s.db, []*store.WebhookEndpoint{}, scanEndpoint,
		`SELECT `+endpointColumns+` FROM gatehouse_webhook_endpoints ORDER BY id`)
	return out, translate("list webhook endpoints", err)
}

// DeleteWebhookEndpoint implements [store.WebhookStore].
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return translate("delete webhook endpoint", s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM gatehouse_webhook_deliveries WHERE endpoint_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM gatehouse_webhook_endpoints WHERE id = $1`, id)
		return err
	}))
}

// DisableWebhookEndpoint implements [store.WebhookStore].
func (s *Store) DisableWebhookEndpoint(ctx context.Context, id string, t time.Time, reason string) (bool, error) {
	return s.changeEndpoint(ctx, "disable webhook endpoint", id, `UPDATE gatehouse_webhook_endpoints
		SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL`, s.timeArg(t), reason)
}

// EnableWebhookEndpoint implements [store.WebhookStore].
func (s *Store) EnableWebhookEndpoint(ctx context.Context, id string) (bool, error) {
	return s.changeEndpoint(ctx, "enable webhook endpoint", id, `UPDATE gatehouse_webhook_endpoints
		SET disabled_at = NULL, disabled_reason = '', failures = 0, failing_since = NULL
		WHERE id = $1 AND disabled_at IS NOT NULL`)
}

// changeEndpoint runs update, whose $1 is the endpoint id and whose other
// arguments are args, and reports whether it changed a row; it is
// store.ErrNotFound when there is no such endpoint.
func (s *Store) changeEndpoint(ctx context.Context, op, id, update string, args ...any) (bool, error) {
	var changed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, update, append([]any{id}, args...)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if changed = n == 1; changed {
			return nil
		}
		var one int
		return tx.QueryRowContext(ctx, `SELECT 1 FROM gatehouse_webhook_endpoints WHERE id = $1`, id).Scan(&one)
	})
	return changed, translate(op, err)
}

// EnqueueWebhookEvent implements [store.WebhookStore]: the endpoints are
// read and the deliveries written in one transaction (on PostgreSQL the
// endpoints are locked FOR SHARE, so that one being deleted waits).
func (s *Store) EnqueueWebhookEvent(ctx context.Context, ev store.WebhookEvent) (int, error) {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR SHARE"
	}
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT `+endpointColumns+` FROM gatehouse_webhook_endpoints
			WHERE disabled_at IS NULL ORDER BY id`+lock)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			e, err := scanEndpoint(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if e.Wants(ev.Type) {
				ids = append(ids, e.ID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `INSERT INTO gatehouse_webhook_deliveries
				(id, endpoint_id, event_id, event_type, payload, created_at, next_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
				store.NewID("whd"), id, ev.ID, ev.Type, string(ev.Payload), s.timeArg(ev.At), s.timeArg(ev.At))
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(c)
		}
		return nil
	})
	if err != nil {
		return 0, translate("enqueue webhook event", err)
	}
	return n, nil
}

// ClaimWebhookDeliveries implements [store.WebhookStore]: one UPDATE ...
// RETURNING over the due rows, which PostgreSQL selects FOR UPDATE SKIP
// LOCKED and SQLite under its write lock.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	limit = store.PageLimit(limit)
	// A read first: most passes find nothing, and need no write
	// transaction (on SQLite, no write lock).
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM gatehouse_webhook_deliveries d
		JOIN gatehouse_webhook_endpoints e ON e.id = d.endpoint_id
		WHERE e.disabled_at IS NULL AND d.next_at IS NOT NULL AND d.next_at <= $1
		  AND (d.lease_until IS NULL OR d.lease_until <= $1) LIMIT 1`, s.timeArg(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, translate("claim webhook deliveries", err)
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	token := store.NewID("lease")
	var out []*store.WebhookDelivery
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		var err error
		out, err = queryRows(ctx, tx, out[:0], scanDelivery, `UPDATE gatehouse_webhook_deliveries SET lease_token = $1, lease_until = $2
			WHERE id IN (SELECT d.id FROM gatehouse_webhook_deliveries d
				JOIN gatehouse_webhook_endpoints e ON e.id = d.endpoint_id
				WHERE e.disabled_at IS NULL AND d.next_at IS NOT NULL AND d.next_at <= $3
				  AND (d.lease_until IS NULL OR d.lease_until <= $3)
				ORDER BY d.next_at, d.id LIMIT $4`+lock+`)
			RETURNING `+deliveryColumns,
			token, s.timeArg(now.Add(lease)), s.timeArg(now), limit)
		return err
	})
	if err != nil {
		return nil, translate("claim webhook deliveries", err)
	}
	slices.SortFunc(out, func(a, b *store.WebhookDelivery) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RecordWebhookAttempt implements [store.WebhookStore].
func (s *Store) RecordWebhookAttempt(ctx context.Context, a store.WebhookAttempt) (store.WebhookFailures, error) {
	if a.LeaseToken == "" {
		return store.WebhookFailures{}, store.ErrNotFound
	}
	var failures store.WebhookFailures
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		next, delivered := a.NextAt, time.Time{}
		if a.Delivered {
			next, delivered = time.Time{}, a.At
		}
		var endpoint string
		err := tx.QueryRowContext(ctx, `UPDATE gatehouse_webhook_deliveries
			SET attempts = attempts + 1, last_attempt_at = $1, last_status = $2, last_error = $3,
			    next_at = $4, delivered_at = $5, lease_token = '', lease_until = NULL
			WHERE id = $6 AND lease_token = $7 RETURNING endpoint_id`,
			s.timeArg(a.At), a.Status, a.Error, s.timeArg(next), s.timeArg(delivered), a.DeliveryID, a.LeaseToken).Scan(&endpoint)
		if err != nil {
			return err
		}
		if a.Delivered {
			failures = store.WebhookFailures{}
			_, err := tx.ExecContext(ctx, `UPDATE gatehouse_webhook_endpoints SET failures = 0, failing_since = NULL
				WHERE id = $1`, endpoint)
			return err
		}
		return tx.QueryRowContext(ctx, `UPDATE gatehouse_webhook_endpoints
			SET failures = failures + 1, failing_since = CASE WHEN failures = 0 OR failing_since IS NULL THEN $1 ELSE failing_since END
			WHERE id = $2 RETURNING failures, failing_since`, s.timeArg(a.At), endpoint).
			Scan(&failures.Count, timeCol{&failures.Since})
	})
	return failures, translate("record webhook attempt", err)
}

// ReleaseWebhookDelivery implements [store.WebhookStore].
func (s *Store) ReleaseWebhookDelivery(ctx context.Context, id, leaseToken string) error {
	if leaseToken == "" {
		return store.ErrNotFound
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE gatehouse_webhook_deliveries SET lease_token = '', lease_until = NULL
			WHERE id = $1 AND lease_token = $2`, id, leaseToken)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return translate("release webhook delivery", err)
}

// ListWebhookDeliveries implements [store.WebhookStore].
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*store.WebhookDelivery, string, error) {
	limit = store.PageLimit(limit)
	q := `SELECT ` + deliveryColumns + ` FROM gatehouse_webhook_deliveries WHERE endpoint_id = $1`
	args := []any{endpointID}
	if before != "" {
		q += ` AND id < $2 ORDER BY id DESC LIMIT $3`
		args = append(args, before, limit+1)
	} else {
		q += ` ORDER BY id DESC LIMIT $2`
		args = append(args, limit+1)
	}
	return listPage(ctx, s, "list webhook deliveries", &filter{args: args}, q, limit, scanDelivery,
		func(d *store.WebhookDelivery) string { return d.ID })
}

// PruneWebhookDeliveries implements [store.WebhookStore].
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gatehouse_webhook_deliveries
			WHERE next_at IS NULL AND COALESCE(delivered_at, last_attempt_at, created_at) < $1`, s.timeArg(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), translate("prune webhook deliveries", err)
}
