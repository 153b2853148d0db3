package storetest

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// ControlStore is a key store that spends and takes credits itself (the
// memory and SQL stores).
type ControlStore interface {
	store.KeyStore
	store.CreditSpender
	store.CreditTaker
}

// RunKeyControls runs the conformance suite of the per-key controls: the
// allowed networks and credits kept, updated and cleared, and credits spent
// atomically with refills. newStore is called as in [RunKeyStore].
func RunKeyControls(t *testing.T, newStore func(t *testing.T) ControlStore) {
	t.Helper()
	runCases(t, newStore, []suiteCase[ControlStore]{
		{"UpdateControls", testUpdateControls},
		{"Spend", testSpend},
		{"Refill", testRefill},
		{"SpendConcurrent", testSpendConcurrent},
		{"Take", testTake},
		{"TakeConcurrent", testTakeConcurrent},
	})
}

func assertControls(t *testing.T, want, got *store.Key) {
	t.Helper()
	if len(want.AllowedNetworks) == 0 {
		assert.Empty(t, got.AllowedNetworks, "AllowedNetworks")
	} else {
		assert.Equal(t, want.AllowedNetworks, got.AllowedNetworks, "AllowedNetworks")
	}
	if want.Credits == nil {
		assert.Nil(t, got.Credits, "Credits")
		return
	}
	if !assert.NotNil(t, got.Credits, "Credits") {
		return
	}
	w, g := *want.Credits, *got.Credits
	assertTime(t, "Credits.Since", w.Since, g.Since)
	w.Since, g.Since = time.Time{}, time.Time{}
	assert.Equal(t, w, g, "Credits")
}

func testUpdateControls(t *testing.T, s ControlStore) {
	ctx := context.Background()
	nets := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.7/32")}
	credits := gatehouse.Credits{Remaining: 5, Refill: 10, Interval: gatehouse.CreditsMonthly, Since: base.Add(time.Hour)}
	testUpdates(t, s, []updateCase{
		{"networks", store.KeyUpdate{AllowedNetworks: &nets},
			func(k *store.Key) { k.AllowedNetworks = nets }},
		{"clear networks", store.KeyUpdate{AllowedNetworks: &[]netip.Prefix{}},
			func(k *store.Key) { k.AllowedNetworks = nil }},
		{"credits", store.KeyUpdate{Credits: &credits},
			func(k *store.Key) { c := credits; k.Credits = &c }},
		{"clear credits", store.KeyUpdate{Credits: &gatehouse.Credits{}},
			func(k *store.Key) { k.Credits = nil }},
		{"credits without refill", store.KeyUpdate{Credits: &gatehouse.Credits{Remaining: 3, Since: base}},
			func(k *store.Key) { k.Credits = &gatehouse.Credits{Remaining: 3, Since: base} }},
		{"both and a name", store.KeyUpdate{Name: ptr("n"), AllowedNetworks: &nets, Credits: &credits},
			func(k *store.Key) { c := credits; k.Name, k.AllowedNetworks, k.Credits = "n", nets, &c }},
	})
	t.Run("a key created without controls", func(t *testing.T) {
		k := create(t, s, minimalKey(t))
		got, err := s.KeyByID(ctx, k.ID)
		require.NoError(t, err)
		assert.Nil(t, got.AllowedNetworks)
		assert.Nil(t, got.Credits)
	})
}

// spendN spends n uses at at and returns what each left, or -2 for an
// exhausted key.
func spend(t *testing.T, s ControlStore, k *store.Key, at time.Time) int64 {
	t.Helper()
	left, err := s.SpendCredit(context.Background(), k.ID, k.Credits, at)
	var ce *gatehouse.CreditsError
	if errors.As(err, &ce) {
		require.ErrorIs(t, err, gatehouse.ErrCreditsExhausted)
		require.ErrorIs(t, err, gatehouse.ErrRateLimited)
		assert.Equal(t, k.ID, ce.KeyID)
		return -2
	}
	require.NoError(t, err)
	return left
}

func testSpend(t *testing.T, s ControlStore) {
	ctx := context.Background()
	k := newKey(t)
	k.Credits = &gatehouse.Credits{Remaining: 3, Since: base}
	create(t, s, k)
	var got []int64
	for range 5 {
		got = append(got, spend(t, s, k, base.Add(time.Minute)))
	}
	assert.Equal(t, []int64{2, 1, 0, -2, -2}, got)
	_, err := s.SpendCredit(ctx, k.ID, k.Credits, base.Add(48*time.Hour))
	var ce *gatehouse.CreditsError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.RefillAt.IsZero(), "never refilled")
	assert.Zero(t, ce.RetryAfter)
	rec, err := s.KeyByID(ctx, k.ID)
	require.NoError(t, err)
	require.NotNil(t, rec.Credits)
	assert.Zero(t, rec.Credits.Remaining, "the record shows what is left")

	plain := create(t, s, minimalKey(t))
	left, err := s.SpendCredit(ctx, plain.ID, &gatehouse.Credits{Remaining: 1}, base)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), left, "a key without credits spends nothing")

	_, err = s.SpendCredit(ctx, "key_missing", &gatehouse.Credits{Remaining: 1}, base)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// An update sets the count afresh.
	_, err = s.UpdateKey(ctx, k.ID, store.KeyUpdate{Credits: &gatehouse.Credits{Remaining: 1, Since: base.Add(time.Hour)}})
	require.NoError(t, err)
	assert.Equal(t, int64(0), spend(t, s, k, base.Add(2*time.Hour)))
	assert.Equal(t, int64(-2), spend(t, s, k, base.Add(2*time.Hour)))
}

