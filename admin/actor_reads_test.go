package admin_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// countingUsers counts the user reads.
type countingUsers struct {
	*store.Memory
	reads atomic.Int64
}

func (c *countingUsers) UserByID(ctx context.Context, id string) (*store.User, error) {
	c.reads.Add(1)
	return c.Memory.UserByID(ctx, id)
}

// TestCallerReadOnce: creating a key for oneself and reading one's own
// user record read the caller's record once.
func TestCallerReadOnce(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	require.NoError(t, mem.CreateUser(ctx, &store.User{ID: bob, TenantID: "t1", Level: store.LevelMember}))
	users := &countingUsers{Memory: mem}
	h, err := store.NewHasher([]byte("pepper-for-admin-tests"))
	require.NoError(t, err)
	m, err := admin.NewManager(mem, users, format, admin.Config{Hasher: h})
	require.NoError(t, err)
	p := principalOf(bob, "t1", "read")

	_, err = m.Create(ctx, p, admin.CreateRequest{Name: "k", Scopes: []string{"read"}})
	require.NoError(t, err)
	assert.Equal(t, int64(1), users.reads.Load(), "Create")
	u, err := m.GetUser(ctx, p, bob)
	require.NoError(t, err)
	assert.Equal(t, bob, u.ID)
	assert.Equal(t, int64(2), users.reads.Load(), "GetUser of oneself")
	_, err = m.GetUser(ctx, p, "u_nobody")
	assert.ErrorIs(t, err, admin.ErrNotFound)
}
