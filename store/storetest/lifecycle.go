package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunUserStore runs the conformance suite for [store.UserStore]. newStore
// must return a new, empty store for each call.
func RunUserStore(t *testing.T, newStore func(t *testing.T) store.UserStore) {
	t.Helper()
	ctx := context.Background()
	newUser := func(tenant, email string) *store.User {
		return &store.User{
			ID: store.NewID("usr"), TenantID: tenant, Email: email, Name: "Ada",
			Level: store.LevelOrgAdmin, Scopes: []string{"read", "write"},
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: base,
		}
	}
	runCases(t, newStore, []suiteCase[store.UserStore]{
		{"RoundTrip", func(t *testing.T, s store.UserStore) {
			u := newUser("org_1", "  Ada@Example.COM ")
			require.NoError(t, s.CreateUser(ctx, u))
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, "ada@example.com", got.Email, "e-mail is stored normalised")
			assert.Equal(t, u.TenantID, got.TenantID)
			assert.Equal(t, u.Name, got.Name)
			assert.Equal(t, u.Level, got.Level)
			assert.Equal(t, u.Scopes, got.Scopes)
			assert.Equal(t, u.PasswordHash, got.PasswordHash)
			assertTime(t, "CreatedAt", u.CreatedAt, got.CreatedAt)
			byMail, err := s.UserByEmail(ctx, "ADA@example.com")
			require.NoError(t, err)
			assert.Equal(t, u.ID, byMail.ID)
		}},
		{"Conflict", func(t *testing.T, s store.UserStore) {
			u := newUser("org_1", "a@example.com")
			require.NoError(t, s.CreateUser(ctx, u))
			dupID := newUser("org_2", "b@example.com")
			dupID.ID = u.ID
			assert.ErrorIs(t, s.CreateUser(ctx, dupID), store.ErrConflict)
			assert.ErrorIs(t, s.CreateUser(ctx, newUser("org_2", "A@Example.com")), store.ErrConflict,
				"addresses differing only in case are one address")
			// Users without an address do not collide with each other.
			require.NoError(t, s.CreateUser(ctx, newUser("org_1", "")))
			require.NoError(t, s.CreateUser(ctx, newUser("org_1", "")))
		}},
		{"NotFound", func(t *testing.T, s store.UserStore) {
			_, err := s.UserByID(ctx, "usr_missing")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UserByEmail(ctx, "nobody@example.com")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UserByEmail(ctx, "")
			assert.ErrorIs(t, err, store.ErrNotFound)
			name := "x"
			_, err = s.UpdateUser(ctx, "usr_missing", store.UserUpdate{Name: &name})
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.NoError(t, s.DeleteUser(ctx, "usr_missing"))
		}},
		{"Update", func(t *testing.T, s store.UserStore) {
			u := newUser("org_1", "u@example.com")
			require.NoError(t, s.CreateUser(ctx, u))
			name, level, sc, hash := "Grace", store.LevelMember, []string{"read"}, "$argon2id$new"
			got, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Name: &name, Level: &level, Scopes: &sc, PasswordHash: &hash})
			require.NoError(t, err)
			assert.Equal(t, name, got.Name)
			assert.Equal(t, level, got.Level)
			assert.Equal(t, sc, got.Scopes)
			assert.Equal(t, hash, got.PasswordHash)
			assert.Equal(t, "u@example.com", got.Email, "untouched fields stay")
			again, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, got.Name, again.Name)
			same, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{})
			require.NoError(t, err, "an empty update returns the user")
			assert.Equal(t, name, same.Name)
		}},
		{"DeleteFreesEmail", func(t *testing.T, s store.UserStore) {
			u := newUser("org_1", "gone@example.com")
			require.NoError(t, s.CreateUser(ctx, u))
			require.NoError(t, s.DeleteUser(ctx, u.ID))
			_, err := s.UserByID(ctx, u.ID)
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UserByEmail(ctx, "gone@example.com")
			assert.ErrorIs(t, err, store.ErrNotFound)
			require.NoError(t, s.CreateUser(ctx, newUser("org_1", "gone@example.com")))
		}},
		{"ListPages", func(t *testing.T, s store.UserStore) {
			want := map[string]bool{}
			for i := range 7 {
				tenant := "org_a"
				if i%2 == 1 {
					tenant = "org_b"
				}
				u := newUser(tenant, fmt.Sprintf("u%d@example.com", i))
				require.NoError(t, s.CreateUser(ctx, u))
				if tenant == "org_a" {
					want[u.ID] = true
				}
			}
			got := map[string]bool{}
			after, pages := "", 0
			for {
				page, next, err := s.ListUsers(ctx, store.UserFilter{TenantID: "org_a", After: after, Limit: 3})
				require.NoError(t, err)
				pages++
				require.LessOrEqual(t, len(page), 3)
				for i, u := range page {
					assert.Equal(t, "org_a", u.TenantID)
					if i > 0 {
						assert.Less(t, page[i-1].ID, u.ID, "pages are in ID order")
					}
					got[u.ID] = true
				}
				if next == "" {
					break
				}
				after = next
			}
			assert.Equal(t, want, got)
			assert.Equal(t, 2, pages)
			all, next, err := s.ListUsers(ctx, store.UserFilter{})
			require.NoError(t, err)
			assert.Len(t, all, 7)
			assert.Empty(t, next)
		}},
		{"CancelledContext", func(t *testing.T, s store.UserStore) {
			c, cancel := context.WithCancel(ctx)
			cancel()
			assert.ErrorIs(t, s.CreateUser(c, newUser("org_1", "c@example.com")), context.Canceled)
			_, err := s.UserByID(c, "usr_x")
			assert.ErrorIs(t, err, context.Canceled)
			_, _, err = s.ListUsers(c, store.UserFilter{})
			assert.ErrorIs(t, err, context.Canceled)
		}},
	})
}

