// Package outbox delivers Gatehouse's key events to webhook endpoints from
// an outbox in the store: every event stored there, at least once.
//
// A [Sink] is the admin.EventSink of the key manager (and of the expiry
// reminders and the leaked-key endpoint): it turns each event into a
// [webhook.Payload] (never the key, its digest or a token) and stores one
// delivery for every enabled endpoint that wants it, in one transaction,
// before the change's request returns. That write follows the change's
// commit rather than joining its transaction: it is retried a few times
// (SinkConfig.Attempts within Timeout), and an event whose every write
// failed, or whose process died between the commit and the write, is lost
// (the change stands; the audit log records both). A [Dispatcher] claims
// the due deliveries with a lease (so that two processes on one database
// never send one at the same time), signs each by the Standard Webhooks scheme
// and POSTs it. A 2xx answer delivers it; anything else (another status,
// a redirect, a timeout) is retried with exponential backoff and jitter,
// up to a cap, under the same webhook-id, so that receivers deduplicate.
// Each endpoint is paced by its own rate.Limiter. An endpoint that has
// been failing without a success for DisableAfter (24 hours), over at
// least DisableAfterFailures (20) attempts in a row, is disabled and the
// audit log says so (gatehouse.webhook.disabled); a short outage never
// disables it. Its pending deliveries stay in the outbox. Enabling it
// again (store.WebhookStore.EnableWebhookEndpoint, behind
// admin.Webhooks.Enable) resets its run of failures, and those deliveries
// are sent when due; a delivery that ran out of attempts stays failed,
// and events emitted while it was disabled were never queued for it.
// A restart loses no delivery that was stored: what was not delivered is
// still in the store. A dispatcher that is closed releases the leases of
// the deliveries it claimed and did not finish, so the next one sends them
// at once; a delivery whose process died mid-attempt is claimed again
// when its lease ends.
//
//	sink := outbox.NewSink(db, outbox.SinkConfig{})
//	mgr, _ := admin.NewManager(keys, db, format, admin.Config{Events: sink})
//	d, _ := outbox.NewDispatcher(db, outbox.Config{})
//	sink.OnEnqueue(d.Wake)
//	go d.Run(ctx)
//	defer d.Close()
package outbox
