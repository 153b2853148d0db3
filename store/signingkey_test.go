package store_test

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

var _ store.SigningKeyStore = (*store.MemorySigningKeys)(nil)

func signingKey(kid, owner string) *store.SigningKey {
	return &store.SigningKey{
		KID:       kid,
		OwnerID:   owner,
		TenantID:  "org_1",
		Name:      "laptop",
		Algorithm: "EdDSA",
		PublicKey: []byte{0x30, 0x2a, 1, 2, 3},
		Scopes:    []string{"read"},
		CreatedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestSigningKeyExpiredAt(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		expiresAt time.Time
		at        time.Time
		want      bool
	}{
		{name: "never expires", at: exp.AddDate(50, 0, 0)},
		{name: "one second before", expiresAt: exp, at: exp.Add(-time.Second)},
		{name: "at expiry", expiresAt: exp, at: exp, want: true},
		{name: "one second after", expiresAt: exp, at: exp.Add(time.Second), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, (&store.SigningKey{ExpiresAt: tt.expiresAt}).ExpiredAt(tt.at))
		})
	}
}

func TestSigningKeyClone(t *testing.T) {
	k := signingKey("pat_1", "usr_1")
	c := k.Clone()
	assert.Equal(t, k, c)
	c.PublicKey[0] = 9
	c.Scopes[0] = "write"
	assert.Equal(t, byte(0x30), k.PublicKey[0])
	assert.Equal(t, []string{"read"}, k.Scopes)
}

func TestMemorySigningKeys(t *testing.T) {
	ctx := context.Background()

	t.Run("register, get, list, delete", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		require.NoError(t, m.RegisterSigningKey(ctx, signingKey("pat_b", "usr_1")))
		require.NoError(t, m.RegisterSigningKey(ctx, signingKey("pat_a", "usr_1")))
		require.NoError(t, m.RegisterSigningKey(ctx, signingKey("pat_c", "usr_2")))

		got, err := m.SigningKeyByKID(ctx, "pat_a")
		require.NoError(t, err)
		assert.Equal(t, signingKey("pat_a", "usr_1"), got)

		list, err := m.ListSigningKeys(ctx, "usr_1")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "pat_a", list[0].KID)
		assert.Equal(t, "pat_b", list[1].KID)

		require.NoError(t, m.DeleteSigningKey(ctx, "pat_a"))
		_, err = m.SigningKeyByKID(ctx, "pat_a")
		assert.ErrorIs(t, err, store.ErrNotFound)
		list, err = m.ListSigningKeys(ctx, "usr_1")
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("duplicate KID is a conflict", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		require.NoError(t, m.RegisterSigningKey(ctx, signingKey("pat_1", "usr_1")))
		assert.ErrorIs(t, m.RegisterSigningKey(ctx, signingKey("pat_1", "usr_2")), store.ErrConflict)
	})

	t.Run("incomplete keys are refused", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		noKID := signingKey("", "usr_1")
		noPub := signingKey("pat_1", "usr_1")
		noPub.PublicKey = nil
		assert.Error(t, m.RegisterSigningKey(ctx, noKID))
		assert.Error(t, m.RegisterSigningKey(ctx, noPub))
		assert.Error(t, m.RegisterSigningKey(ctx, nil))
	})

	t.Run("deleting a missing key is no error", func(t *testing.T) {
		assert.NoError(t, store.NewMemorySigningKeys().DeleteSigningKey(ctx, "nope"))
	})

	t.Run("unknown KIDs, odd or not, are not found", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		for _, kid := range []string{"", "../../x", "pat_1\x00", "' OR 1=1 --"} {
			_, err := m.SigningKeyByKID(ctx, kid)
			assert.ErrorIs(t, err, store.ErrNotFound, "kid %q", kid)
		}
	})

	t.Run("records are copies both ways", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		k := signingKey("pat_1", "usr_1")
		require.NoError(t, m.RegisterSigningKey(ctx, k))
		k.Scopes[0] = "admin"
		got, err := m.SigningKeyByKID(ctx, "pat_1")
		require.NoError(t, err)
		got.PublicKey[0] = 0
		again, err := m.SigningKeyByKID(ctx, "pat_1")
		require.NoError(t, err)
		assert.Equal(t, []string{"read"}, again.Scopes)
		assert.Equal(t, byte(0x30), again.PublicKey[0])
	})

	t.Run("cancelled context", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, m.RegisterSigningKey(cctx, signingKey("pat_1", "usr_1")), context.Canceled)
		_, err := m.SigningKeyByKID(cctx, "pat_1")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = m.ListSigningKeys(cctx, "usr_1")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, m.DeleteSigningKey(cctx, "pat_1"), context.Canceled)
	})

	t.Run("concurrent registrations of one KID: one wins", func(t *testing.T) {
		m := store.NewMemorySigningKeys()
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.RegisterSigningKey(ctx, signingKey("pat_1", fmt.Sprint("usr_", i)))
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				assert.ErrorIs(t, err, store.ErrConflict)
			}
		}
		assert.Equal(t, 1, wins)
	})
}
