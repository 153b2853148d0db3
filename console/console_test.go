package console

import (
	"context"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	for _, path := range []string{"/console/sign-in", "/console/keys", "/console/keys/new", "/console/account", "/console/nope"} {
		t.Run(path, func(t *testing.T) {
			w := e.do(t, "GET", path, nil, alice)
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			assert.Contains(t, csp, "script-src 'self'")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.NotContains(t, csp, "unsafe-inline")
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			assert.Equal(t, "no-store", h.Get("Cache-Control"))
			assert.NotContains(t, w.Body.String(), "<script>", "no inline script")
			assert.NotContains(t, w.Body.String(), "style=", "no inline style")
		})
	}
	w := e.do(t, "GET", "/console/static/console.css", nil, nil)
	assert.Equal(t, 200, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/css")
	assert.Equal(t, "public, max-age=3600", w.Header().Get("Cache-Control"), "as the README says")
}

// The static files are served one by one; their directory is not listed.
func TestStaticNoListing(t *testing.T) {
	e := newEnv(t, Config{})
	for _, path := range []string{"/console/static/", "/console/static/?C=M;O=D"} {
		t.Run(path, func(t *testing.T) {
			w := e.do(t, "GET", path, nil, nil)
			assert.Equal(t, 404, w.Code)
			assert.NotContains(t, w.Body.String(), `<a href="console.js">`, "no listing")
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		name string
		cfg  Config
	}{
		{"trailing slash", Config{Prefix: "/console/"}},
		{"relative", Config{Prefix: "console"}},
		{"page size", Config{PageSize: 1001}},
		{"bad role", Config{Roles: map[string][]string{"x": {"a b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(e.mgr, e.login, tt.cfg)
			assert.Error(t, err)
		})
	}
	_, err := New(nil, e.login, Config{})
	assert.Error(t, err)
}

// The console takes only its session cookie: an API key, even an
// admin's, is sent to the sign-in page.
func TestOnlyTheSessionCookie(t *testing.T) {
	e := newEnv(t, Config{})
	created, err := e.mgr.Create(context.Background(), &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read"}},
		admin.CreateRequest{Name: "k", Role: "viewer"})
	require.NoError(t, err)
	w := e.do(t, "GET", "/console/keys", nil, nil, "Authorization", "Bearer "+created.Key)
	assert.Equal(t, 303, w.Code)
	assert.Equal(t, "/console/sign-in", w.Header().Get("Location"))
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	w := e.do(t, "GET", "/console/keys/new", nil, alice)
	form := url.Values{"form_id": {formID(t, w.Body.String())}, "name": {"evil"}, "role": {"viewer"}}
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "", "Origin", "https://evil.example"}} {
		w = e.do(t, "POST", "/console/keys", form, alice, h...)
		assert.Equal(t, 403, w.Code)
		assert.Contains(t, w.Body.String(), "sent from another site")
	}
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Empty(t, keys)
}

func TestCreateKeyShownOnce(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	w := e.do(t, "GET", "/console/keys/new", nil, alice)
	id := formID(t, w.Body.String())
	form := url.Values{"form_id": {id}, "name": {"billing worker"}, "description": {"nightly invoices"},
		"role": {"editor"}, "expires": {"30"}}
	w = e.do(t, "POST", "/console/keys", form, alice)
	require.Equal(t, 201, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Empty(t, w.Header().Get("Location"))
	key := keyPattern.FindString(w.Body.String())
	require.NotEmpty(t, key)

	// The key works, with the role and the expiry asked for.
	p, err := e.auth.Authenticate(context.Background(), gatehouse.Credential{Value: key})
	require.NoError(t, err)
	assert.Equal(t, aliceID, p.ID)
	assert.Equal(t, []string{"read", "write"}, p.Scopes)
	assert.Equal(t, "2027-01-03", p.ExpiresAt.Format("2006-01-02"))

	// The same form again (a reload): no key shown, none created.
	w = e.do(t, "POST", "/console/keys", form, alice)
	assert.Equal(t, 409, w.Code)
	assert.NotContains(t, w.Body.String(), "cpx_live.")
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	require.Len(t, keys, 1)

	// The list shows the last 4, never the key; the audit event is the
	// API's; no log line holds the key.
	w = e.do(t, "GET", "/console/keys", nil, alice)
	assert.Contains(t, w.Body.String(), "…"+key[len(key)-4:])
	assert.NotContains(t, w.Body.String(), key)
	assert.Contains(t, e.logs.String(), "gatehouse.key.created")
	assert.NotContains(t, e.logs.String(), key)

	// A form_id that the server never made is refused too.
	form.Set("form_id", "not-a-form-id")
	w = e.do(t, "POST", "/console/keys", form, alice)
	assert.Equal(t, 400, w.Code)
}

func TestCreateKeyErrorsNextToFields(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	_, err := e.mgr.SetOrgPolicy(context.Background(), &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin"}}, "acme",
		&admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90})
	require.NoError(t, err)
	tests := []struct {
		name   string
		fields url.Values
		errID  string
		text   string
	}{
		{"no name", url.Values{"role": {"viewer"}, "expires": {"30"}}, "name-error", "Name is required."},
		{"no expiry", url.Values{"name": {"k"}, "role": {"viewer"}}, "expires-error", "An expiry is required"},
		{"too long", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"120"}}, "expires-error", "maximum lifetime of 90 days"},
		{"not a choice", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"soon"}}, "expires-error", "Choose one of the expiries offered."},
		// The clock is 3 Dec 2026 09:00 UTC.
		{"date in the past", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"date"}, "expires_on": {"2026-12-02"}}, "expires-error", "The expiry must be in the future."},
		{"date beyond the policy", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"date"}, "expires_on": {"2027-03-04"}}, "expires-error", "maximum lifetime of 90 days"},
		{"date missing", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"date"}}, "expires-error", "Give the date the key expires on."},
		{"not a date", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"date"}, "expires_on": {"3/1/2027"}}, "expires-error", "Give a date such as 2027-01-31."},
		{"date without on a date", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"30"}, "expires_on": {"2027-01-10"}}, "expires-error", "Choose “On a date” to use the date"},
		{"bad network", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"30"}, "allowed_cidrs": {"10.0.0.0/8\n10.0.0.300"}}, "networks-error", "“10.0.0.300” is not a network"},
		{"network with a zone", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"30"}, "allowed_cidrs": {"fe80::1%eth0"}}, "networks-error", "is not a network"},
		{"too many networks", url.Values{"name": {"k"}, "role": {"viewer"}, "expires": {"30"}, "allowed_cidrs": {strings.Repeat("10.0.0.1\n", 65)}}, "networks-error", "at most 64 networks"},
		{"no access", url.Values{"name": {"k"}, "expires": {"30"}}, "access-error", "Give scopes or a role."},
		{"role and scopes", url.Values{"name": {"k"}, "role": {"viewer"}, "scopes": {"read write"}, "expires": {"30"}}, "access-error", "Choose a role or custom scopes, not both."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.createKey(t, alice, tt.fields)
			require.Equal(t, 422, w.Code)
			body := html.UnescapeString(w.Body.String())
			assert.Regexp(t, `id="`+tt.errID+`">[^<]*`+regexp.QuoteMeta(tt.text), body)
			assert.Contains(t, body, "at most 90 days", "the hint states the policy")
		})
	}
}

