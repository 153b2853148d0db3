package console

import (
	"context"
	"html"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// onlyKey returns the one key of owner.
func (e *env) onlyKey(t *testing.T, owner string) *store.Key {
	t.Helper()
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{OwnerID: owner})
	require.NoError(t, err)
	require.Len(t, keys, 1)
	return keys[0]
}

// A key created with a date and allowed networks: it expires at the end
// of that day, is refused from other networks, and its page and the list
// say so.
func TestCreateKeyWithDateAndNetworks(t *testing.T) {
	e := newEnv(t, Config{})
	bob := e.as(t, bobID)
	w := e.createKey(t, bob, url.Values{"name": {"partner"}, "role": {"viewer"}, "expires": {"date"}, "expires_on": {"2027-01-10"},
		"allowed_cidrs": {"203.0.113.9/24\r\n 198.51.100.7 \r\n\r\n2001:db8::/32"}})
	require.Equal(t, 201, w.Code, w.Body.String())
	key := keyPattern.FindString(w.Body.String())
	rec := e.onlyKey(t, bobID)
	assert.Equal(t, time.Date(2027, 1, 11, 0, 0, 0, 0, time.UTC), rec.ExpiresAt.UTC(), "the end of 10 Jan")
	assert.Equal(t, []string{"203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"}, cidrs(rec.AllowedNetworks))

	p, err := e.auth.Authenticate(context.Background(), gatehouse.Credential{Value: key})
	require.NoError(t, err)
	assert.False(t, p.AllowsAddr(netip.MustParseAddr("127.0.0.1")), "the API refuses it from 127.0.0.1 (403)")
	assert.True(t, p.AllowsAddr(netip.MustParseAddr("203.0.113.200")))

	list := e.do(t, "GET", "/console/keys", nil, bob).Body.String()
	assert.Contains(t, list, `<span class="marker" title="Allowed networks: 203.0.113.0/24, 198.51.100.7/32, 2001:db8::/32">3 networks</span>`)
	page := e.do(t, "GET", "/console/keys/"+rec.ID, nil, bob).Body.String()
	assert.Contains(t, page, "<code>203.0.113.0/24</code>, <code>198.51.100.7/32</code>, <code>2001:db8::/32</code>")
	assert.Contains(t, page, "11 Jan 2027 00:00 UTC")
	assert.Contains(t, page, ">203.0.113.0/24\n198.51.100.7/32\n2001:db8::/32</textarea>", "the edit form holds them, one a line")
	assert.Contains(t, page, `<dd class="credits">Unlimited</dd>`)
}

// The networks and the expiry are edited on the key's page; errors show
// next to the fields, with what was typed kept.
func TestEditNetworksAndExpiry(t *testing.T) {
	e := newEnv(t, Config{})
	bob := e.as(t, bobID)
	require.Equal(t, 201, e.createKey(t, bob, url.Values{"name": {"deploy"}, "role": {"viewer"}}).Code)
	rec := e.onlyKey(t, bobID)
	path := "/console/keys/" + rec.ID
	page := e.do(t, "GET", path, nil, bob).Body.String()
	assert.Contains(t, page, `<option value="" selected>Keep: never expires</option>`)
	assert.Contains(t, page, `min="2026-12-03"`)

	tests := []struct {
		name   string
		fields url.Values
		code   int
		nets   []string
		exp    time.Time
		errID  string
		text   string
	}{
		{"networks and a date", url.Values{"allowed_cidrs": {"10.1.2.3/8\n192.0.2.1"}, "expires": {"date"}, "expires_on": {"2027-02-01"}},
			303, []string{"10.0.0.0/8", "192.0.2.1/32"}, time.Date(2027, 2, 2, 0, 0, 0, 0, time.UTC), "", ""},
		{"kept", url.Values{"allowed_cidrs": {"10.0.0.0/8\n192.0.2.1/32"}},
			303, []string{"10.0.0.0/8", "192.0.2.1/32"}, time.Date(2027, 2, 2, 0, 0, 0, 0, time.UTC), "", ""},
		{"bad network", url.Values{"allowed_cidrs": {"10.0.0.0/33"}, "expires": {"30"}},
			422, []string{"10.0.0.0/8", "192.0.2.1/32"}, time.Date(2027, 2, 2, 0, 0, 0, 0, time.UTC), "networks-error", "“10.0.0.0/33” is not a network"},
		{"date in the past", url.Values{"expires": {"date"}, "expires_on": {"2026-11-30"}},
			422, []string{"10.0.0.0/8", "192.0.2.1/32"}, time.Date(2027, 2, 2, 0, 0, 0, 0, time.UTC), "expires-error", "The expiry must be in the future."},
		{"7 days, networks removed", url.Values{"allowed_cidrs": {""}, "expires": {"7"}},
			303, nil, time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC), "", ""},
		{"no expiry", url.Values{"expires": {"never"}}, 303, nil, time.Time{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fields.Set("name", "deploy")
			w := e.do(t, "POST", path, tt.fields, bob)
			require.Equal(t, tt.code, w.Code, w.Body.String())
			if tt.errID != "" {
				body := html.UnescapeString(w.Body.String())
				assert.Regexp(t, `<div class="field invalid">\s*<label for="allowed_cidrs">|<fieldset class="field invalid">\s*<legend>Expiry`, body)
				assert.Contains(t, body, `id="`+tt.errID+`">`+tt.text)
				if v := tt.fields.Get("allowed_cidrs"); v != "" {
					assert.Contains(t, body, ">"+v+"</textarea>", "what was typed is kept")
				}
			}
			rec := e.onlyKey(t, bobID)
			assert.Equal(t, tt.nets, cidrs(rec.AllowedNetworks))
			assert.True(t, tt.exp.Equal(rec.ExpiresAt), "expires %v, want %v", rec.ExpiresAt, tt.exp)
		})
	}
}

