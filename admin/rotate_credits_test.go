package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// plainKeys hides the memory store's TakeCredits: a key store with no
// CreditTaker, whose manager moves the count the record holds.
type plainKeys struct{ store.KeyStore }

// failingCreate refuses to store new keys after its first fail writes.
type failingCreate struct {
	store.KeyStore
	fail bool
}

func (f *failingCreate) CreateKey(ctx context.Context, k *store.Key) error {
	if f.fail {
		return errors.New("database down")
	}
	return f.KeyStore.CreateKey(ctx, k)
}

func (f *failingCreate) Unwrap() store.KeyStore { return f.KeyStore }

// rotationEnv is a manager over mem through keys, and alice's principal.
func rotationEnv(t *testing.T, mem *store.Memory, keys store.KeyStore, clock *fakeClock) (*admin.Manager, *gatehouse.Principal) {
	t.Helper()
	for _, u := range testUsers {
		require.NoError(t, mem.CreateUser(t.Context(), &u))
	}
	m, err := admin.NewManager(keys, mem, format, admin.Config{Now: clock.Now})
	require.NoError(t, err)
	return m, &gatehouse.Principal{ID: alice, TenantID: "t1", Scopes: []string{"read", "write"}}
}

// TestRotateMovesCredits: a rotation moves what is left of a key's
// credits to the new key; the old key, in its grace period, has none, so
// that rotating (the old key again, or the new one) never multiplies the
// quota. With or without a CreditTaker in the store.
func TestRotateMovesCredits(t *testing.T) {
	stores := []struct {
		name string
		wrap func(*store.Memory) store.KeyStore
	}{
		{"taker", func(m *store.Memory) store.KeyStore { return m }},
		{"taker behind a cache", func(m *store.Memory) store.KeyStore {
			kc, err := store.NewKeyCache(m, store.CacheConfig{})
			require.NoError(t, err)
			return kc
		}},
		{"no taker", func(m *store.Memory) store.KeyStore { return plainKeys{m} }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			clock := newClock(t0)
			mem := store.NewMemory()
			m, alicePr := rotationEnv(t, mem, st.wrap(mem), clock)
			created, err := m.Create(ctx, alicePr, admin.CreateRequest{Name: "metered", Scopes: []string{"read"},
				Controls: admin.Controls{Credits: &gatehouse.Credits{Remaining: 1}}})
			require.NoError(t, err)

			// The owner rotates the key, then the old key again while it
			// is in its grace period, then the newest.
			ids := []string{created.Record.ID}
			for _, from := range []int{0, 0, 1} {
				r, err := m.Rotate(ctx, alicePr, ids[from], time.Hour)
				require.NoError(t, err)
				require.NotNil(t, r.Old.Credits, "the old key keeps credits: none left")
				assert.Equal(t, gatehouse.Credits{Since: clock.Now()}, *r.Old.Credits)
				ids = append(ids, r.Record.ID)
			}
			served := 0
			for _, id := range ids {
				_, err := mem.SpendCredit(ctx, id, nil, clock.Now())
				if err == nil {
					served++
				} else {
					assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted)
				}
			}
			assert.Equal(t, 1, served, "one use in all, across the four values")
		})
	}
}

// TestRotateMovesRefill: the new key gets what is left now and the
// refill; the old key gets no refill in its grace period.
func TestRotateMovesRefill(t *testing.T) {
	ctx := t.Context()
	clock := newClock(t0)
	mem := store.NewMemory()
	m, alicePr := rotationEnv(t, mem, mem, clock)
	created, err := m.Create(ctx, alicePr, admin.CreateRequest{Name: "metered", Scopes: []string{"read"},
		Controls: admin.Controls{Credits: &gatehouse.Credits{Remaining: 3, Refill: 5, Interval: gatehouse.CreditsDaily}}})
	require.NoError(t, err)
	_, err = mem.SpendCredit(ctx, created.Record.ID, nil, clock.Now())
	require.NoError(t, err)

	r, err := m.Rotate(ctx, alicePr, created.Record.ID, 30*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, gatehouse.Credits{Remaining: 2, Refill: 5, Interval: gatehouse.CreditsDaily, Since: clock.Now()}, *r.Record.Credits)

	tomorrow := clock.Now().Add(24 * time.Hour)
	_, err = mem.SpendCredit(ctx, created.Record.ID, nil, tomorrow)
	assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted, "the old key is not refilled")
	left, err := mem.SpendCredit(ctx, r.Record.ID, nil, tomorrow)
	require.NoError(t, err)
	assert.Equal(t, int64(4), left, "the new key is")
}

// TestRotateGivesCreditsBack: a rotation that fails to store the new key
// leaves the old one its credits.
func TestRotateGivesCreditsBack(t *testing.T) {
	ctx := t.Context()
	clock := newClock(t0)
	mem := store.NewMemory()
	keys := &failingCreate{KeyStore: mem}
	m, alicePr := rotationEnv(t, mem, keys, clock)
	created, err := m.Create(ctx, alicePr, admin.CreateRequest{Name: "metered", Scopes: []string{"read"},
		Controls: admin.Controls{Credits: &gatehouse.Credits{Remaining: 3, Refill: 5, Interval: gatehouse.CreditsMonthly}}})
	require.NoError(t, err)
	keys.fail = true
	_, err = m.Rotate(ctx, alicePr, created.Record.ID, time.Hour)
	require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	k, err := mem.KeyByID(ctx, created.Record.ID)
	require.NoError(t, err)
	assert.Equal(t, gatehouse.Credits{Remaining: 3, Refill: 5, Interval: gatehouse.CreditsMonthly, Since: clock.Now()}, *k.Credits)
	left, err := mem.SpendCredit(ctx, created.Record.ID, nil, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(2), left)
}

// TestHTTPRotateMovesCredits: through the API, the old key's answer shows
// its credits gone, the new key's what was left.
func TestHTTPRotateMovesCredits(t *testing.T) {
	e := newEnv(t, envConfig{})
	created := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[olga], `{"name":"metered","scopes":["read"],"credits":{"remaining":4}}`), http.StatusCreated)
	id := created["api_key"].(map[string]any)["id"].(string)
	_, err := e.mem.SpendCredit(t.Context(), id, nil, e.clock.Now())
	require.NoError(t, err)
	rot := requireStatus(t, e.do(t, http.MethodPost, apiPath+"/"+id+"/rotate", e.boot[olga], `{"grace_seconds":3600}`), http.StatusCreated)
	assert.Equal(t, map[string]any{"remaining": 3.0}, rot["api_key"].(map[string]any)["credits"])
	assert.Equal(t, map[string]any{"remaining": 0.0}, rot["old_api_key"].(map[string]any)["credits"])
}
