package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"
	_ "time/tzdata" // the zone tests must not depend on the machine's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return loc
}

// endOf90 is the end of the 90th day after t0 in New York: t0 is 1 March,
// the 90th day after it is 30 May, which ends at midnight EDT (UTC-4).
var endOf90 = time.Date(2026, 5, 31, 4, 0, 0, 0, time.UTC)

func TestPolicyEndOfDay(t *testing.T) {
	ny := newYork(t)
	tests := []struct {
		name string
		loc  *time.Location
		at   time.Time
		days int
		want time.Time
	}{
		{"UTC by default", nil, t0, 1, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"zero days is the end of today", nil, t0, 0, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"across the switch to daylight time", ny, t0, 90, endOf90},
		{"before the switch", ny, t0, 1, time.Date(2026, 3, 3, 5, 0, 0, 0, time.UTC)},
		{"late evening counts from the local day", ny, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC), 1, time.Date(2026, 3, 3, 5, 0, 0, 0, time.UTC)},
		{"the last instant of a day", ny, time.Date(2026, 3, 2, 4, 59, 59, 999999999, time.UTC), 0, time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC)},
		{"the first instant of a day", ny, time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC), 0, time.Date(2026, 3, 3, 5, 0, 0, 0, time.UTC)},
		{"across the switch back", ny, time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), 1, time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)},
		{"a fixed zone", time.FixedZone("UTC+14", 14*3600), t0, 1, time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := admin.Policy{Location: tt.loc}.EndOfDay(tt.at, tt.days)
			assert.True(t, tt.want.Equal(got), "want %v, got %v", tt.want, got.UTC())
		})
	}
}

func TestNewManagerValidatesPolicy(t *testing.T) {
	mem := store.NewMemory()
	tests := []struct {
		name   string
		policy admin.Policy
		ok     bool
	}{
		{"zero", admin.Policy{}, true},
		{"maximum of 400 days", admin.Policy{MaxLifetimeDays: 400}, true},
		{"maximum of 401 days", admin.Policy{MaxLifetimeDays: 401}, false},
		{"negative maximum", admin.Policy{MaxLifetimeDays: -1}, false},
		{"negative default", admin.Policy{DefaultLifetimeDays: -1}, false},
		{"default above the maximum", admin.Policy{MaxLifetimeDays: 90, DefaultLifetimeDays: 91}, false},
		{"default equal to the maximum", admin.Policy{MaxLifetimeDays: 90, DefaultLifetimeDays: 90}, true},
		{"default without a maximum", admin.Policy{DefaultLifetimeDays: 365}, true},
		{"default of 400 days without a maximum", admin.Policy{DefaultLifetimeDays: 400}, true},
		{"default of 401 days without a maximum", admin.Policy{DefaultLifetimeDays: 401}, false},
		{"required with a default", admin.Policy{RequireExpiry: true, DefaultLifetimeDays: 30}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := admin.NewManager(mem, mem, format, admin.Config{Policy: tt.policy})
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, tt.policy, m.Policy())
				return
			}
			assert.Error(t, err)
			assert.Nil(t, m)
		})
	}
}

// TestPolicyValidatorsAgree: Config.Policy (NewManager) and an
// organization's policy (CheckPolicy, as SetOrgPolicy) follow the same
// rules, a default above 400 days without a maximum included.
func TestPolicyValidatorsAgree(t *testing.T) {
	mem := store.NewMemory()
	for _, p := range []admin.Policy{
		{}, {MaxLifetimeDays: 400}, {MaxLifetimeDays: 401}, {MaxLifetimeDays: -1}, {DefaultLifetimeDays: -1},
		{MaxLifetimeDays: 90, DefaultLifetimeDays: 91}, {DefaultLifetimeDays: 400}, {DefaultLifetimeDays: 401},
		{RequireExpiry: true, DefaultLifetimeDays: 30},
	} {
		_, err := admin.NewManager(mem, mem, format, admin.Config{Policy: p})
		checked := admin.CheckPolicy(p)
		assert.Equal(t, err == nil, checked == nil, "%+v: NewManager: %v; CheckPolicy: %v", p, err, checked)
	}
}