func testRefill(t *testing.T, s ControlStore) {
	day0 := time.Date(2031, time.January, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		interval gatehouse.CreditInterval
		next     time.Time // the first refill after day0
	}{
		{"day", gatehouse.CreditsDaily, time.Date(2031, time.February, 1, 0, 0, 0, 0, time.UTC)},
		{"month", gatehouse.CreditsMonthly, time.Date(2031, time.February, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t)
			k.Credits = &gatehouse.Credits{Remaining: 1, Refill: 3, Interval: tc.interval, Since: day0}
			create(t, s, k)
			assert.Equal(t, int64(0), spend(t, s, k, day0.Add(time.Hour)))
			at := tc.next.Add(-time.Microsecond)
			_, err := s.SpendCredit(context.Background(), k.ID, k.Credits, at)
			var ce *gatehouse.CreditsError
			require.ErrorAs(t, err, &ce)
			assert.True(t, tc.next.Equal(ce.RefillAt), "refill at %v, want %v", ce.RefillAt, tc.next)
			assert.Equal(t, time.Microsecond, ce.RetryAfter)
			// The first use of the next period refills, then spends.
			var got []int64
			for range 4 {
				got = append(got, spend(t, s, k, tc.next))
			}
			assert.Equal(t, []int64{2, 1, 0, -2}, got)
			// The period after that refills again, once.
			after := k.Credits.NextRefill(tc.next).Add(time.Second)
			assert.Equal(t, int64(2), spend(t, s, k, after))
			assert.Equal(t, int64(1), spend(t, s, k, after))
		})
	}
}

func testSpendConcurrent(t *testing.T, s ControlStore) {
	k := newKey(t)
	k.Credits = &gatehouse.Credits{Remaining: 20, Since: base}
	create(t, s, k)
	const workers, each = 8, 5
	var mu sync.Mutex
	spent, refused := 0, 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.SpendCredit(context.Background(), k.ID, k.Credits, base)
				mu.Lock()
				if err == nil {
					spent++
				} else if assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted) {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 20, spent, "exactly the credits given are spent")
	assert.Equal(t, workers*each-20, refused)
}

func testTake(t *testing.T, s ControlStore) {
	ctx := context.Background()
	day0 := time.Date(2031, time.January, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		credits *gatehouse.Credits
		spend   int       // uses spent at day0 first
		at      time.Time // when the credits are taken
		want    int64
	}{
		{"what is left", &gatehouse.Credits{Remaining: 5, Since: day0}, 2, day0.Add(time.Hour), 3},
		{"none left", &gatehouse.Credits{Remaining: 1, Since: day0}, 1, day0.Add(time.Hour), 0},
		{"with a refill due", &gatehouse.Credits{Remaining: 5, Refill: 7, Interval: gatehouse.CreditsDaily, Since: day0}, 5,
			day0.Add(24 * time.Hour), 7},
		{"with a refill not yet due", &gatehouse.Credits{Remaining: 5, Refill: 7, Interval: gatehouse.CreditsMonthly, Since: day0}, 1,
			day0.Add(time.Hour), 4},
		{"no credits", nil, 0, day0, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t)
			k.Credits = tc.credits
			create(t, s, k)
			for range tc.spend {
				spend(t, s, k, day0)
			}
			left, err := s.TakeCredits(ctx, k.ID, k.Credits, tc.at)
			require.NoError(t, err)
			assert.Equal(t, tc.want, left)
			rec, err := s.KeyByID(ctx, k.ID)
			require.NoError(t, err)
			if tc.credits == nil {
				assert.Nil(t, rec.Credits)
				return
			}
			want := k.Clone()
			want.Credits = &gatehouse.Credits{Since: tc.at} // none left, no refill
			assertControls(t, want, rec)
			// Nothing is left, in this period or the next.
			assert.Equal(t, int64(-2), spend(t, s, rec, tc.at))
			assert.Equal(t, int64(-2), spend(t, s, rec, tc.at.AddDate(0, 2, 0)))
			again, err := s.TakeCredits(ctx, k.ID, rec.Credits, tc.at.Add(time.Hour))
			require.NoError(t, err)
			assert.Zero(t, again, "taken once")
		})
	}
	_, err := s.TakeCredits(ctx, "key_missing", &gatehouse.Credits{Remaining: 1}, day0)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// testTakeConcurrent: spends racing a take are either counted in what it
// took or refused, never both.
func testTakeConcurrent(t *testing.T, s ControlStore) {
	k := newKey(t)
	k.Credits = &gatehouse.Credits{Remaining: 1000, Since: base}
	create(t, s, k)
	const workers, each = 4, 10
	var mu sync.Mutex
	spent := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for range each {
				_, err := s.SpendCredit(context.Background(), k.ID, k.Credits, base)
				if err == nil {
					mu.Lock()
					spent++
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted)
				}
			}
		})
	}
	close(start)
	taken, err := s.TakeCredits(context.Background(), k.ID, k.Credits, base)
	require.NoError(t, err)
	wg.Wait()
	assert.Equal(t, int64(1000), taken+int64(spent), "taken %d, spent %d", taken, spent)
}