// LifecycleStore is what [RunReminderStore] needs: keys to remind about,
// and the reminder and usage records.
type LifecycleStore interface {
	store.KeyStore
	store.ReminderStore
	store.UsageStore
}

// RunReminderStore runs the conformance suite for [store.ReminderStore]
// and [store.UsageStore].
func RunReminderStore(t *testing.T, newStore func(t *testing.T) LifecycleStore) {
	t.Helper()
	ctx := context.Background()
	t.Run("ExpiringWindow", func(t *testing.T) {
		s := newStore(t)
		mk := func(expires time.Time, revoked bool) *store.Key {
			k := minimalKey(t)
			k.ExpiresAt = expires
			if revoked {
				k.RevokedAt = base
			}
			return create(t, s, k)
		}
		from, to := base, base.Add(7*24*time.Hour)
		atFrom := mk(from, false)                // not after from: excluded
		inside := mk(from.Add(time.Hour), false) // included
		atTo := mk(to, false)                    // exactly at to: included
		after := mk(to.Add(time.Second), false)  // excluded
		revoked := mk(from.Add(time.Hour), true) // excluded
		never := mk(time.Time{}, false)          // excluded
		_, _, _, _ = atFrom, after, revoked, never
		got, err := s.ExpiringKeys(ctx, from, to, "", 0)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{inside.ID, atTo.ID}, ids(got))
		first, err := s.ExpiringKeys(ctx, from, to, "", 1)
		require.NoError(t, err)
		require.Len(t, first, 1)
		rest, err := s.ExpiringKeys(ctx, from, to, first[0].ID, 10)
		require.NoError(t, err)
		require.Len(t, rest, 1)
		assert.Less(t, first[0].ID, rest[0].ID, "pages follow ID order")
	})
	t.Run("MarkRemindedOnce", func(t *testing.T) {
		s := newStore(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				ok, err := s.MarkReminded(ctx, "key_1", "7d", base)
				assert.NoError(t, err)
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "exactly one caller claims a reminder")
		ok, err := s.MarkReminded(ctx, "key_1", "1d", base)
		require.NoError(t, err)
		assert.True(t, ok, "another threshold is another reminder")
	})
	t.Run("TouchKeys", func(t *testing.T) {
		s := newStore(t)
		k := create(t, s, minimalKey(t))
		later := base.Add(time.Hour)
		require.NoError(t, s.TouchKeys(ctx, []store.KeyUsage{{KeyID: k.ID, At: later}, {KeyID: "key_missing", At: later}}))
		require.NoError(t, s.TouchKeys(ctx, []store.KeyUsage{{KeyID: k.ID, At: base}}))
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assertTime(t, "LastUsedAt", later, got.LastUsedAt)
	})
}