func TestNewManagerArguments(t *testing.T) {
	mem := store.NewMemory()
	tests := []struct {
		name  string
		keys  store.KeyStore
		users store.UserStore
		f     apikey.Format
		cfg   admin.Config
	}{
		{"nil keys", nil, mem, format, admin.Config{}},
		{"nil users", mem, nil, format, admin.Config{}},
		{"zero format", mem, mem, apikey.Format{}, admin.Config{}},
		{"invalid role", mem, mem, format, admin.Config{Roles: map[string][]string{"x": {"bad scope"}}}},
		{"invalid admin scope", mem, mem, format, admin.Config{AdminScope: "a\"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := admin.NewManager(tt.keys, tt.users, tt.f, tt.cfg)
			assert.Error(t, err)
			assert.Nil(t, m)
		})
	}
}

// strict is the policy of the edge tests: expiry required, at most 90 days,
// days ending in New York.
func strict(t *testing.T) admin.Policy {
	return admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90, Location: newYork(t)}
}

func TestPolicyOnCreate(t *testing.T) {
	ny := newYork(t)
	tests := []struct {
		name   string
		policy admin.Policy
		expiry admin.Expiry
		want   time.Time // zero: no expiry
		field  string    // non-empty: refused, naming this field
	}{
		{"90 days ends at the end of the 90th day", strict(t), admin.Expiry{InDays: true, Days: 90}, endOf90, ""},
		{"91 days", strict(t), admin.Expiry{InDays: true, Days: 91}, time.Time{}, "expires_in_days"},
		{"1 day", strict(t), admin.Expiry{InDays: true, Days: 1}, time.Date(2026, 3, 3, 5, 0, 0, 0, time.UTC), ""},
		{"0 days", strict(t), admin.Expiry{InDays: true, Days: 0}, time.Time{}, "expires_in_days"},
		{"exactly the maximum instant", strict(t), admin.Expiry{Set: true, At: endOf90}, endOf90, ""},
		{"the maximum instant in another zone", strict(t), admin.Expiry{Set: true, At: endOf90.In(ny)}, endOf90, ""},
		{"one second past the maximum", strict(t), admin.Expiry{Set: true, At: endOf90.Add(time.Second)}, time.Time{}, "expires_at"},
		{"one day past the maximum", strict(t), admin.Expiry{Set: true, At: endOf90.Add(24 * time.Hour)}, time.Time{}, "expires_at"},
		{"one second from now", strict(t), admin.Expiry{Set: true, At: t0.Add(time.Second)}, t0.Add(time.Second), ""},
		{"now", strict(t), admin.Expiry{Set: true, At: t0}, time.Time{}, "expires_at"},
		{"no expiry when one is required", strict(t), admin.Expiry{}, time.Time{}, "expires_at"},
		{"null expiry when one is required", strict(t), admin.Expiry{Set: true}, time.Time{}, "expires_at"},
		{"no expiry without a policy", admin.Policy{}, admin.Expiry{}, time.Time{}, ""},
		{"a long expiry without a policy", admin.Policy{}, admin.Expiry{InDays: true, Days: 3650}, time.Date(2036, 2, 28, 0, 0, 0, 0, time.UTC), ""},
		{"no expiry under a maximum", admin.Policy{MaxLifetimeDays: 90, Location: ny}, admin.Expiry{}, time.Time{}, "expires_at"},
		{"the default lifetime when none is given", admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90, DefaultLifetimeDays: 30, Location: ny},
			admin.Expiry{}, time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC), ""},
		{"the default lifetime without a requirement", admin.Policy{DefaultLifetimeDays: 7}, admin.Expiry{}, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), ""},
		{"a given lifetime beats the default", admin.Policy{DefaultLifetimeDays: 7}, admin.Expiry{InDays: true, Days: 2}, time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{policy: tt.policy})
			c, err := e.mgr.Create(context.Background(), e.principal(t, e.boot[alice]),
				admin.CreateRequest{Name: "x", Scopes: []string{"read"}, Expiry: tt.expiry})
			if tt.field != "" {
				var v *admin.ValidationError
				require.ErrorAs(t, err, &v)
				assert.ErrorIs(t, err, admin.ErrInvalid)
				assert.Contains(t, v.Fields, tt.field)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(c.Record.ExpiresAt), "want %v, got %v", tt.want, c.Record.ExpiresAt)
			assert.Equal(t, time.UTC, c.Record.ExpiresAt.Location(), "stored in UTC")

			// The key works up to, not at, its expiry.
			if !tt.want.IsZero() {
				e.clock.Advance(tt.want.Sub(t0) - time.Second)
				_, err = e.auth.Verify(context.Background(), c.Key)
				assert.NoError(t, err, "a second before expiry")
				e.clock.Advance(time.Second)
				_, err = e.auth.Verify(context.Background(), c.Key)
				assert.Error(t, err, "at expiry")
			}
		})
	}
}

