package store

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryWebhooks is an in-memory [WebhookStore] for tests and single
// processes that may lose undelivered events at restart (the SQL store
// keeps them). It is safe for concurrent use.
type MemoryWebhooks struct {
	mu         sync.Mutex
	endpoints  map[string]*WebhookEndpoint
	deliveries map[string]*WebhookDelivery
	byEvent    map[[2]string]bool // endpoint ID and event ID of every delivery
}

var _ WebhookStore = (*MemoryWebhooks)(nil)

// NewMemoryWebhooks returns an empty in-memory webhook store.
func NewMemoryWebhooks() *MemoryWebhooks {
	return &MemoryWebhooks{endpoints: map[string]*WebhookEndpoint{}, deliveries: map[string]*WebhookDelivery{},
		byEvent: map[[2]string]bool{}}
}

// CreateWebhookEndpoint implements [WebhookStore].
func (m *MemoryWebhooks) CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.endpoints[e.ID]; ok {
		return ErrConflict
	}
	m.endpoints[e.ID] = e.Clone()
	return nil
}

// WebhookEndpoint implements [WebhookStore].
func (m *MemoryWebhooks) WebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.endpoints[id]
	if !ok {
		return nil, ErrNotFound
	}
	return e.Clone(), nil
}

// ListWebhookEndpoints implements [WebhookStore].
func (m *MemoryWebhooks) ListWebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*WebhookEndpoint, 0, len(m.endpoints))
	for _, e := range m.endpoints {
		out = append(out, e.Clone())
	}
	slices.SortFunc(out, func(a, b *WebhookEndpoint) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteWebhookEndpoint implements [WebhookStore].
func (m *MemoryWebhooks) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.endpoints, id)
	for k, d := range m.deliveries {
		if d.EndpointID == id {
			m.deleteLocked(k, d)
		}
	}
	return nil
}

// DisableWebhookEndpoint implements [WebhookStore].
func (m *MemoryWebhooks) DisableWebhookEndpoint(ctx context.Context, id string, t time.Time, reason string) (bool, error) {
	return m.setDisabled(ctx, id, true, func(e *WebhookEndpoint) {
		e.DisabledAt, e.DisabledReason = t, reason
	})
}

// EnableWebhookEndpoint implements [WebhookStore].
func (m *MemoryWebhooks) EnableWebhookEndpoint(ctx context.Context, id string) (bool, error) {
	return m.setDisabled(ctx, id, false, func(e *WebhookEndpoint) {
		e.DisabledAt, e.DisabledReason, e.Failures, e.FailingSince = time.Time{}, "", 0, time.Time{}
	})
}

// setDisabled applies change to endpoint id when it is not yet disabled
// (or, for !disable, not yet enabled), reporting whether it did.
func (m *MemoryWebhooks) setDisabled(ctx context.Context, id string, disable bool, change func(e *WebhookEndpoint)) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.endpoints[id]
	if !ok {
		return false, ErrNotFound
	}
	if e.DisabledAt.IsZero() != disable {
		return false, nil
	}
	change(e)
	return true, nil
}

// EnqueueWebhookEvent implements [WebhookStore].
func (m *MemoryWebhooks) EnqueueWebhookEvent(ctx context.Context, ev WebhookEvent) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.endpoints {
		if !e.DisabledAt.IsZero() || !e.Wants(ev.Type) || m.byEvent[[2]string{e.ID, ev.ID}] {
			continue
		}
		d := &WebhookDelivery{ID: NewID("whd"), EndpointID: e.ID, EventID: ev.ID, EventType: ev.Type,
			Payload: slices.Clone(ev.Payload), CreatedAt: ev.At, NextAt: ev.At}
		m.deliveries[d.ID] = d
		m.byEvent[[2]string{e.ID, ev.ID}] = true
		n++
	}
	return n, nil
}