func TestNamesAreEscaped(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	xss := `<img src=x onerror=alert(1)>`
	w := e.createKey(t, alice, url.Values{"name": {xss}, "description": {xss}, "role": {"viewer"}})
	require.Equal(t, 201, w.Code)
	for _, path := range []string{"/console/keys", "/console/keys?view=org"} {
		body := e.do(t, "GET", path, nil, alice).Body.String()
		assert.NotContains(t, body, "<img")
		assert.Contains(t, body, "&lt;img src=x onerror=alert(1)&gt;")
	}
	// A member named so is inert on the members page.
	w = e.do(t, "POST", "/console/orgs/acme/members", url.Values{"email": {"x@example.com"}, "name": {xss}, "level": {"member"}}, alice)
	require.Equal(t, 303, w.Code, w.Body.String())
	body := e.do(t, "GET", "/console/orgs/acme", nil, alice).Body.String()
	assert.NotContains(t, body, "<img")
	assert.Contains(t, body, "&lt;img")
}

func TestOrganizationsAreSeparate(t *testing.T) {
	e := newEnv(t, Config{})
	alice, root, bob := e.as(t, aliceID), e.as(t, rootID), e.as(t, bobID)
	gina := e.as(t, ginaID)
	w := e.createKey(t, gina, url.Values{"name": {"globex key"}, "role": {"viewer"}})
	require.Equal(t, 201, w.Code)
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{TenantID: "globex"})
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ginaKey := "/console/keys/" + keys[0].ID

	tests := []struct {
		name   string
		who    string
		path   string
		status int
	}{
		{"org admin, own org", "alice", "/console/orgs/acme", 200},
		{"org admin, other org", "alice", "/console/orgs/globex", 404},
		{"org admin, other org's policy", "alice", "/console/orgs/globex/policy", 404},
		{"org admin, other org's key", "alice", ginaKey, 404},
		{"org admin, other org's keys", "alice", "/console/keys?view=org&org=globex", 404},
		{"org admin, all orgs", "alice", "/console/orgs", 403},
		{"member, org page", "bob", "/console/orgs/acme", 403},
		{"super admin, other org", "root", "/console/orgs/globex", 200},
		{"super admin, all orgs", "root", "/console/orgs", 200},
		{"super admin, other org's key", "root", ginaKey, 200},
		{"super admin, other org's keys", "root", "/console/keys?view=org&org=globex", 200},
	}
	cookies := map[string]any{"alice": alice, "root": root, "bob": bob}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, "GET", tt.path, nil, cookieOf(cookies[tt.who]))
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.status == 404 {
				assert.NotContains(t, w.Body.String(), "Globex")
			}
		})
	}
	body := e.do(t, "GET", "/console/orgs", nil, root).Body.String()
	assert.Contains(t, body, "Acme")
	assert.Contains(t, body, "Globex")
	body = e.do(t, "GET", "/console/keys?view=org&org=globex", nil, root).Body.String()
	assert.Contains(t, body, "globex key")
}