func TestPolicyOverHTTP(t *testing.T) {
	e := newEnv(t, envConfig{policy: strict(t)})
	me := e.boot[alice]
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
		expiry string
	}{
		{"90 days", map[string]any{"expires_in_days": 90}, http.StatusCreated, "", "2026-05-31T04:00:00Z"},
		{"91 days", map[string]any{"expires_in_days": 91}, http.StatusUnprocessableEntity, "expires_in_days", ""},
		{"the maximum instant", map[string]any{"expires_at": "2026-05-31T00:00:00-04:00"}, http.StatusCreated, "", "2026-05-31T04:00:00Z"},
		{"a second past it", map[string]any{"expires_at": "2026-05-31T04:00:01Z"}, http.StatusUnprocessableEntity, "expires_at", ""},
		{"a day past it", map[string]any{"expires_at": "2026-06-01T04:00:00Z"}, http.StatusUnprocessableEntity, "expires_at", ""},
		{"none", map[string]any{}, http.StatusUnprocessableEntity, "expires_at", ""},
		{"null", map[string]any{"expires_at": nil}, http.StatusUnprocessableEntity, "expires_at", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["name"], tt.body["scopes"] = "x", []string{"read"}
			r := e.do(t, http.MethodPost, apiPath, me, tt.body)
			if tt.field != "" {
				p := assertProblem(t, r, tt.status, "invalid_body")
				assert.Contains(t, p.Errors, tt.field)
				return
			}
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			assert.Equal(t, tt.expiry, r.object(t)["api_key"].(map[string]any)["expires_at"])
		})
	}

	t.Run("removing the expiry", func(t *testing.T) {
		r := e.do(t, http.MethodPost, apiPath, me, map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 5})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		id := r.object(t)["api_key"].(map[string]any)["id"].(string)
		p := assertProblem(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, `{"expires_at": null}`), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "expires_at")
		p = assertProblem(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, `{"expires_in_days": 91}`), http.StatusUnprocessableEntity, "invalid_body")
		assert.Contains(t, p.Errors, "expires_in_days")
		body := requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, me, `{"expires_in_days": 90}`), http.StatusOK)
		assert.Equal(t, "2026-05-31T04:00:00Z", body["expires_at"])
	})
}

// TestPolicyOnUpdate checks that a new expiry is bounded by the key's
// creation, not by the time of the update, and that a required expiry
// cannot be removed.
func TestPolicyOnUpdate(t *testing.T) {
	tests := []struct {
		name   string
		policy admin.Policy
		expiry admin.Expiry
		want   time.Time
		field  string
	}{
		{"within the maximum from creation", strict(t), admin.Expiry{InDays: true, Days: 80}, endOf90, ""},
		{"past the maximum from creation", strict(t), admin.Expiry{InDays: true, Days: 81}, time.Time{}, "expires_in_days"},
		{"exactly the maximum instant", strict(t), admin.Expiry{Set: true, At: endOf90}, endOf90, ""},
		{"a second past it", strict(t), admin.Expiry{Set: true, At: endOf90.Add(time.Second)}, time.Time{}, "expires_at"},
		{"in the past", strict(t), admin.Expiry{Set: true, At: t0.Add(24 * time.Hour)}, time.Time{}, "expires_at"},
		{"removed when required", strict(t), admin.Expiry{Set: true}, time.Time{}, "expires_at"},
		{"removed under a maximum", admin.Policy{MaxLifetimeDays: 90}, admin.Expiry{Set: true}, time.Time{}, "expires_at"},
		{"removed without a policy", admin.Policy{}, admin.Expiry{Set: true}, time.Time{}, ""},
		{"removed with only a default", admin.Policy{DefaultLifetimeDays: 30}, admin.Expiry{Set: true}, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{policy: tt.policy})
			ctx := context.Background()
			p := e.principal(t, e.boot[alice])
			c, err := e.mgr.Create(ctx, p, admin.CreateRequest{Name: "x", Scopes: []string{"read"}, Expiry: admin.Expiry{InDays: true, Days: 30}})
			require.NoError(t, err)
			e.clock.Advance(10 * 24 * time.Hour) // 11 March, in daylight time

			k, err := e.mgr.Update(ctx, p, c.Record.ID, admin.UpdateRequest{Expiry: tt.expiry})
			if tt.field != "" {
				var v *admin.ValidationError
				require.ErrorAs(t, err, &v)
				assert.Contains(t, v.Fields, tt.field)
				stored, err := e.mem.KeyByID(ctx, c.Record.ID)
				require.NoError(t, err)
				assert.Equal(t, c.Record.ExpiresAt, stored.ExpiresAt, "a refused update keeps the expiry")
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(k.ExpiresAt), "want %v, got %v", tt.want, k.ExpiresAt)
		})
	}
}

