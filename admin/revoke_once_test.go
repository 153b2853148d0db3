package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
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