func TestMembersFlow(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	w := e.do(t, "POST", "/console/orgs/acme/members", url.Values{"email": {"carol@example.com"}, "name": {"Carol"}, "level": {"member"}}, alice)
	require.Equal(t, 303, w.Code, w.Body.String())
	carol, err := e.mem.UserByEmail(context.Background(), "carol@example.com")
	require.NoError(t, err)
	assert.Equal(t, "acme", carol.TenantID)
	assert.Contains(t, e.logs.String(), "gatehouse.user.created")

	// A key for Carol, created by Alice.
	w = e.do(t, "GET", "/console/keys/new?owner="+carol.ID, nil, alice)
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), "For the member <strong>carol@example.com</strong>")
	w = e.do(t, "POST", "/console/keys", url.Values{"form_id": {formID(t, w.Body.String())}, "owner_id": {carol.ID},
		"name": {"carol's key"}, "role": {"viewer"}}, alice)
	require.Equal(t, 201, w.Code, w.Body.String())
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{OwnerID: carol.ID})
	require.NoError(t, err)
	require.Len(t, keys, 1)

	// The organization's list names each key's owner.
	body := e.do(t, "GET", "/console/keys?view=org", nil, alice).Body.String()
	assert.Contains(t, body, `<td data-label="Owner">carol@example.com</td>`)

	// Alice makes Carol an org admin, but cannot make her a super admin.
	w = e.do(t, "POST", "/console/orgs/acme/members/"+carol.ID, url.Values{"level": {"org_admin"}}, alice)
	require.Equal(t, 303, w.Code, w.Body.String())
	carol, err = e.mem.UserByID(context.Background(), carol.ID)
	require.NoError(t, err)
	assert.Equal(t, store.LevelOrgAdmin, carol.Level)
	w = e.do(t, "POST", "/console/orgs/acme/members/"+carol.ID, url.Values{"level": {"super_admin"}}, alice)
	assert.Equal(t, 403, w.Code)
	assert.Contains(t, w.Body.String(), "above your own")
	// A user of another org through this org's path: not found.
	w = e.do(t, "POST", "/console/orgs/acme/members/"+ginaID, url.Values{"level": {"member"}}, alice)
	assert.Equal(t, 404, w.Code)

	// Errors next to the fields.
	w = e.do(t, "POST", "/console/orgs/acme/members", url.Values{"email": {"nope"}, "level": {"member"}}, alice)
	assert.Equal(t, 422, w.Code)
	assert.Contains(t, w.Body.String(), `id="member-email-error">Email must be an address like ada@example.com.`)
}

