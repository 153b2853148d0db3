package admin_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// TestRevokeEventOnce: only the call that revokes a key writes the audit
// event and emits key.revoked; revoking it again (a second click, another
// tab, the store revoked it first) changes and reports nothing.
func TestRevokeEventOnce(t *testing.T) {
	tests := []struct {
		name string
		// first revokes the key before the manager's Revoke under test.
		first func(t *testing.T, e *env, id string)
	}{
		{"by the manager", func(t *testing.T, e *env, id string) {
			_, err := e.mgr.Revoke(t.Context(), e.principal(t, e.boot[olga]), id)
			require.NoError(t, err)
		}},
		{"by the store", func(t *testing.T, e *env, id string) {
			_, err := e.cache.RevokeKey(t.Context(), id, e.clock.Now())
			require.NoError(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &eventLog{}
			e := newEnv(t, envConfig{events: sink})
			p := e.principal(t, e.boot[olga])
			c, err := e.mgr.Create(t.Context(), p, admin.CreateRequest{Name: "k", Scopes: []string{"read"}})
			require.NoError(t, err)
			tt.first(t, e, c.Record.ID)
			firstAt := e.clock.Now()
			e.clock.Advance(time.Minute)
			before := strings.Count(e.logs.String(), "gatehouse.key.revoked")

			out, err := e.mgr.Revoke(t.Context(), p, c.Record.ID)
			require.NoError(t, err)
			assert.True(t, out.RevokedAt.Equal(firstAt), "the first revocation time is kept")
			assert.Equal(t, before, strings.Count(e.logs.String(), "gatehouse.key.revoked"), "no second audit event")
			n := 0
			for _, ev := range sink.events {
				if ev.Type == admin.EventKeyRevoked {
					n++
				}
			}
			assert.Equal(t, before, n, "no second key.revoked event")
		})
	}
}

// staleList is a key store whose listing is taken before another call
// revokes the listed keys: the revocations race DeleteUser's.
type staleList struct {
	*store.Memory
	at time.Time
}

func (s staleList) ListKeys(ctx context.Context, f store.KeyFilter) ([]*store.Key, string, error) {
	keys, next, err := s.Memory.ListKeys(ctx, f)
	for _, k := range keys {
		if _, err := s.Memory.RevokeKey(ctx, k.ID, s.at); err != nil {
			return nil, "", err
		}
	}
	return keys, next, err
}

// TestDeleteUserRevokedKeyOnce: DeleteUser of a user whose key another
// call revoked first (after DeleteUser listed it) writes no audit line
// and emits no key.revoked for it.
func TestDeleteUserRevokedKeyOnce(t *testing.T) {
	ctx := t.Context()
	mem := store.NewMemory()
	require.NoError(t, mem.CreateUser(ctx, &store.User{ID: sam, TenantID: "t1", Level: store.LevelSuperAdmin}))
	require.NoError(t, mem.CreateUser(ctx, &store.User{ID: bob, TenantID: "t1", Level: store.LevelMember}))
	h, err := store.NewHasher([]byte("pepper-for-admin-tests"))
	require.NoError(t, err)
	_, k, err := apikey.Issue(ctx, mem, format, h, apikey.Params{Name: "k", OwnerID: bob, TenantID: "t1", Scopes: []string{"read"}, Now: t0})
	require.NoError(t, err)
	sink := &eventLog{}
	var logs strings.Builder
	m, err := admin.NewManager(staleList{mem, t0}, mem, format, admin.Config{
		Hasher: h, Events: sink, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return t0.Add(time.Minute) },
	})
	require.NoError(t, err)

	require.NoError(t, m.DeleteUser(ctx, principalOf(sam, "t1", "admin"), bob))
	got, err := mem.KeyByID(ctx, k.ID)
	require.NoError(t, err)
	assert.True(t, got.RevokedAt.Equal(t0), "the first revocation time is kept")
	assert.NotContains(t, logs.String(), "gatehouse.key.revoked", "no audit line from the call that lost")
	assert.Contains(t, logs.String(), "gatehouse.user.deleted")
	for _, ev := range sink.events {
		assert.NotEqual(t, admin.EventKeyRevoked, ev.Type, "no key.revoked from the call that lost")
	}
}
