package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/middleware"
)

func TestHTTPKeyControls(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"metered","scopes":["read"],
		"allowed_cidrs":["10.1.2.3/8"," 192.0.2.7","2001:db8::/32","192.0.2.7/32","::ffff:198.51.100.1"],
		"credits":{"remaining":100,"refill":100,"interval":"day"}}`)
	created := requireStatus(t, r, http.StatusCreated)
	rec := created["api_key"].(map[string]any)
	assert.Equal(t, []any{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.1/32"}, rec["allowed_cidrs"])
	assert.Equal(t, map[string]any{"remaining": 100.0, "refill": 100.0, "interval": "day", "refills_at": "2026-03-02T00:00:00Z"}, rec["credits"])
	id := rec["id"].(string)

	got := requireStatus(t, e.do(t, http.MethodGet, apiPath+"/"+id, e.boot[alice], nil), http.StatusOK)
	assert.Equal(t, rec["allowed_cidrs"], got["allowed_cidrs"])
	assert.Equal(t, rec["credits"], got["credits"])

	plain := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"plain","scopes":["read"]}`), http.StatusCreated)
	assert.Equal(t, []any{}, plain["api_key"].(map[string]any)["allowed_cidrs"])
	assert.Nil(t, plain["api_key"].(map[string]any)["credits"])

	// The owner narrows or clears the networks...
	up := requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], `{"allowed_cidrs":["203.0.113.0/24"]}`), http.StatusOK)
	assert.Equal(t, []any{"203.0.113.0/24"}, up["allowed_cidrs"])
	assert.NotNil(t, up["credits"], "credits left as they were")
	up = requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], `{"allowed_cidrs":null}`), http.StatusOK)
	assert.Equal(t, []any{}, up["allowed_cidrs"])
	// ...but only an admin changes credits, a quota.
	assertProblem(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], `{"credits":{"remaining":1000000}}`), http.StatusForbidden, "forbidden")
	up = requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[olga], `{"credits":{"remaining":5,"refill":50,"interval":"month"}}`), http.StatusOK)
	assert.Equal(t, map[string]any{"remaining": 5.0, "refill": 50.0, "interval": "month", "refills_at": "2026-04-01T00:00:00Z"}, up["credits"])
	up = requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[olga], `{"credits":null}`), http.StatusOK)
	assert.Nil(t, up["credits"])
}

// TestHTTPKeyControlsReachTheCache: a change of networks applies to a key
// the cache holds, from the next request.
func TestHTTPKeyControlsReachTheCache(t *testing.T) {
	e := newEnv(t, envConfig{})
	created := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[alice], `{"name":"k","scopes":["read"]}`), http.StatusCreated)
	key := created["key"].(string)
	id := created["api_key"].(map[string]any)["id"].(string)
	requireStatus(t, e.do(t, http.MethodGet, mePath, key, nil), http.StatusOK)
	requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], `{"allowed_cidrs":["192.0.2.0/24"]}`), http.StatusOK)
	p := assertProblem(t, e.do(t, http.MethodGet, mePath, key, nil), http.StatusForbidden, "forbidden")
	assert.Equal(t, middleware.DetailNetwork, p.Detail)
	requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[alice], `{"allowed_cidrs":["127.0.0.1"]}`), http.StatusOK)
	requireStatus(t, e.do(t, http.MethodGet, mePath, key, nil), http.StatusOK)

	// Rotation keeps the controls.
	rot := requireStatus(t, e.do(t, http.MethodPost, apiPath+"/"+id+"/rotate", e.boot[alice], nil), http.StatusCreated)
	assert.Equal(t, []any{"127.0.0.1/32"}, rot["api_key"].(map[string]any)["allowed_cidrs"])
}