// A key's credits are shown on its page, read-only.
func TestKeyPageShowsCredits(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	created, err := e.mgr.Create(context.Background(), &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read"}},
		admin.CreateRequest{Name: "metered", Role: "viewer", Controls: admin.Controls{
			Credits: &gatehouse.Credits{Remaining: 5, Refill: 100, Interval: gatehouse.CreditsDaily}}})
	require.NoError(t, err)
	page := e.do(t, "GET", "/console/keys/"+created.Record.ID, nil, alice).Body.String()
	assert.Contains(t, page, `<dd class="credits">5 left; refilled to 100 each day, next at <time datetime="2026-12-04T00:00:00Z">4 Dec 2026 00:00 UTC</time></dd>`)
	assert.NotContains(t, page, `name="credits`, "no field changes them")
	// A day later the refill has come.
	e.clk.Advance(24 * time.Hour)
	page = e.do(t, "GET", "/console/keys/"+created.Record.ID, nil, e.as(t, aliceID)).Body.String()
	assert.Contains(t, page, `<dd class="credits">100 left;`)
}

func TestParseExpiry(t *testing.T) {
	est := admin.Policy{Location: time.FixedZone("UTC-5", -5*3600)}
	tests := []struct {
		name         string
		choice, date string
		pol          admin.Policy
		edit         bool
		want         admin.Expiry
		msg          string
	}{
		{"none", "", "", admin.Policy{}, false, admin.Expiry{}, ""},
		{"days", "30", "", admin.Policy{}, false, admin.Expiry{InDays: true, Days: 30}, ""},
		{"date, UTC", "date", "2027-01-10", admin.Policy{}, false, admin.Expiry{Set: true, At: time.Date(2027, 1, 11, 0, 0, 0, 0, time.UTC)}, ""},
		{"date, the policy's zone", "date", "2027-01-10", est, false, admin.Expiry{Set: true, At: time.Date(2027, 1, 11, 5, 0, 0, 0, time.UTC)}, ""},
		{"never on edit removes", "never", "", admin.Policy{}, true, admin.Expiry{Set: true}, ""},
		{"never on create is none", "never", "", admin.Policy{}, false, admin.Expiry{}, ""},
		{"zero days", "0", "", admin.Policy{}, false, admin.Expiry{}, "Choose one of the expiries offered."},
		{"too many days", "401", "", admin.Policy{}, false, admin.Expiry{}, "Choose one of the expiries offered."},
		{"bad date", "date", "2027-02-30", admin.Policy{}, false, admin.Expiry{}, "Give a date such as 2027-01-31."},
		{"date with days", "7", "2027-01-10", admin.Policy{}, false, admin.Expiry{}, "Choose “On a date” to use the date, or clear the date."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := parseExpiry(tt.choice, tt.date, tt.pol, tt.edit)
			assert.Equal(t, tt.msg, msg)
			assert.Equal(t, tt.want.Set, got.Set)
			assert.Equal(t, tt.want.InDays, got.InDays)
			assert.Equal(t, tt.want.Days, got.Days)
			assert.True(t, tt.want.At.Equal(got.At), "at %v, want %v", got.At, tt.want.At)
		})
	}
}

// The select offers the lifetimes within the policy, and the date input
// is bounded by it.
func TestExpiryControl(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	f := expiryControl("30", "", admin.Policy{MaxLifetimeDays: 30, RequireExpiry: true}, now, now, time.Time{}, false)
	var values []string
	for _, o := range f.Options {
		values = append(values, o.Value)
		assert.Equal(t, o.Value == "30", o.Selected)
	}
	assert.Equal(t, []string{"", "7", "30", "date"}, values)
	assert.Equal(t, "Choose an expiry", f.Options[0].Label)
	assert.Equal(t, "2026-12-03", f.Min)
	assert.Equal(t, "2027-01-02", f.Max, "30 days: through 2 Jan")
}

func cidrs(ps []netip.Prefix) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