func TestPolicyPage(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"too long", url.Values{"max_lifetime_days": {"500"}}, 422, `id="max-error">Max lifetime days must be 0 (no cap) to 400.`},
		{"default above max", url.Values{"max_lifetime_days": {"30"}, "default_lifetime_days": {"60"}}, 422, `id="default-error">`},
		{"not a number", url.Values{"max_lifetime_days": {"x"}}, 422, `id="max-error">Give a whole number`},
		{"saved", url.Values{"require_expiry": {"on"}, "max_lifetime_days": {"90"}}, 303, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, "POST", "/console/orgs/acme/policy", tt.form, alice)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), tt.want)
		})
	}
	pol, err := e.mgr.PolicyFor(context.Background(), "acme")
	require.NoError(t, err)
	assert.Equal(t, 90, pol.MaxLifetimeDays)
	assert.True(t, pol.RequireExpiry)
	assert.Contains(t, e.logs.String(), "gatehouse.policy.updated")
	// An org admin may tighten the policy but not relax or clear it: the
	// reset is not offered, and a forged one is refused.
	page := e.do(t, "GET", "/console/orgs/acme/policy", nil, alice)
	require.Equal(t, 200, page.Code)
	assert.NotContains(t, page.Body.String(), `name="reset"`)
	w := e.do(t, "POST", "/console/orgs/acme/policy", url.Values{"reset": {"1"}}, alice)
	require.Equal(t, 403, w.Code)
	assert.Contains(t, w.Body.String(), "Only a super admin")
	w = e.do(t, "POST", "/console/orgs/acme/policy", url.Values{"max_lifetime_days": {"120"}, "require_expiry": {"on"}}, alice)
	require.Equal(t, 403, w.Code, "raising the maximum relaxes the policy")
	pol, err = e.mgr.PolicyFor(context.Background(), "acme")
	require.NoError(t, err)
	assert.Equal(t, 90, pol.MaxLifetimeDays)

	root := e.as(t, rootID)
	page = e.do(t, "GET", "/console/orgs/acme/policy", nil, root)
	assert.Contains(t, page.Body.String(), `name="reset"`)
	w = e.do(t, "POST", "/console/orgs/acme/policy", url.Values{"reset": {"1"}}, root)
	require.Equal(t, 303, w.Code)
	pol, err = e.mgr.PolicyFor(context.Background(), "acme")
	require.NoError(t, err)
	assert.Zero(t, pol.MaxLifetimeDays)
}