// TestPolicyKeepsOlderKeys checks that switching a policy on does not break
// keys issued before it: they authenticate, can be renamed, and rotation
// gives them a lifetime within the policy.
func TestPolicyKeepsOlderKeys(t *testing.T) {
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	legacy, rec := e.issue(t, alice, apikey.Params{Name: "legacy", Scopes: []string{"read"}})
	require.True(t, rec.ExpiresAt.IsZero())

	tests := []struct {
		name   string
		policy admin.Policy
		rotate time.Time // the new key's expiry after a rotation; zero: refused
	}{
		{"required with a maximum", strict(t), endOf90},
		{"required with a default", admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90, DefaultLifetimeDays: 30, Location: newYork(t)},
			time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC)},
		{"a maximum only", admin.Policy{MaxLifetimeDays: 90, Location: newYork(t)}, endOf90},
		{"required with nothing to go by", admin.Policy{RequireExpiry: true}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mgr, err := admin.NewManager(e.cache, e.mem, format, admin.Config{Hasher: e.hasher, Policy: tt.policy, Now: e.clock.Now})
			require.NoError(t, err)
			p := e.principal(t, e.boot[alice])

			got, err := e.auth.Verify(ctx, legacy)
			require.NoError(t, err, "the older key still authenticates")
			assert.Equal(t, rec.ID, got.KeyID)

			k, err := mgr.Update(ctx, p, rec.ID, admin.UpdateRequest{Name: ptr("legacy renamed")})
			require.NoError(t, err, "an update that leaves the expiry alone is allowed")
			assert.True(t, k.ExpiresAt.IsZero())

			r, err := mgr.Rotate(ctx, p, rec.ID, time.Hour)
			if tt.rotate.IsZero() {
				assert.ErrorIs(t, err, admin.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.rotate.Equal(r.Record.ExpiresAt), "want %v, got %v", tt.rotate, r.Record.ExpiresAt)
			assert.True(t, t0.Add(time.Hour).Equal(r.Old.ExpiresAt), "the older key ends with the grace")
			// Keep the older key for the next row.
			_, err = e.mem.UpdateKey(ctx, rec.ID, store.KeyUpdate{ExpiresAt: &time.Time{}})
			require.NoError(t, err)
			e.cache.InvalidateAll()
		})
	}
}

// TestRotationLifetime checks that a rotated key lives as long as the old
// one did, within the policy's maximum.
func TestRotationLifetime(t *testing.T) {
	tests := []struct {
		name    string
		policy  admin.Policy
		created admin.Expiry
		after   time.Duration
		want    time.Time
	}{
		{"same lifetime", admin.Policy{}, admin.Expiry{Set: true, At: t0.Add(30 * 24 * time.Hour)}, 10 * 24 * time.Hour, t0.Add(40 * 24 * time.Hour)},
		{"no expiry stays none", admin.Policy{}, admin.Expiry{}, 24 * time.Hour, time.Time{}},
		{"a day later, within the maximum", strict(t), admin.Expiry{InDays: true, Days: 90}, 24 * time.Hour,
			time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)},
		// Twelve hours later it is still 1 March in New York: the same
		// lifetime would end past the maximum, so it is capped.
		{"capped at the maximum from the rotation", strict(t), admin.Expiry{InDays: true, Days: 90}, 12 * time.Hour, endOf90},
		{"after the old key expired", admin.Policy{}, admin.Expiry{Set: true, At: t0.Add(time.Hour)}, 2 * time.Hour, t0.Add(3 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{policy: tt.policy})
			ctx := context.Background()
			p := e.principal(t, e.boot[alice])
			c, err := e.mgr.Create(ctx, p, admin.CreateRequest{Name: "x", Scopes: []string{"read"}, Expiry: tt.created})
			require.NoError(t, err)
			e.clock.Advance(tt.after)
			r, err := e.mgr.Rotate(ctx, p, c.Record.ID, 0)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(r.Record.ExpiresAt), "want %v, got %v", tt.want, r.Record.ExpiresAt)
			assert.True(t, r.Old.Revoked())
			assert.Equal(t, c.Record.ExpiresAt, r.Old.ExpiresAt, "rotation without grace leaves the old expiry")
		})
	}
}