// RunSessionStore runs the conformance suite for [store.SessionStore].
func RunSessionStore(t *testing.T, newStore func(t *testing.T) store.SessionStore) {
	t.Helper()
	ctx := context.Background()
	newSession := func(user string) *store.Session {
		return &store.Session{
			Digest: sha256.Sum256([]byte(store.NewID("ses"))), UserID: user, TenantID: "org_1",
			Scopes: []string{"read"}, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(12 * time.Hour),
		}
	}
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		ss := newSession("usr_1")
		require.NoError(t, s.CreateSession(ctx, ss))
		assert.ErrorIs(t, s.CreateSession(ctx, ss), store.ErrConflict)
		got, err := s.SessionByDigest(ctx, ss.Digest)
		require.NoError(t, err)
		assert.Equal(t, ss.UserID, got.UserID)
		assert.Equal(t, ss.TenantID, got.TenantID)
		assert.Equal(t, ss.Scopes, got.Scopes)
		assertTime(t, "CreatedAt", ss.CreatedAt, got.CreatedAt)
		assertTime(t, "ExpiresAt", ss.ExpiresAt, got.ExpiresAt)
		_, err = s.SessionByDigest(ctx, store.Digest{1})
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
	t.Run("Touch", func(t *testing.T) {
		s := newStore(t)
		ss := newSession("usr_1")
		require.NoError(t, s.CreateSession(ctx, ss))
		later := base.Add(time.Minute)
		require.NoError(t, s.TouchSession(ctx, ss.Digest, later))
		require.NoError(t, s.TouchSession(ctx, ss.Digest, base), "an older time does not move it back")
		require.NoError(t, s.TouchSession(ctx, store.Digest{2}, later), "a missing session is not an error")
		got, err := s.SessionByDigest(ctx, ss.Digest)
		require.NoError(t, err)
		assertTime(t, "LastSeenAt", later, got.LastSeenAt)
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		a, b, other := newSession("usr_1"), newSession("usr_1"), newSession("usr_2")
		for _, ss := range []*store.Session{a, b, other} {
			require.NoError(t, s.CreateSession(ctx, ss))
		}
		require.NoError(t, s.DeleteSession(ctx, a.Digest))
		require.NoError(t, s.DeleteSession(ctx, a.Digest), "deleting twice is not an error")
		_, err := s.SessionByDigest(ctx, a.Digest)
		assert.ErrorIs(t, err, store.ErrNotFound)
		gone, err := s.DeleteUserSessions(ctx, "usr_1")
		require.NoError(t, err)
		assert.Equal(t, []store.Digest{b.Digest}, gone)
		_, err = s.SessionByDigest(ctx, b.Digest)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.SessionByDigest(ctx, other.Digest)
		assert.NoError(t, err, "another user's session stays")
	})
}

// RunSigningKeyStore runs the conformance suite for [store.SigningKeyStore].
func RunSigningKeyStore(t *testing.T, newStore func(t *testing.T) store.SigningKeyStore) {
	t.Helper()
	ctx := context.Background()
	s := newStore(t)
	k := &store.SigningKey{
		KID: "kid_b", OwnerID: "usr_1", TenantID: "org_1", Name: "laptop", Algorithm: "EdDSA",
		PublicKey: []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"),
		Scopes:    []string{"read"}, CreatedAt: base, ExpiresAt: base.Add(90 * 24 * time.Hour),
	}
	require.NoError(t, s.RegisterSigningKey(ctx, k))
	assert.ErrorIs(t, s.RegisterSigningKey(ctx, k), store.ErrConflict)
	assert.Error(t, s.RegisterSigningKey(ctx, &store.SigningKey{KID: "kid_x"}), "a key needs public key bytes")
	got, err := s.SigningKeyByKID(ctx, "kid_b")
	require.NoError(t, err)
	assert.Equal(t, k.PublicKey, got.PublicKey)
	assert.Equal(t, k.Algorithm, got.Algorithm)
	assert.Equal(t, k.Scopes, got.Scopes)
	assertTime(t, "ExpiresAt", k.ExpiresAt, got.ExpiresAt)
	second := k.Clone()
	second.KID = "kid_a"
	require.NoError(t, s.RegisterSigningKey(ctx, second))
	list, err := s.ListSigningKeys(ctx, "usr_1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "kid_a", list[0].KID, "listed in KID order")
	none, err := s.ListSigningKeys(ctx, "usr_2")
	require.NoError(t, err)
	assert.Empty(t, none)
	require.NoError(t, s.DeleteSigningKey(ctx, "kid_b"))
	require.NoError(t, s.DeleteSigningKey(ctx, "kid_b"))
	_, err = s.SigningKeyByKID(ctx, "kid_b")
	assert.ErrorIs(t, err, store.ErrNotFound)
}