func (m *MemoryWebhooks) deleteLocked(id string, d *WebhookDelivery) {
	delete(m.deliveries, id)
	delete(m.byEvent, [2]string{d.EndpointID, d.EventID})
}

// PruneWebhookDeliveries implements [WebhookStore].
func (m *MemoryWebhooks) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, d := range m.deliveries {
		if d.NextAt.IsZero() && lastChange(d).Before(before) {
			m.deleteLocked(id, d)
			n++
		}
	}
	return n, nil
}

// lastChange is when a delivery was last attempted (or created).
func lastChange(d *WebhookDelivery) time.Time {
	switch {
	case !d.DeliveredAt.IsZero():
		return d.DeliveredAt
	case !d.LastAttemptAt.IsZero():
		return d.LastAttemptAt
	}
	return d.CreatedAt
}

// ClaimWebhookDeliveries implements [WebhookStore].
func (m *MemoryWebhooks) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit = PageLimit(limit)
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*WebhookDelivery
	for _, d := range m.deliveries {
		e := m.endpoints[d.EndpointID]
		if e == nil || !e.DisabledAt.IsZero() || d.NextAt.IsZero() || d.NextAt.After(now) || d.LeaseUntil.After(now) {
			continue
		}
		due = append(due, d)
	}
	slices.SortFunc(due, func(a, b *WebhookDelivery) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID))
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]*WebhookDelivery, len(due))
	for i, d := range due {
		d.LeaseToken, d.LeaseUntil = NewID("lease"), now.Add(lease)
		out[i] = cloneDelivery(d)
	}
	return out, nil
}

// RecordWebhookAttempt implements [WebhookStore].
func (m *MemoryWebhooks) RecordWebhookAttempt(ctx context.Context, a WebhookAttempt) (WebhookFailures, error) {
	if err := ctx.Err(); err != nil {
		return WebhookFailures{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[a.DeliveryID]
	if !ok || a.LeaseToken == "" || d.LeaseToken != a.LeaseToken {
		return WebhookFailures{}, ErrNotFound
	}
	d.Attempts++
	d.LastAttemptAt, d.LastStatus, d.LastError = a.At, a.Status, a.Error
	d.LeaseToken, d.LeaseUntil = "", time.Time{}
	e := m.endpoints[d.EndpointID]
	if a.Delivered {
		d.DeliveredAt, d.NextAt = a.At, time.Time{}
		if e != nil {
			e.Failures, e.FailingSince = 0, time.Time{}
		}
	} else {
		d.NextAt = a.NextAt
		if e != nil {
			if e.Failures == 0 {
				e.FailingSince = a.At
			}
			e.Failures++
		}
	}
	if e == nil {
		return WebhookFailures{}, nil
	}
	return WebhookFailures{Count: e.Failures, Since: e.FailingSince}, nil
}

// ReleaseWebhookDelivery implements [WebhookStore].
func (m *MemoryWebhooks) ReleaseWebhookDelivery(ctx context.Context, id, leaseToken string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[id]
	if !ok || leaseToken == "" || d.LeaseToken != leaseToken {
		return ErrNotFound
	}
	d.LeaseToken, d.LeaseUntil = "", time.Time{}
	return nil
}

// ListWebhookDeliveries implements [WebhookStore].
func (m *MemoryWebhooks) ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*WebhookDelivery, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit = PageLimit(limit)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*WebhookDelivery
	for _, d := range m.deliveries {
		if d.EndpointID == endpointID && (before == "" || d.ID < before) {
			out = append(out, cloneDelivery(d))
		}
	}
	slices.SortFunc(out, func(a, b *WebhookDelivery) int { return cmp.Compare(b.ID, a.ID) })
	out, next := cutPage(out, limit, func(d *WebhookDelivery) string { return d.ID })
	return out, next, nil
}

func cloneDelivery(d *WebhookDelivery) *WebhookDelivery {
	c := *d
	c.Payload = slices.Clone(d.Payload)
	return &c
}