func TestEditRotateRevoke(t *testing.T) {
	e := newEnv(t, Config{})
	bob := e.as(t, bobID)
	w := e.createKey(t, bob, url.Values{"name": {"deploy"}, "scopes": {"read"}, "role": {""}})
	require.Equal(t, 201, w.Code, w.Body.String())
	first := keyPattern.FindString(w.Body.String())
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{})
	require.NoError(t, err)
	path := "/console/keys/" + keys[0].ID

	w = e.do(t, "POST", path, url.Values{"name": {"deploy bot"}, "description": {"CI"}}, bob)
	require.Equal(t, 303, w.Code, w.Body.String())
	assert.Equal(t, path+"?m=updated", w.Header().Get("Location"))
	w = e.do(t, "POST", path, url.Values{"name": {""}}, bob)
	assert.Equal(t, 422, w.Code)
	assert.Contains(t, w.Body.String(), `id="name-error">Name is required.`)

	page := e.do(t, "GET", path, nil, bob).Body.String()
	assert.Contains(t, page, "deploy bot")
	w = e.do(t, "POST", path+"/rotate", url.Values{"form_id": {formID(t, page)}, "grace": {"3600"}}, bob)
	require.Equal(t, 201, w.Code, w.Body.String())
	second := keyPattern.FindString(w.Body.String())
	require.NotEmpty(t, second)
	assert.NotEqual(t, first, second)
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	// Both work during the grace period.
	for _, k := range []string{first, second} {
		_, err := e.auth.Authenticate(context.Background(), gatehouse.Credential{Value: k})
		assert.NoError(t, err)
	}
	w = e.do(t, "POST", path+"/rotate", url.Values{"form_id": {formID(t, page)}, "grace": {"3600"}}, bob)
	assert.Equal(t, 409, w.Code, "a rotate form sent twice")

	w = e.do(t, "POST", path+"/revoke", url.Values{}, bob)
	require.Equal(t, 303, w.Code)
	_, err = e.auth.Authenticate(context.Background(), gatehouse.Credential{Value: first})
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	assert.Contains(t, e.logs.String(), "gatehouse.key.revoked")
	assert.Contains(t, e.logs.String(), "gatehouse.key.rotated")
	assert.Contains(t, e.logs.String(), "gatehouse.key.updated")

	// Another member's key: not found for Bob (same org, not an admin).
	alice := e.as(t, aliceID)
	w = e.createKey(t, alice, url.Values{"name": {"alice's"}, "role": {"viewer"}})
	require.Equal(t, 201, w.Code)
	keys, _, err = e.mem.ListKeys(context.Background(), store.KeyFilter{OwnerID: aliceID})
	require.NoError(t, err)
	w = e.do(t, "POST", "/console/keys/"+keys[0].ID+"/revoke", url.Values{}, bob)
	assert.Equal(t, 403, w.Code)
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, Config{})
	e.setPassword(t, aliceID)
	w := e.do(t, "POST", "/console/sign-in", url.Values{"email": {"alice@example.com"}, "password": {"wrong"}}, nil)
	assert.Equal(t, 401, w.Code)
	assert.Contains(t, w.Body.String(), "Incorrect email or password.")
	assert.Contains(t, w.Body.String(), `value="alice@example.com"`)
	assert.Empty(t, w.Result().Cookies())

	w = e.do(t, "POST", "/console/sign-in", url.Values{"email": {"Alice@Example.com"}, "password": {password}}, nil)
	require.Equal(t, 303, w.Code, w.Body.String())
	assert.Equal(t, "/console/keys", w.Header().Get("Location"))
	c := w.Result().Cookies()
	require.Len(t, c, 1)
	assert.Equal(t, 200, e.do(t, "GET", "/console/keys", nil, c[0]).Code)
	assert.Contains(t, e.do(t, "GET", "/console/keys", nil, c[0]).Body.String(), "alice@example.com")

	// Sign out: the cookie no longer works.
	w = e.do(t, "POST", "/console/sign-out", url.Values{}, c[0])
	assert.Equal(t, 303, w.Code)
	assert.Equal(t, 303, e.do(t, "GET", "/console/keys", nil, c[0]).Code)

	// The login throttle: failures lock the account for a while.
	for range 5 {
		e.do(t, "POST", "/console/sign-in", url.Values{"email": {"alice@example.com"}, "password": {"wrong"}}, nil)
	}
	w = e.do(t, "POST", "/console/sign-in", url.Values{"email": {"alice@example.com"}, "password": {password}}, nil)
	assert.Equal(t, 429, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), "Too many attempts")
}

