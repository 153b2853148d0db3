package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunOrgStore runs the conformance suite for [store.OrgStore]: round
// trips with and without a policy, conflicts, missing records, updates of
// the name and the policy, copies, paging and cancelled contexts.
// newStore must return a new, empty store for each call.
func RunOrgStore(t *testing.T, newStore func(t *testing.T) store.OrgStore) {
	t.Helper()
	ctx := context.Background()
	policy := func() *store.OrgPolicy {
		return &store.OrgPolicy{RequireExpiry: true, MaxLifetimeDays: 90, DefaultLifetimeDays: 30,
			UpdatedAt: base.Add(time.Hour), UpdatedBy: "usr_admin"}
	}
	runCases(t, newStore, []suiteCase[store.OrgStore]{
		{"RoundTrip", func(t *testing.T, s store.OrgStore) {
			rows := []*store.Org{
				{ID: "org_plain", Name: "Acme", CreatedAt: base},
				{ID: "org_policy", Name: `Ünïcödé "quoted"; DROP TABLE orgs; --`, Policy: policy(), CreatedAt: base},
				{ID: "org_zero_policy", Name: "Zero", Policy: &store.OrgPolicy{}, CreatedAt: base},
			}
			for _, o := range rows {
				t.Run(o.ID, func(t *testing.T) {
					want := o.Clone()
					require.NoError(t, s.CreateOrg(ctx, o))
					got, err := s.OrgByID(ctx, o.ID)
					require.NoError(t, err)
					assertOrg(t, want, got)
				})
			}
		}},
		{"Conflict", func(t *testing.T, s store.OrgStore) {
			require.NoError(t, s.CreateOrg(ctx, &store.Org{ID: "org_1", Name: "One", CreatedAt: base}))
			assert.ErrorIs(t, s.CreateOrg(ctx, &store.Org{ID: "org_1", Name: "Other", CreatedAt: base}), store.ErrConflict)
			got, err := s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assert.Equal(t, "One", got.Name, "the first record stays")
		}},
		{"NotFound", func(t *testing.T, s store.OrgStore) {
			_, err := s.OrgByID(ctx, "org_missing")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UpdateOrg(ctx, "org_missing", store.OrgUpdate{Name: ptr("x")})
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UpdateOrg(ctx, "org_missing", store.OrgUpdate{})
			assert.ErrorIs(t, err, store.ErrNotFound, "an empty update of a missing org")
			_, err = s.UpdateOrg(ctx, "org_missing", store.OrgUpdate{ClearPolicy: true})
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"Update", func(t *testing.T, s store.OrgStore) {
			require.NoError(t, s.CreateOrg(ctx, &store.Org{ID: "org_1", Name: "One", CreatedAt: base}))
			got, err := s.UpdateOrg(ctx, "org_1", store.OrgUpdate{Name: ptr("Renamed")})
			require.NoError(t, err)
			assert.Equal(t, "Renamed", got.Name)
			assert.Nil(t, got.Policy, "a rename leaves the (absent) policy")

			p := policy()
			got, err = s.UpdateOrg(ctx, "org_1", store.OrgUpdate{Policy: p})
			require.NoError(t, err)
			assertOrg(t, &store.Org{ID: "org_1", Name: "Renamed", Policy: policy(), CreatedAt: base}, got)
			p.MaxLifetimeDays = 1 // the store kept its own copy
			again, err := s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assertOrg(t, &store.Org{ID: "org_1", Name: "Renamed", Policy: policy(), CreatedAt: base}, again)

			same, err := s.UpdateOrg(ctx, "org_1", store.OrgUpdate{})
			require.NoError(t, err, "an empty update returns the org")
			assertOrg(t, again, same)

			renamed, err := s.UpdateOrg(ctx, "org_1", store.OrgUpdate{Name: ptr("Third")})
			require.NoError(t, err)
			assertOrg(t, &store.Org{ID: "org_1", Name: "Third", Policy: policy(), CreatedAt: base}, renamed)

			changed := &store.OrgPolicy{MaxLifetimeDays: 400, UpdatedAt: base.Add(2 * time.Hour), UpdatedBy: "usr_2"}
			got, err = s.UpdateOrg(ctx, "org_1", store.OrgUpdate{Policy: changed})
			require.NoError(t, err)
			assertPolicy(t, changed, got.Policy)

			got, err = s.UpdateOrg(ctx, "org_1", store.OrgUpdate{ClearPolicy: true, Policy: policy()})
			require.NoError(t, err)
			assert.Nil(t, got.Policy, "ClearPolicy wins over Policy")
			again, err = s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assert.Nil(t, again.Policy)
			assert.Equal(t, "Third", again.Name)
		}},
		{"Copies", func(t *testing.T, s store.OrgStore) {
			o := &store.Org{ID: "org_1", Name: "One", Policy: policy(), CreatedAt: base}
			require.NoError(t, s.CreateOrg(ctx, o))
			o.Name, o.Policy.MaxLifetimeDays = "changed", 7
			got, err := s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assert.Equal(t, "One", got.Name)
			got.Policy.MaxLifetimeDays = 8
			again, err := s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assert.Equal(t, 90, again.Policy.MaxLifetimeDays)
		}},
		{"ListPages", func(t *testing.T, s store.OrgStore) {
			var want []string
			for i := range 7 {
				id := fmt.Sprintf("org_%02d", 6-i) // created out of order
				require.NoError(t, s.CreateOrg(ctx, &store.Org{ID: id, Name: id, CreatedAt: base}))
				want = append([]string{id}, want...)
			}
			var got []string
			after, pages := "", 0
			for {
				page, next, err := s.ListOrgs(ctx, store.OrgFilter{After: after, Limit: 3})
				require.NoError(t, err)
				pages++
				require.LessOrEqual(t, len(page), 3)
				for _, o := range page {
					got = append(got, o.ID)
				}
				if next == "" {
					break
				}
				after = next
			}
			assert.Equal(t, want, got, "every org once, in ID order")
			assert.Equal(t, 3, pages)
			all, next, err := s.ListOrgs(ctx, store.OrgFilter{})
			require.NoError(t, err)
			assert.Len(t, all, 7)
			assert.Empty(t, next)
			none, next, err := s.ListOrgs(ctx, store.OrgFilter{After: "org_99"})
			require.NoError(t, err)
			assert.Empty(t, none)
			assert.Empty(t, next)
		}},
		{"CancelledContext", func(t *testing.T, s store.OrgStore) {
			require.NoError(t, s.CreateOrg(ctx, &store.Org{ID: "org_1", Name: "One", CreatedAt: base}))
			c, cancel := context.WithCancel(ctx)
			cancel()
			assert.ErrorIs(t, s.CreateOrg(c, &store.Org{ID: "org_2", Name: "Two", CreatedAt: base}), context.Canceled)
			_, err := s.OrgByID(ctx, "org_2")
			assert.ErrorIs(t, err, store.ErrNotFound, "a create under a cancelled context stored nothing")
			_, err = s.UpdateOrg(c, "org_1", store.OrgUpdate{Name: ptr("changed"), Policy: policy()})
			assert.ErrorIs(t, err, context.Canceled)
			got, err := s.OrgByID(ctx, "org_1")
			require.NoError(t, err)
			assert.Equal(t, "One", got.Name)
			assert.Nil(t, got.Policy)
			_, err = s.OrgByID(c, "org_1")
			assert.ErrorIs(t, err, context.Canceled)
			_, _, err = s.ListOrgs(c, store.OrgFilter{})
			assert.ErrorIs(t, err, context.Canceled)
		}},
	})
}

func assertOrg(t *testing.T, want, got *store.Org) {
	t.Helper()
	if !assert.NotNil(t, got, "org %s", want.ID) {
		return
	}
	assert.Equal(t, want.ID, got.ID, "ID")
	assert.Equal(t, want.Name, got.Name, "Name")
	assertTime(t, "CreatedAt", want.CreatedAt, got.CreatedAt)
	assertPolicy(t, want.Policy, got.Policy)
}

func assertPolicy(t *testing.T, want, got *store.OrgPolicy) {
	t.Helper()
	if want == nil {
		assert.Nil(t, got, "Policy")
		return
	}
	if !assert.NotNil(t, got, "Policy") {
		return
	}
	assert.Equal(t, want.RequireExpiry, got.RequireExpiry, "RequireExpiry")
	assert.Equal(t, want.MaxLifetimeDays, got.MaxLifetimeDays, "MaxLifetimeDays")
	assert.Equal(t, want.DefaultLifetimeDays, got.DefaultLifetimeDays, "DefaultLifetimeDays")
	assert.Equal(t, want.UpdatedBy, got.UpdatedBy, "UpdatedBy")
	assertTime(t, "Policy.UpdatedAt", want.UpdatedAt, got.UpdatedAt)
}