func TestHTTPKeyControlsValidation(t *testing.T) {
	e := newEnv(t, envConfig{})
	many := `"10.0.0.1"` + strings.Repeat(`,"10.0.0.1"`, admin.MaxAllowedNetworks)
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"cidrs not a list", `"allowed_cidrs":"10.0.0.0/8"`, "allowed_cidrs"},
		{"cidrs of numbers", `"allowed_cidrs":[10]`, "allowed_cidrs"},
		{"a bad cidr", `"allowed_cidrs":["10.0.0.0/33"]`, "allowed_cidrs"},
		{"a host name", `"allowed_cidrs":["example.com"]`, "allowed_cidrs"},
		{"an empty string", `"allowed_cidrs":[""]`, "allowed_cidrs"},
		{"a zone", `"allowed_cidrs":["fe80::1%eth0"]`, "allowed_cidrs"},
		{"an IPv4-mapped network shorter than /96", `"allowed_cidrs":["::ffff:10.0.0.0/8"]`, "allowed_cidrs"},
		{"too many", `"allowed_cidrs":[` + many + `]`, "allowed_cidrs"},
		{"credits a number", `"credits":100`, "credits"},
		{"negative remaining", `"credits":{"remaining":-1}`, "credits"},
		{"negative refill", `"credits":{"remaining":1,"refill":-1,"interval":"day"}`, "credits"},
		{"refill without interval", `"credits":{"remaining":1,"refill":10}`, "credits"},
		{"interval without refill", `"credits":{"remaining":1,"interval":"day"}`, "credits"},
		{"unknown interval", `"credits":{"remaining":1,"refill":10,"interval":"week"}`, "credits"},
		{"unknown member", `"credits":{"remaining":1,"limit":10}`, "credits"},
		{"refills_at given", `"credits":{"remaining":1,"refills_at":"2027-01-01T00:00:00Z"}`, "credits"},
		{"fractional remaining", `"credits":{"remaining":1.5}`, "credits"},
	}
	created := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[olga], `{"name":"k","scopes":["read"]}`), http.StatusCreated)
	id := created["api_key"].(map[string]any)["id"].(string)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, apiPath, e.boot[olga], `{"name":"x","scopes":["read"],`+tc.body+`}`)
			p := assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
			assert.Contains(t, p.Errors, tc.field, "create: %v", p.Errors)
			r = e.do(t, http.MethodPatch, apiPath+"/"+id, e.boot[olga], `{`+tc.body+`}`)
			p = assertProblem(t, r, http.StatusUnprocessableEntity, "invalid_body")
			assert.Contains(t, p.Errors, tc.field, "update: %v", p.Errors)
		})
	}
	rec, err := e.mem.KeyByID(t.Context(), id)
	require.NoError(t, err)
	assert.Nil(t, rec.AllowedNetworks)
	assert.Nil(t, rec.Credits)
}