func TestSignInLink(t *testing.T) {
	e := newEnv(t, Config{})
	link, err := IssueSignInLink(context.Background(), e.mem, "/console", rootID, e.clk.Now())
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	token := u.Query().Get("token")
	require.Len(t, token, 43)

	// A GET (a link preview) shows a button and consumes nothing.
	for range 2 {
		w := e.do(t, "GET", link, nil, nil)
		require.Equal(t, 200, w.Code)
		assert.Contains(t, w.Body.String(), ">Continue</button>")
		assert.Empty(t, w.Result().Cookies())
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	}
	w := e.do(t, "POST", "/console/sign-in/link", url.Values{"token": {token}}, nil)
	require.Equal(t, 303, w.Code, w.Body.String())
	assert.Equal(t, "/console/account?m=welcome", w.Header().Get("Location"))
	assert.NotContains(t, w.Header().Get("Location"), token)
	assert.Regexp(t, `msg=gatehouse.console.link_signin user_id=`+rootID+`\n`, e.logs.String(), "an audit event, without the token")
	assert.NotContains(t, e.logs.String(), token)
	c := w.Result().Cookies()
	require.Len(t, c, 1)
	assert.Contains(t, e.do(t, "GET", "/console/account", nil, c[0]).Body.String(), "root@example.com")
	// The user sets a first password without a current one.
	w = e.do(t, "POST", "/console/account/password", url.Values{"new_password": {"a fresh password"}, "confirm_password": {"a fresh password"}}, c[0])
	require.Equal(t, 303, w.Code, w.Body.String())

	// Used once: never again.
	w = e.do(t, "POST", "/console/sign-in/link", url.Values{"token": {token}}, nil)
	assert.Equal(t, 410, w.Code)
	assert.Empty(t, w.Result().Cookies())
	assert.Equal(t, 1, strings.Count(e.logs.String(), "gatehouse.console.link_signin"), "a refused link signs nobody in")

	// Expired after 15 minutes.
	link, err = IssueSignInLink(context.Background(), e.mem, "/console", rootID, e.clk.Now())
	require.NoError(t, err)
	u, _ = url.Parse(link)
	e.clk.Advance(SignInLinkTTL)
	w = e.do(t, "POST", "/console/sign-in/link", url.Values{"token": {u.Query().Get("token")}}, nil)
	assert.Equal(t, 410, w.Code)
	assert.NotContains(t, e.logs.String(), token)
}

func TestAccount(t *testing.T) {
	e := newEnv(t, Config{})
	e.setPassword(t, bobID)
	bob := e.as(t, bobID)
	other := e.as(t, bobID)
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"mismatch", url.Values{"current_password": {password}, "new_password": {"new password 1"}, "confirm_password": {"new password 2"}}, `id="confirm-error">`},
		{"wrong current", url.Values{"current_password": {"nope"}, "new_password": {"new password 1"}, "confirm_password": {"new password 1"}}, `id="current-error">`},
		{"short", url.Values{"current_password": {password}, "new_password": {"short"}, "confirm_password": {"short"}}, `id="new-error">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, "POST", "/console/account/password", tt.form, bob)
			assert.Equal(t, 422, w.Code)
			assert.Contains(t, w.Body.String(), tt.want)
		})
	}
	w := e.do(t, "POST", "/console/account/sign-out-everywhere", url.Values{}, bob)
	assert.Equal(t, 303, w.Code)
	for _, c := range []any{bob, other} {
		assert.Equal(t, 303, e.do(t, "GET", "/console/account", nil, cookieOf(c)).Code)
	}
	_, err := e.login.SignIn(context.Background(), httptestRecorder(), httptestRequest(), "bob@example.com", password)
	assert.NoError(t, err, "signing out everywhere leaves the password as it was")
}

func TestPagination(t *testing.T) {
	e := newEnv(t, Config{PageSize: 2})
	alice := e.as(t, aliceID)
	p := &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read", "write"}}
	for _, n := range []string{"k1", "k2", "k3"} {
		_, err := e.mgr.Create(context.Background(), p, admin.CreateRequest{Name: n, Role: "viewer"})
		require.NoError(t, err)
	}
	body := e.do(t, "GET", "/console/keys", nil, alice).Body.String()
	assert.Equal(t, 2, strings.Count(body, `class="key-name"`))
	i := strings.Index(body, `rel="next" href="`)
	require.Positive(t, i)
	next := html.UnescapeString(body[i+len(`rel="next" href="`):])
	next = next[:strings.IndexByte(next, '"')]
	body = e.do(t, "GET", next, nil, alice).Body.String()
	assert.Equal(t, 1, strings.Count(body, `class="key-name"`))
	assert.NotContains(t, body, `rel="next"`)
	assert.Contains(t, body, "First page")
}

