// Package storetest is the conformance suite every store.KeyStore backend
// passes unchanged. A backend's test calls it with a constructor that
// returns a fresh, empty store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunKeyStore(t, func(t *testing.T) store.KeyStore {
//			s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "keys.db"), sqlstore.Config{})
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks the contract of store.KeyStore as the store package
// documents it: every field round-trips; a duplicate ID or digest is
// store.ErrConflict; a missing record is store.ErrNotFound, except for
// DeleteKey; returned records are the caller's own copies; listing filters,
// orders by ID and pages with a cursor and the documented limits; updates,
// revocations and expiry behave as documented; many goroutines may use the
// store at once; a cancelled context fails writes without effect.
// The other Run functions do the same for the other interfaces:
// RunUserStore, RunReminderStore, RunSessionStore, RunSigningKeyStore,
// RunOrgStore, RunSignInTokenStore (of concurrent consumers of one token
// exactly one wins) and RunWebhookStore, for the webhook endpoints and
// their outbox (fan-out, leases that no two callers share, retries,
// disabling, pruning).
//
// Times: a store keeps at least microsecond precision and may drop finer
// digits by truncation (never by rounding up, so that a stored expiry is
// never later than the one given). A time given in UTC comes back in UTC;
// the SQL stores return every time in UTC. The suite compares times with
// Equal at microsecond precision. Empty Scopes and Metadata may
// come back nil. Strings are valid UTF-8 without NUL bytes (PostgreSQL text
// cannot hold NUL); digests are any 32 bytes.
package storetest
