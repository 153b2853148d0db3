package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunWebhookStore runs the conformance suite for [store.WebhookStore].
// newStore must return a new, empty store for each call.
func RunWebhookStore(t *testing.T, newStore func(t *testing.T) store.WebhookStore) {
	t.Helper()
	ctx := context.Background()
	endpoint := func(t *testing.T, s store.WebhookStore, events ...string) *store.WebhookEndpoint {
		t.Helper()
		e := &store.WebhookEndpoint{ID: store.NewID("whe"), URL: "https://hooks.example.com/gatehouse",
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events: events, CreatedBy: "usr_1", CreatedAt: base}
		require.NoError(t, s.CreateWebhookEndpoint(ctx, e))
		return e
	}
	event := func(typ string, at time.Time) store.WebhookEvent {
		id := store.NewID("msg")
		return store.WebhookEvent{ID: id, Type: typ, At: at, Payload: []byte(`{"type":"` + typ + `","id":"` + id + `"}`)}
	}
	// claimOne claims at now and requires exactly one delivery.
	claimOne := func(t *testing.T, s store.WebhookStore, now time.Time) *store.WebhookDelivery {
		t.Helper()
		ds, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		return ds[0]
	}
	// enqueueAndClaim enqueues n events at base and claims their n
	// deliveries.
	enqueueAndClaim := func(t *testing.T, s store.WebhookStore, n int) []*store.WebhookDelivery {
		t.Helper()
		for range n {
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
		}
		ds, err := s.ClaimWebhookDeliveries(ctx, base, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, ds, n)
		return ds
	}
	claimNone := func(t *testing.T, s store.WebhookStore, now time.Time) {
		t.Helper()
		ds, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, ds)
	}
	runCases(t, newStore, []suiteCase[store.WebhookStore]{
		{"EndpointRoundTrip", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s, "key.revoked", "key.leaked")
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Equal(t, e.URL, got.URL)
			assert.Equal(t, e.Secret, got.Secret)
			assert.Equal(t, e.Events, got.Events)
			assert.Equal(t, e.CreatedBy, got.CreatedBy)
			assertTime(t, "CreatedAt", e.CreatedAt, got.CreatedAt)
			assert.Zero(t, got.Failures)
			assert.True(t, got.DisabledAt.IsZero())
			all := endpoint(t, s)
			list, err := s.ListWebhookEndpoints(ctx)
			require.NoError(t, err)
			require.Len(t, list, 2)
			assert.Less(t, list[0].ID, list[1].ID, "in ID order")
			byID := map[string]*store.WebhookEndpoint{list[0].ID: list[0], list[1].ID: list[1]}
			require.Contains(t, byID, all.ID)
			require.Contains(t, byID, e.ID)
			assert.Empty(t, byID[all.ID].Events, "no events: all of them")
			assert.Equal(t, e.Events, byID[e.ID].Events)
			assert.ErrorIs(t, s.CreateWebhookEndpoint(ctx, e), store.ErrConflict)
			got.Events[0] = "changed"
			again, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Equal(t, "key.revoked", again.Events[0], "records are the caller's copies")
		}},
		{"NotFound", func(t *testing.T, s store.WebhookStore) {
			_, err := s.WebhookEndpoint(ctx, "whe_missing")
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.NoError(t, s.DeleteWebhookEndpoint(ctx, "whe_missing"))
			_, err = s.DisableWebhookEndpoint(ctx, "whe_missing", base, "x")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.EnableWebhookEndpoint(ctx, "whe_missing")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: "whd_missing", LeaseToken: "x", At: base})
			assert.ErrorIs(t, err, store.ErrNotFound)
			ds, next, err := s.ListWebhookDeliveries(ctx, "whe_missing", "", 10)
			require.NoError(t, err)
			assert.Empty(t, ds)
			assert.Empty(t, next)
		}},
		{"EnqueueFansOutToSubscribers", func(t *testing.T, s store.WebhookStore) {
			all := endpoint(t, s)
			revoked := endpoint(t, s, "key.revoked")
			off := endpoint(t, s)
			first, err := s.DisableWebhookEndpoint(ctx, off.ID, base, "failing")
			require.NoError(t, err)
			require.True(t, first)
			n, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			assert.Equal(t, 1, n, "only the endpoint that wants every event")
			ev := event("key.revoked", base)
			n, err = s.EnqueueWebhookEvent(ctx, ev)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			n, err = s.EnqueueWebhookEvent(ctx, ev)
			require.NoError(t, err)
			assert.Zero(t, n, "an event ID is enqueued once per endpoint")
			ds, _, err := s.ListWebhookDeliveries(ctx, revoked.ID, "", 10)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			d := ds[0]
			assert.Equal(t, ev.ID, d.EventID)
			assert.Equal(t, "key.revoked", d.EventType)
			assert.Equal(t, ev.Payload, d.Payload)
			assert.Equal(t, revoked.ID, d.EndpointID)
			assert.Equal(t, "pending", d.Status())
			assertTime(t, "NextAt", base, d.NextAt)
			assertTime(t, "CreatedAt", base, d.CreatedAt)
			ds, _, err = s.ListWebhookDeliveries(ctx, all.ID, "", 10)
			require.NoError(t, err)
			assert.Len(t, ds, 2)
			ds, _, err = s.ListWebhookDeliveries(ctx, off.ID, "", 10)
			require.NoError(t, err)
			assert.Empty(t, ds, "a disabled endpoint gets nothing new")
		}},
		{"LeaseExcludesOthers", func(t *testing.T, s store.WebhookStore) {
			endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			claimNone(t, s, base.Add(-time.Second)) // not due yet
			d := claimOne(t, s, base)
			assert.NotEmpty(t, d.LeaseToken)
			assertTime(t, "LeaseUntil", base.Add(time.Minute), d.LeaseUntil)
			claimNone(t, s, base.Add(30*time.Second))
			// The lease ran out: another worker takes it over, and the
			// first one's attempt no longer counts.
			d2 := claimOne(t, s, base.Add(time.Minute))
			assert.Equal(t, d.ID, d2.ID)
			assert.NotEqual(t, d.LeaseToken, d2.LeaseToken)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: base, Delivered: true})
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: "", At: base, Delivered: true})
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d2.ID, LeaseToken: d2.LeaseToken, At: base, Delivered: true})
			assert.NoError(t, err)
		}},
		{"Release", func(t *testing.T, s store.WebhookStore) {
			endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			d := claimOne(t, s, base)
			claimNone(t, s, base)
			assert.ErrorIs(t, s.ReleaseWebhookDelivery(ctx, d.ID, "lease_other"), store.ErrNotFound)
			assert.ErrorIs(t, s.ReleaseWebhookDelivery(ctx, d.ID, ""), store.ErrNotFound)
			assert.ErrorIs(t, s.ReleaseWebhookDelivery(ctx, "whd_missing", d.LeaseToken), store.ErrNotFound)
			require.NoError(t, s.ReleaseWebhookDelivery(ctx, d.ID, d.LeaseToken))
			// Claimed again at once, with no attempt counted; the old
			// lease no longer counts.
			d2 := claimOne(t, s, base)
			assert.Equal(t, d.ID, d2.ID)
			assert.Zero(t, d2.Attempts)
			assert.NotEqual(t, d.LeaseToken, d2.LeaseToken)
			assert.ErrorIs(t, s.ReleaseWebhookDelivery(ctx, d.ID, d.LeaseToken), store.ErrNotFound)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: base, Delivered: true})
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d2.ID, LeaseToken: d2.LeaseToken, At: base, Delivered: true})
			assert.NoError(t, err)
		}},
		{"RetryThenDeliver", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			for i := 1; i <= 3; i++ {
				now := base.Add(time.Duration(i) * time.Hour)
				d := claimOne(t, s, now)
				failures, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken,
					At: now, Status: 500, Error: "status 500", NextAt: now.Add(10 * time.Minute)})
				require.NoError(t, err)
				assert.Equal(t, i, failures.Count, "consecutive failures of the endpoint")
				assertTime(t, "Since", base.Add(time.Hour), failures.Since)
				claimNone(t, s, now.Add(10*time.Minute-time.Second))
			}
			now := base.Add(4 * time.Hour)
			d := claimOne(t, s, now)
			assert.Equal(t, 3, d.Attempts)
			assert.Equal(t, 500, d.LastStatus)
			assert.Equal(t, "status 500", d.LastError)
			failures, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: now, Delivered: true, Status: 204})
			require.NoError(t, err)
			assert.Zero(t, failures, "a success resets the count")
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Zero(t, got.Failures)
			assert.True(t, got.FailingSince.IsZero())
			claimNone(t, s, now.Add(24*time.Hour))
			ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			assert.Equal(t, "delivered", ds[0].Status())
			assert.Equal(t, 4, ds[0].Attempts)
			assert.Equal(t, 204, ds[0].LastStatus)
			assertTime(t, "DeliveredAt", now, ds[0].DeliveredAt)
			assertTime(t, "LastAttemptAt", now, ds[0].LastAttemptAt)
			assert.Empty(t, ds[0].LeaseToken)
		}},
		{"FailingSince", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			// record claims the delivery at now and records an attempt.
			record := func(now time.Time, delivered bool) store.WebhookFailures {
				t.Helper()
				d := claimOne(t, s, now)
				a := store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: now, Status: 500, Error: "status 500", NextAt: now}
				if delivered {
					a = store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: now, Status: 204, Delivered: true}
				}
				f, err := s.RecordWebhookAttempt(ctx, a)
				require.NoError(t, err)
				return f
			}
			for i := 1; i <= 3; i++ {
				f := record(base.Add(time.Duration(i)*time.Hour), false)
				assert.Equal(t, i, f.Count)
				assertTime(t, "Since (the first failure of the run)", base.Add(time.Hour), f.Since)
			}
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Equal(t, 3, got.Failures)
			assertTime(t, "FailingSince", base.Add(time.Hour), got.FailingSince)
			_, err = s.DisableWebhookEndpoint(ctx, e.ID, base.Add(3*time.Hour), "failing")
			require.NoError(t, err)
			_, err = s.EnableWebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			got, err = s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.True(t, got.FailingSince.IsZero(), "enabling resets the run")
			f := record(base.Add(5*time.Hour), false)
			assert.Equal(t, 1, f.Count)
			assertTime(t, "Since (a new run)", base.Add(5*time.Hour), f.Since)
			assert.Zero(t, record(base.Add(6*time.Hour), true), "a success ends the run")
			got, err = s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Zero(t, got.Failures)
			assert.True(t, got.FailingSince.IsZero())
		}},
		{"GiveUp", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			d := claimOne(t, s, base)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: base, Error: "timeout"})
			require.NoError(t, err)
			claimNone(t, s, base.Add(365*24*time.Hour))
			ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			assert.Equal(t, "failed", ds[0].Status())
		}},
		{"DisabledEndpointIsNotClaimed", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			first, err := s.DisableWebhookEndpoint(ctx, e.ID, base, "20 consecutive failures")
			require.NoError(t, err)
			assert.True(t, first)
			first, err = s.DisableWebhookEndpoint(ctx, e.ID, base.Add(time.Hour), "again")
			require.NoError(t, err)
			assert.False(t, first, "disabled once")
			claimNone(t, s, base)
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assertTime(t, "DisabledAt", base, got.DisabledAt)
			assert.Equal(t, "20 consecutive failures", got.DisabledReason)
		}},
		{"EnableAfterDisable", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			ds := enqueueAndClaim(t, s, 2)
			// One failed for good, one pending; then the endpoint is disabled.
			_, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[0].ID, LeaseToken: ds[0].LeaseToken, At: base, Error: "timeout"})
			require.NoError(t, err)
			failures, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[1].ID, LeaseToken: ds[1].LeaseToken, At: base,
				Error: "timeout", NextAt: base.Add(time.Minute)})
			require.NoError(t, err)
			require.Equal(t, 2, failures.Count)
			first, err := s.DisableWebhookEndpoint(ctx, e.ID, base, "2 consecutive failed attempts")
			require.NoError(t, err)
			require.True(t, first)
			claimNone(t, s, base.Add(time.Hour))
			n, err := s.EnqueueWebhookEvent(ctx, event("key.created", base.Add(time.Hour)))
			require.NoError(t, err)
			require.Zero(t, n, "nothing enqueued while disabled")

			enabled, err := s.EnableWebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.True(t, enabled)
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.True(t, got.DisabledAt.IsZero())
			assert.Empty(t, got.DisabledReason)
			assert.Zero(t, got.Failures)
			assert.True(t, got.FailingSince.IsZero(), "the run of failures starts again")
			d := claimOne(t, s, base.Add(time.Hour))
			assert.Equal(t, ds[1].ID, d.ID, "the pending delivery is claimed again; the failed one is not")
			assert.Equal(t, 1, d.Attempts)

			enabled, err = s.EnableWebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.False(t, enabled, "enabling an enabled endpoint changes nothing")
			n, err = s.EnqueueWebhookEvent(ctx, event("key.created", base.Add(time.Hour)))
			require.NoError(t, err)
			assert.Equal(t, 1, n, "enabled endpoints get new events")
		}},
		{"EnableResetsFailures", func(t *testing.T, s store.WebhookStore) {
			const disableAfter = 3
			e := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			// fail claims the delivery at now and records a failed attempt,
			// returning the endpoint's consecutive failures.
			fail := func(now time.Time) int {
				t.Helper()
				d := claimOne(t, s, now)
				failures, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: d.ID, LeaseToken: d.LeaseToken, At: now,
					Status: 500, Error: "status 500", NextAt: now})
				require.NoError(t, err)
				return failures.Count
			}
			now := base
			for i := 1; i <= disableAfter; i++ {
				require.Equal(t, i, fail(now))
			}
			_, err = s.DisableWebhookEndpoint(ctx, e.ID, now, "3 consecutive failed attempts")
			require.NoError(t, err)
			enabled, err := s.EnableWebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			require.True(t, enabled)
			for i := 1; i < disableAfter; i++ {
				now = now.Add(time.Minute)
				assert.Equal(t, i, fail(now), "counted from zero again: the next %d failures stay below %d", disableAfter-1, disableAfter)
			}
			enabled, err = s.EnableWebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.False(t, enabled)
			got, err := s.WebhookEndpoint(ctx, e.ID)
			require.NoError(t, err)
			assert.Equal(t, disableAfter-1, got.Failures, "enabling an enabled endpoint keeps its count")
		}},
		{"DeleteRemovesDeliveries", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			keep := endpoint(t, s)
			_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
			require.NoError(t, err)
			require.NoError(t, s.DeleteWebhookEndpoint(ctx, e.ID))
			_, err = s.WebhookEndpoint(ctx, e.ID)
			assert.ErrorIs(t, err, store.ErrNotFound)
			ds, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			assert.Empty(t, ds)
			d := claimOne(t, s, base)
			assert.Equal(t, keep.ID, d.EndpointID)
		}},
		{"ListPages", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			for i := range 5 {
				_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base.Add(time.Duration(i)*time.Second)))
				require.NoError(t, err)
			}
			var seen []string
			before := ""
			for _, want := range []int{2, 2, 1} {
				ds, next, err := s.ListWebhookDeliveries(ctx, e.ID, before, 2)
				require.NoError(t, err)
				require.Len(t, ds, want)
				for _, d := range ds {
					seen = append(seen, d.ID)
				}
				before = next
			}
			assert.Empty(t, before)
			assert.IsDecreasing(t, seen, "newest (greatest ID) first, no repeats")
			assert.Len(t, seen, 5)
		}},
		{"Prune", func(t *testing.T, s store.WebhookStore) {
			e := endpoint(t, s)
			ds := enqueueAndClaim(t, s, 3)
			// One delivered, one failed for good, one pending.
			_, err := s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[0].ID, LeaseToken: ds[0].LeaseToken, At: base, Delivered: true})
			require.NoError(t, err)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[1].ID, LeaseToken: ds[1].LeaseToken, At: base.Add(time.Hour)})
			require.NoError(t, err)
			_, err = s.RecordWebhookAttempt(ctx, store.WebhookAttempt{DeliveryID: ds[2].ID, LeaseToken: ds[2].LeaseToken, At: base,
				NextAt: base.Add(time.Minute)})
			require.NoError(t, err)
			n, err := s.PruneWebhookDeliveries(ctx, base)
			require.NoError(t, err)
			assert.Zero(t, n, "nothing done before base")
			n, err = s.PruneWebhookDeliveries(ctx, base.Add(time.Second))
			require.NoError(t, err)
			assert.Equal(t, 1, n, "the delivered one")
			n, err = s.PruneWebhookDeliveries(ctx, base.Add(365*24*time.Hour))
			require.NoError(t, err)
			assert.Equal(t, 1, n, "the failed one; never the pending one")
			left, _, err := s.ListWebhookDeliveries(ctx, e.ID, "", 10)
			require.NoError(t, err)
			require.Len(t, left, 1)
			assert.Equal(t, ds[2].ID, left[0].ID)
		}},
		{"ConcurrentClaimsNeverShare", func(t *testing.T, s store.WebhookStore) {
			endpoint(t, s)
			const n = 30
			for range n {
				_, err := s.EnqueueWebhookEvent(ctx, event("key.created", base))
				require.NoError(t, err)
			}
			var mu sync.Mutex
			got := map[string]int{}
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						ds, err := s.ClaimWebhookDeliveries(ctx, base, time.Hour, 3)
						if !assert.NoError(t, err) {
							return
						}
						mu.Lock()
						for _, d := range ds {
							got[d.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			assert.Len(t, got, n, "every delivery claimed")
			for id, c := range got {
				assert.Equal(t, 1, c, fmt.Sprintf("delivery %s claimed once", id))
			}
		}},
	})
}