// A create or rotate form that failed can be sent again (going back and
// resending it); only a form that acted is "already sent".
func TestFailedFormCanBeResent(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	p := &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read", "write"}}
	tests := []struct {
		name      string
		rotate    bool
		form      url.Values // the failing send; the resend fixes name and grace
		storeDown bool
		status    int // of the failed send
	}{
		{"create, store down", false, url.Values{"name": {"k"}, "role": {"viewer"}}, true, 503},
		{"create, refused", false, url.Values{"name": {""}, "role": {"viewer"}}, false, 422},
		{"rotate, store down", true, url.Values{"grace": {"0"}}, true, 503},
		{"rotate, bad grace", true, url.Values{"grace": {"5"}}, false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, action := "/console/keys/new", "/console/keys"
			if tt.rotate {
				k, err := e.mgr.Create(context.Background(), p, admin.CreateRequest{Name: "old", Role: "viewer"})
				require.NoError(t, err)
				page = "/console/keys/" + k.Record.ID
				action = page + "/rotate"
			}
			form := url.Values{"form_id": {formID(t, e.do(t, "GET", page, nil, alice).Body.String())}}
			for k, v := range tt.form {
				form[k] = v
			}
			e.failWrites.Store(tt.storeDown)
			w := e.do(t, "POST", action, form, alice)
			e.failWrites.Store(false)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.NotContains(t, w.Body.String(), "already sent")

			if !tt.rotate {
				form.Set("name", "k")
			} else {
				form.Set("grace", "0")
			}
			w = e.do(t, "POST", action, form, alice)
			require.Equal(t, 201, w.Code, "sent again after a failure: %s", w.Body.String())
			key := keyPattern.FindString(w.Body.String())
			require.NotEmpty(t, key)
			// Once it acted, never again.
			w = e.do(t, "POST", action, form, alice)
			assert.Equal(t, 409, w.Code)
			assert.NotContains(t, w.Body.String(), "cpx_live.")
		})
	}
}

// Two sends of one form at once: one acts, the other is refused, and no
// second key is made.
func TestConcurrentSendsActOnce(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	form := url.Values{"form_id": {formID(t, e.do(t, "GET", "/console/keys/new", nil, alice).Body.String())},
		"name": {"k"}, "role": {"viewer"}}
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.do(t, "POST", "/console/keys", form, alice).Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{201: 1, 409: n - 1}, count)
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Len(t, keys, 1)
}

// A create or rotate form without a form_id, or with one the server
// never made, is a bad request, not "already sent".
func TestFormIDMissingOrMalformed(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	k, err := e.mgr.Create(context.Background(), &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read"}},
		admin.CreateRequest{Name: "k", Role: "viewer"})
	require.NoError(t, err)
	tests := []struct {
		name, action, formID string
		form                 url.Values
	}{
		{"create, missing", "/console/keys", "", url.Values{"name": {"k"}, "role": {"viewer"}}},
		{"create, malformed", "/console/keys", "not-a-form-id", url.Values{"name": {"k"}, "role": {"viewer"}}},
		{"rotate, missing", "/console/keys/" + k.Record.ID + "/rotate", "", url.Values{"grace": {"0"}}},
		{"rotate, lower case", "/console/keys/" + k.Record.ID + "/rotate", strings.Repeat("a", 26), url.Values{"grace": {"0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.formID != "" {
				tt.form.Set("form_id", tt.formID)
			}
			w := e.do(t, "POST", tt.action, tt.form, alice)
			assert.Equal(t, 400, w.Code)
			assert.NotContains(t, w.Body.String(), "already sent")
		})
	}
	keys, _, err := e.mem.ListKeys(context.Background(), store.KeyFilter{IncludeRevoked: true})
	require.NoError(t, err)
	assert.Len(t, keys, 1)
}