func TestParseCIDRs(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, []string{}, true},
		{[]string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}, true},
		{[]string{"10.9.8.7/8", "10.0.0.0/8"}, []string{"10.0.0.0/8"}, true},
		{[]string{"192.0.2.1"}, []string{"192.0.2.1/32"}, true},
		{[]string{"2001:db8::1"}, []string{"2001:db8::1/128"}, true},
		{[]string{"::ffff:192.0.2.1"}, []string{"192.0.2.1/32"}, true},
		{[]string{"0.0.0.0/0"}, []string{"0.0.0.0/0"}, true},
		{[]string{"10.0.0.0/8/8"}, nil, false},
		{[]string{"10.0.0.0/-1"}, nil, false},
		{[]string{"::ffff:10.0.0.0/104"}, []string{"10.0.0.0/8"}, true},
		{[]string{"::ffff:0.0.0.0/96"}, []string{"0.0.0.0/0"}, true},
		{[]string{"::ffff:10.0.0.0/8"}, nil, false},
		{[]string{"::ffff:10.0.0.0/95"}, nil, false},
		{[]string{"::ffff:0.0.0.0/0"}, nil, false},
		{[]string{"fe80::/10%eth0"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, ","), func(t *testing.T) {
			ps, ok := admin.ParseCIDRs(tc.in)
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			got := []string{}
			for _, p := range ps {
				got = append(got, p.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestHTTPCreditsZeroIsNotNull: {"remaining": 0} is a key with no use
// left, on create and on update; only null removes the credits, and an
// absent member leaves them as they are.
func TestHTTPCreditsZeroIsNotNull(t *testing.T) {
	e := newEnv(t, envConfig{})
	spent := func(t *testing.T, id string) error {
		t.Helper()
		_, err := e.mem.SpendCredit(t.Context(), id, nil, e.clock.Now())
		return err
	}
	created := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[olga], `{"name":"cut off","scopes":["read"],"credits":{"remaining":0}}`), http.StatusCreated)
	rec := created["api_key"].(map[string]any)
	assert.Equal(t, map[string]any{"remaining": 0.0}, rec["credits"], "create")
	id := rec["id"].(string)
	assert.ErrorIs(t, spent(t, id), gatehouse.ErrCreditsExhausted)

	other := requireStatus(t, e.do(t, http.MethodPost, apiPath, e.boot[olga], `{"name":"metered","scopes":["read"],"credits":{"remaining":5}}`), http.StatusCreated)
	otherID := other["api_key"].(map[string]any)["id"].(string)
	tests := []struct {
		name string
		body string
		want any // the credits member of the answer
		err  error
	}{
		{"absent leaves them", `{"name":"metered"}`, map[string]any{"remaining": 5.0}, nil},
		{"zero cuts the key off", `{"credits":{"remaining":0}}`, map[string]any{"remaining": 0.0}, gatehouse.ErrCreditsExhausted},
		{"zero with a refill", `{"credits":{"remaining":0,"refill":10,"interval":"day"}}`,
			map[string]any{"remaining": 0.0, "refill": 10.0, "interval": "day", "refills_at": "2026-03-02T00:00:00Z"}, gatehouse.ErrCreditsExhausted},
		{"null removes them", `{"credits":null}`, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := requireStatus(t, e.do(t, http.MethodPatch, apiPath+"/"+otherID, e.boot[olga], tc.body), http.StatusOK)
			assert.Equal(t, tc.want, up["credits"])
			if tc.err != nil {
				assert.ErrorIs(t, spent(t, otherID), tc.err)
			}
		})
	}
	k, err := e.mem.KeyByID(t.Context(), otherID)
	require.NoError(t, err)
	assert.Nil(t, k.Credits)
}

// TestManagerCreditsZero: for a Go caller too, the zero Credits is no use
// left; RemoveCredits removes them; both at once is refused.
func TestManagerCreditsZero(t *testing.T) {
	e := newEnv(t, envConfig{})
	p := e.principal(t, e.boot[olga])
	c, err := e.mgr.Create(t.Context(), p, admin.CreateRequest{Name: "k", Scopes: []string{"read"},
		Controls: admin.Controls{Credits: &gatehouse.Credits{}}})
	require.NoError(t, err)
	require.NotNil(t, c.Record.Credits)
	assert.Equal(t, int64(0), c.Record.Credits.Remaining)
	_, err = e.mgr.Create(t.Context(), p, admin.CreateRequest{Name: "k", Scopes: []string{"read"},
		Controls: admin.Controls{Credits: &gatehouse.Credits{}, RemoveCredits: true}})
	var v *admin.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Contains(t, v.Fields, "credits")

	tests := []struct {
		name string
		ctl  admin.Controls
		want *int64 // nil: no credits
		bad  bool
	}{
		{"both", admin.Controls{Credits: &gatehouse.Credits{Remaining: 3}, RemoveCredits: true}, nil, true},
		{"zero credits", admin.Controls{Credits: &gatehouse.Credits{}}, new(int64(0)), false},
		{"remove", admin.Controls{RemoveCredits: true}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := e.mgr.Update(t.Context(), p, c.Record.ID, admin.UpdateRequest{Controls: tc.ctl})
			if tc.bad {
				require.ErrorAs(t, err, &v)
				return
			}
			require.NoError(t, err)
			if tc.want == nil {
				assert.Nil(t, k.Credits)
				return
			}
			require.NotNil(t, k.Credits)
			assert.Equal(t, *tc.want, k.Credits.Remaining)
		})
	}
}
