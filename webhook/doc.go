// Package webhook signs and verifies webhooks by the Standard Webhooks
// scheme (https://www.standardwebhooks.com): every message carries three
// headers,
//
//	webhook-id:        msg_...      the message ID, the same on every retry
//	webhook-timestamp: 1767225600   Unix seconds when this attempt was sent
//	webhook-signature: v1,<base64>  HMAC-SHA-256 of "id.timestamp.body"
//
// keyed with the bytes of the endpoint's secret, which is written
// "whsec_" followed by their standard base64. Several signatures may be
// sent, separated by spaces (during a secret rotation); one that matches
// is enough.
//
// A receiver verifies a request with [Verify] (or [VerifyRequest]) before
// it trusts the body, and deduplicates by webhook-id: delivery is at least
// once, so a message may arrive again after a timeout.
//
//	func receive(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//		if err != nil {
//			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
//			return
//		}
//		if err := webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultTolerance); err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		if seen(r.Header.Get("webhook-id")) {
//			return // a retry of a message already handled
//		}
//		var e webhook.Payload
//		_ = json.Unmarshal(body, &e)
//		// ...
//	}
//
// The package depends on the standard library only (and this module's
// stdlib-only loopback check), so a receiver that imports
// it pulls in nothing else. The sender's side (the outbox and its
// dispatcher) is in package [github.com/gatehouse-go/gatehouse/webhook/outbox].
package webhook