// Editing or rotating a key from a page opened before it was revoked:
// the refusal is shown where it can be seen, at the top of the page.
func TestStaleTabRefusalShown(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	p := &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin", "read", "write"}}
	tests := []struct {
		name   string
		action string
		form   url.Values
	}{
		{"edit", "", url.Values{"name": {"new name"}}},
		{"rotate", "/rotate", url.Values{"grace": {"0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := e.mgr.Create(context.Background(), p, admin.CreateRequest{Name: "k", Role: "viewer"})
			require.NoError(t, err)
			path := "/console/keys/" + k.Record.ID
			tt.form.Set("form_id", formID(t, e.do(t, "GET", path, nil, alice).Body.String()))
			_, err = e.mgr.Revoke(context.Background(), p, k.Record.ID)
			require.NoError(t, err)
			w := e.do(t, "POST", path+tt.action, tt.form, alice)
			assert.Equal(t, 422, w.Code)
			assert.Contains(t, w.Body.String(), `<p class="alert" role="alert">This key was revoked; it cannot be edited or rotated.</p>`)
		})
	}
}

// A page asked with a method it does not answer is a 405 that says which
// it does; a path with no page is a 404.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.as(t, aliceID)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/console/keys", 405, "GET, HEAD, POST"},
		{"DELETE", "/console/keys/key_1", 405, "GET, HEAD, POST"},
		{"OPTIONS", "/console/account", 405, "GET, HEAD"},
		{"GET", "/console/keys/key_1/revoke", 405, "POST"},
		{"PATCH", "/console/sign-out", 405, "POST"},
		{"DELETE", "/console/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := e.do(t, tt.method, tt.path, nil, alice)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.allow, w.Header().Get("Allow"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		})
	}
}

// The manager's messages read as sentences next to their fields: a
// message that is a sentence of its own is not glued to the field's name.
func TestErrorSentences(t *testing.T) {
	e := newEnv(t, Config{})
	alice, root := e.as(t, aliceID), e.as(t, rootID)
	tests := []struct {
		name   string
		who    any
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"org ID taken", root, "/console/orgs", url.Values{"id": {"acme"}, "name": {"Acme again"}}, 422,
			`id="org-id-error">An organization with this ID exists.</p>`},
		{"email taken", alice, "/console/orgs/acme/members", url.Values{"email": {"bob@example.com"}, "level": {"member"}}, 422,
			`id="member-email-error">Another user has this address.</p>`},
		{"unknown role", alice, "", url.Values{"name": {"k"}, "role": {"wizard"}}, 422,
			`id="access-error">This role is not a known role.</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			if tt.path == "" {
				w = e.createKey(t, cookieOf(tt.who), tt.form)
			} else {
				w = e.do(t, "POST", tt.path, tt.form, cookieOf(tt.who))
			}
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Contains(t, html.UnescapeString(w.Body.String()), tt.want)
		})
	}
}

// A member reads the key policy without a form to change it; an admin
// gets the form.
func TestPolicyReadOnlyForMembers(t *testing.T) {
	e := newEnv(t, Config{})
	_, err := e.mgr.SetOrgPolicy(context.Background(), &gatehouse.Principal{ID: aliceID, Scopes: []string{"admin"}}, "acme",
		&admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90})
	require.NoError(t, err)
	tests := []struct {
		name     string
		who      string
		readOnly bool
	}{
		{"member", bobID, true},
		{"org admin", aliceID, false},
		{"super admin", rootID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, "GET", "/console/orgs/acme/policy", nil, e.as(t, tt.who))
			require.Equal(t, 200, w.Code)
			body := w.Body.String()
			if tt.readOnly {
				assert.NotContains(t, body, `action="/console/orgs/acme/policy"`)
				assert.NotContains(t, body, "Save policy")
				assert.Contains(t, body, "<dt>Maximum lifetime</dt><dd>90 days</dd>")
				assert.Contains(t, body, "Only an admin of the organization can change it.")
			} else {
				assert.Contains(t, body, `action="/console/orgs/acme/policy"`)
				assert.Contains(t, body, "Save policy")
			}
		})
	}
}