func TestRotationGrace(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Time // the old key's expiry; zero: none
		grace   time.Duration
		wantOld time.Time
		invalid bool
	}{
		{"the grace ends first", t0.Add(48 * time.Hour), time.Hour, t0.Add(time.Hour), false},
		{"the old expiry ends first", t0.Add(30 * time.Minute), time.Hour, t0.Add(30 * time.Minute), false},
		{"no old expiry", time.Time{}, time.Hour, t0.Add(time.Hour), false},
		{"the longest grace", time.Time{}, 30 * 24 * time.Hour, t0.Add(30 * 24 * time.Hour), false},
		{"longer than allowed", time.Time{}, 30*24*time.Hour + time.Second, time.Time{}, true},
		{"negative", time.Time{}, -time.Second, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			ctx := context.Background()
			oldKey, old := e.issue(t, alice, apikey.Params{ExpiresAt: tt.expires})
			r, err := e.mgr.Rotate(ctx, e.principal(t, e.boot[alice]), old.ID, tt.grace)
			if tt.invalid {
				var v *admin.ValidationError
				require.ErrorAs(t, err, &v)
				assert.Contains(t, v.Fields, "grace_seconds")
				_, err = e.auth.Verify(ctx, oldKey)
				assert.NoError(t, err, "a refused rotation keeps the old key")
				return
			}
			require.NoError(t, err)
			assert.False(t, r.Old.Revoked())
			assert.True(t, tt.wantOld.Equal(r.Old.ExpiresAt), "want %v, got %v", tt.wantOld, r.Old.ExpiresAt)
			// Issued at t0 and rotated at t0: the same lifetime is the same expiry.
			assert.True(t, tt.expires.Equal(r.Record.ExpiresAt), "the new key keeps the old lifetime: %v", r.Record.ExpiresAt)
		})
	}
}

// TestPolicyNewKeyExpiry covers the policy as tools without a Manager
// apply it (the CLI): the same edges as over HTTP.
func TestPolicyNewKeyExpiry(t *testing.T) {
	now := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	capped := admin.Policy{MaxLifetimeDays: 30}
	tests := []struct {
		name    string
		policy  admin.Policy
		req     admin.Expiry
		want    time.Time
		wantErr string
	}{
		{"no policy, no expiry", admin.Policy{}, admin.Expiry{}, time.Time{}, ""},
		{"exactly the maximum", capped, admin.Expiry{InDays: true, Days: 30}, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), ""},
		{"one day more", capped, admin.Expiry{InDays: true, Days: 31}, time.Time{}, "maximum lifetime of 30 days"},
		{"instant at the cap", capped, admin.Expiry{Set: true, At: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), ""},
		{"instant past the cap", capped, admin.Expiry{Set: true, At: time.Date(2026, 4, 1, 0, 0, 0, 1, time.UTC)}, time.Time{}, "maximum lifetime"},
		{"missing under a cap", capped, admin.Expiry{}, time.Time{}, "an expiry is required"},
		{"missing when required", admin.Policy{RequireExpiry: true}, admin.Expiry{}, time.Time{}, "an expiry is required"},
		{"default fills in", admin.Policy{RequireExpiry: true, DefaultLifetimeDays: 7}, admin.Expiry{}, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), ""},
		{"in the past", admin.Policy{}, admin.Expiry{Set: true, At: now.Add(-time.Second)}, time.Time{}, "must be in the future"},
		{"invalid policy", admin.Policy{MaxLifetimeDays: 401}, admin.Expiry{InDays: true, Days: 1}, time.Time{}, "0 to 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.NewKeyExpiry(tt.req, now)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "want %v, got %v", tt.want, got)
		})
	}
}

func TestStatusOf(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		k    store.Key
		want string
	}{
		{"no expiry", store.Key{}, "active"},
		{"expires later", store.Key{ExpiresAt: now.Add(time.Second)}, "active"},
		{"expired", store.Key{ExpiresAt: now.Add(-time.Second)}, "expired"},
		{"revoked", store.Key{RevokedAt: now.Add(-time.Hour)}, "revoked"},
		{"revoked and expired", store.Key{RevokedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Second)}, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, admin.StatusOf(&tt.k, now))
			assert.Equal(t, tt.want, admin.ToJSON(&tt.k, now).Status)
		})
	}
}
