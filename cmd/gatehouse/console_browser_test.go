package main

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	consoleKey  = regexp.MustCompile(`^gh_live\.[0-9A-Za-z]{36}$`)
	consoleLink = regexp.MustCompile(`http://\S+/console/sign-in/link\?token=[0-9A-Za-z_-]{43}`)
)

// consoleServer starts `gatehouse serve` on a new SQLite database with a
// member who has a password, and returns its base URL and the standard
// output (the bootstrap key and sign-in link).
func consoleServer(t *testing.T) (base, stdout string) {
	t.Helper()
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(t.TempDir(), "gatehouse.db")}
	code, _, stderr := cliStdin(t, vars, flowPassword+"\n", "users", "create", "--email", flowEmail, "--password-stdin")
	require.Equal(t, 0, code, stderr)
	i := startInstance(t, vars)
	require.Contains(t, i.stderr.String(), "console="+i.base+"/console/", "serve prints the console's URL")
	return i.base, i.stdout.String()
}

// signIn signs in through the console's form.
func signIn(t *testing.T, tb *tab, base, email, password string) {
	t.Helper()
	tb.do(t,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		loads(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/keys/new"]`)),
	)
}

// createKeyInPage fills the create form (already open) and returns the
// key from the shown-once page. expiry is "" (none), a number of days the
// select offers, or a date (YYYY-MM-DD, chosen with "On a date").
func createKeyInPage(t *testing.T, tb *tab, name, description, role, expiry string) string {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
	}
	if description != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.ID("description"), description))
	}
	steps = append(steps, chromedp.SetValue(chromedp.ID("role"), role))
	steps = append(steps, chooseExpiry(expiry)...)
	steps = append(steps, loads(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("new-key")))
	tb.do(t, steps...)
	key := tb.value(t, "#new-key")
	require.Regexp(t, consoleKey, key)
	return key
}

// chooseExpiry picks expiry in the form's expiry control: a number of
// days from the select, or a date with "On a date".
func chooseExpiry(expiry string) []chromedp.Action[chromedp.Void] {
	switch {
	case expiry == "":
		return nil
	case strings.Contains(expiry, "-"):
		return []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("expires"), "date"), chromedp.SetValue(chromedp.ID("expires_on"), expiry)}
	}
	return []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("expires"), expiry)}
}

// inDays is the date days from today (UTC, the zone of serve's policy).
func inDays(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02") }

// apiStatus calls the demo API with key.
func apiStatus(t *testing.T, base, key string) int {
	t.Helper()
	code, _, _ := send(t, http.DefaultClient, "GET", base+"/api/projects", "", "Authorization", "Bearer "+key)
	return code
}

// pageHTML is the whole document as the browser has it now.
func pageHTML(t *testing.T, tb *tab) string {
	t.Helper()
	return eval[string](t, tb, "document.documentElement.outerHTML")
}

// TestConsoleKeyFlow: sign in, create a key with a name, description,
// role and 30-day expiry, copy it with the copy button, reload (the key
// is gone), see its last 4 in the list, rename it, use it, revoke it.
func TestConsoleKeyFlow(t *testing.T) {
	base, _ := consoleServer(t)
	tb := newTab(t)
	tb.grantClipboard(t, base)
	signIn(t, tb, base, flowEmail, flowPassword)

	tb.do(t, loads(chromedp.Click(chromedp.CSS(`a[href="/console/keys/new"]`))))
	key := createKeyInPage(t, tb, "billing worker", "nightly invoices", "editor", "30")
	assert.Contains(t, tb.text(t, ".facts"), "role editor")

	// The copy button puts the key on the clipboard.
	tb.do(t,
		chromedp.Click(chromedp.CSS("button.copy")),
		chromedp.WaitVisible(chromedp.CSS(`button.copy[data-copied="true"]`)),
	)
	assert.Equal(t, key, eval[string](t, tb, "navigator.clipboard.readText()", chromedp.EvalAwaitPromise))

	// A reload sends the form again: the key is not shown again, and no
	// second key is made.
	tb.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	assert.NotContains(t, pageHTML(t, tb), key)
	assert.Contains(t, tb.text(t, "main h1"), "already sent")

	// The list shows the key's last 4, and one key only.
	tb.do(t, chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
	assert.Equal(t, 1, eval[int](t, tb, "document.querySelectorAll('table.keys tbody tr').length"))
	row := tb.text(t, "table.keys tbody tr")
	assert.Contains(t, row, "…"+key[len(key)-4:])
	assert.Contains(t, row, "nightly invoices")
	assert.NotContains(t, pageHTML(t, tb), key)

	// Rename it.
	tb.do(t,
		loads(chromedp.Click(chromedp.CSS("a.key-name"))),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.Clear(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "invoice worker"),
		loads(chromedp.Click(chromedp.CSS("main section.card form button.primary"))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	assert.Equal(t, "invoice worker", tb.text(t, "main h1"))

	// Allowed networks: an entry that is not a network is shown next to
	// the field; networks that exclude 127.0.0.1 make the API refuse the
	// key (403); one that includes it lets it through again.
	save := loads(chromedp.Click(chromedp.CSS("main section.card form button.primary")))
	tb.do(t, chromedp.SendKeys(chromedp.ID("allowed_cidrs"), "10.0.0.300"), save, chromedp.WaitVisible(chromedp.ID("networks-error")))
	assert.Contains(t, tb.text(t, ".field.invalid #networks-error"), "“10.0.0.300” is not a network")
	assert.Equal(t, "true", eval[string](t, tb, `document.getElementById("allowed_cidrs").getAttribute("aria-invalid")`))
	tb.do(t, chromedp.Clear(chromedp.ID("allowed_cidrs")), chromedp.SendKeys(chromedp.ID("allowed_cidrs"), "203.0.113.0/24\n2001:db8::/32"),
		save, chromedp.WaitVisible(chromedp.CSS(".flash")))
	assert.Contains(t, tb.text(t, ".facts"), "203.0.113.0/24, 2001:db8::/32")
	assert.Equal(t, http.StatusForbidden, apiStatus(t, base, key), "127.0.0.1 is outside the key's networks")
	tb.do(t, chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
	assert.Equal(t, "2 networks", tb.text(t, "table.keys tbody tr .marker"))
	tb.do(t,
		loads(chromedp.Click(chromedp.CSS("a.key-name"))),
		chromedp.WaitVisible(chromedp.ID("allowed_cidrs")),
		chromedp.Clear(chromedp.ID("allowed_cidrs")),
		chromedp.SendKeys(chromedp.ID("allowed_cidrs"), "127.0.0.1"),
		save, chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	assert.Contains(t, tb.text(t, ".facts"), "127.0.0.1/32")

	// It works, until it is revoked in the page (after the confirmation).
	assert.Equal(t, http.StatusOK, apiStatus(t, base, key))
	tb.do(t,
		loads(chromedp.Click(chromedp.CSS(".danger-zone button"))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	assert.Contains(t, tb.text(t, ".flash"), "revoked")
	assert.Equal(t, http.StatusUnauthorized, apiStatus(t, base, key))
	require.NotEmpty(t, tb.seenDialogs(), "the revoke button asks first")
	assert.True(t, strings.HasPrefix(tb.seenDialogs()[0].Message, "Revoke this key?"))
	assert.Contains(t, tb.text(t, "table.keys tbody tr"), "Revoked")
}

// TestConsoleSecurity: a cross-origin form post is refused, a name that
// is HTML stays text, and the page that showed a key does not show it
// again from the history.
func TestConsoleSecurity(t *testing.T) {
	base, _ := consoleServer(t)
	tb := newTab(t)
	signIn(t, tb, base, flowEmail, flowPassword)

	t.Run("xss name is inert", func(t *testing.T) {
		const xss = `<img src=x onerror=alert(1)>`
		tb.do(t, chromedp.Navigate(base+"/console/keys/new"))
		createKeyInPage(t, tb, xss, xss, "viewer", "")
		tb.do(t, chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
		assert.Equal(t, xss, tb.text(t, "a.key-name"))
		assert.Equal(t, xss, tb.text(t, "span.desc"))
		assert.Zero(t, eval[int](t, tb, "document.querySelectorAll('img').length"), "no img element from the name")
		tb.do(t, loads(chromedp.Click(chromedp.CSS("a.key-name"))), chromedp.WaitVisible(chromedp.ID("name")))
		assert.Equal(t, xss, tb.text(t, "main h1"))
		assert.Equal(t, xss, tb.value(t, "#name"))
		assert.Zero(t, eval[int](t, tb, "document.querySelectorAll('img').length"))
		assert.Empty(t, tb.seenDialogs(), "no dialog fired")
	})

	t.Run("shown-once page not in history", func(t *testing.T) {
		tb.do(t, chromedp.Navigate(base+"/console/keys/new"))
		key := createKeyInPage(t, tb, "history test", "", "viewer", "")
		tb.do(t,
			loads(chromedp.Click(chromedp.CSS(`nav a[href="/console/account"]`))),
			chromedp.WaitVisible(chromedp.ID("new_password")),
		)
		tb.back(t)
		html := pageHTML(t, tb)
		assert.NotContains(t, html, key)
		assert.NotContains(t, html, "Copy your new key", "the shown-once page is not restored")
		assert.NotContains(t, pageHTML(t, tb), key[len(key)-12:])
	})

	t.Run("cross-origin post refused", func(t *testing.T) {
		tb.do(t, chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
		before := eval[int](t, tb, "document.querySelectorAll('table.keys tbody tr').length")
		// A page of another origin (same host, another port: the session
		// cookie, SameSite=Lax, goes along) posts the create form.
		evil := newEvilSite(t, `<form method="post" action="`+base+`/console/keys">
<input name="form_id" value="AAAAAAAAAAAAAAAAAAAAAAAAAA"><input name="name" value="planted">
<input name="role" value="admin"><button id="go" type="submit">Win a prize</button></form>`)
		tb.do(t,
			chromedp.Navigate(evil),
			loads(chromedp.Click(chromedp.ID("go"))),
			chromedp.WaitVisible(chromedp.CSS("main h1")),
		)
		assert.Equal(t, "Request refused", tb.text(t, "main h1"))
		tb.do(t, chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
		assert.Equal(t, before, eval[int](t, tb, "document.querySelectorAll('table.keys tbody tr').length"))
		assert.NotContains(t, pageHTML(t, tb), "planted")
	})
}

// TestConsoleOrganizations: the bootstrap admin signs in with the link
// serve printed and sets up two organizations; an org admin adds a user
// and creates a key for them, cannot see the other organization (404),
// and sets a key policy whose limits show next to the expiry field; a
// super admin sees both organizations.
func TestConsoleOrganizations(t *testing.T) {
	base, stdout := consoleServer(t)
	link := consoleLink.FindString(stdout)
	require.NotEmpty(t, link, "serve prints a sign-in link: %s", stdout)

	root := newTab(t)
	// The link's GET only shows a button: the token is spent by the POST.
	root.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	root.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	root.do(t, loads(chromedp.Click(chromedp.CSS(`main form button`))), chromedp.WaitVisible(chromedp.CSS(".flash")))
	assert.Contains(t, root.text(t, ".flash"), "Welcome")
	loc, err := chromedp.Run(root.ctx, chromedp.Location())
	require.NoError(t, err)
	assert.NotContains(t, loc, "token")
	// Used once: never again.
	other := newTab(t)
	other.do(t, chromedp.Navigate(link), loads(chromedp.Click(chromedp.CSS(`main form button`))),
		chromedp.WaitVisible(chromedp.CSS("main p.eyebrow")))
	assert.Equal(t, "This sign-in link does not work", other.text(t, "main h1"))

	for _, o := range []struct{ id, name, admin string }{{"acme", "Acme", "alice@acme.example"}, {"globex", "Globex", "gina@globex.example"}} {
		root.do(t,
			chromedp.Navigate(base+"/console/orgs"),
			chromedp.WaitVisible(chromedp.ID("org-name")),
			chromedp.SendKeys(chromedp.ID("org-name"), o.name),
			chromedp.SendKeys(chromedp.ID("org-id"), o.id),
			loads(chromedp.Click(chromedp.CSS(`form[action="/console/orgs"] button`))),
			chromedp.WaitVisible(chromedp.ID("member-email")),
			chromedp.SendKeys(chromedp.ID("member-email"), o.admin),
			chromedp.SetValue(chromedp.ID("member-level"), "org_admin"),
			chromedp.SendKeys(chromedp.ID("member-password"), flowPassword),
			loads(chromedp.Click(chromedp.CSS(`form[action$="/members"] button`))),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		assert.Contains(t, root.text(t, "table.members"), o.admin)
	}

	alice := newTab(t)
	signIn(t, alice, base, "alice@acme.example", flowPassword)
	alice.do(t,
		loads(chromedp.Click(chromedp.CSS(`nav a[href="/console/orgs/acme"]`))),
		chromedp.WaitVisible(chromedp.ID("member-email")),
		chromedp.SendKeys(chromedp.ID("member-email"), "carol@acme.example"),
		chromedp.SendKeys(chromedp.ID("member-name"), "Carol"),
		loads(chromedp.Click(chromedp.CSS(`form[action$="/members"] button`))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	assert.Contains(t, alice.text(t, "table.members"), "Carol")

	// A member whose name is HTML is shown as text.
	const xss = `<img src=x onerror=alert(1)>`
	alice.do(t,
		chromedp.SendKeys(chromedp.ID("member-email"), "mallory@acme.example"),
		chromedp.SendKeys(chromedp.ID("member-name"), xss),
		loads(chromedp.Click(chromedp.CSS(`form[action$="/members"] button`))),
	)
	assert.Contains(t, alice.text(t, "table.members"), xss)
	assert.Zero(t, eval[int](t, alice, "document.querySelectorAll('img').length"))
	assert.Empty(t, alice.seenDialogs())
	alice.do(t, loads(chromedp.Click(chromedp.Search(`//a[contains(., "Create a key for Carol")]`))))
	carolKey := createKeyInPage(t, alice, "carol's laptop", "", "viewer", "")
	assert.Equal(t, http.StatusOK, apiStatus(t, base, carolKey))
	alice.do(t, chromedp.Navigate(base+"/console/keys?view=org"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
	assert.Contains(t, alice.text(t, "table.keys"), "carol's laptop")

	assert.EqualValues(t, http.StatusNotFound, alice.status(t, base+"/console/orgs/globex"))
	assert.NotContains(t, pageHTML(t, alice), "gina@")
	assert.EqualValues(t, http.StatusNotFound, alice.status(t, base+"/console/orgs/globex/policy"))
	assert.EqualValues(t, http.StatusForbidden, alice.status(t, base+"/console/orgs"))

	root.do(t, chromedp.Navigate(base+"/console/orgs"), chromedp.WaitVisible(chromedp.CSS("table")))
	orgs := root.text(t, "table")
	assert.Contains(t, orgs, "Acme")
	assert.Contains(t, orgs, "Globex")
	assert.EqualValues(t, http.StatusOK, root.status(t, base+"/console/orgs/globex"))
	assert.Contains(t, root.text(t, "table.members"), "gina@globex.example")

	t.Run("policy", func(t *testing.T) {
		alice.do(t,
			chromedp.Navigate(base+"/console/orgs/acme/policy"),
			chromedp.WaitVisible(chromedp.ID("max_lifetime_days")),
			chromedp.Click(chromedp.ID("require_expiry")),
			chromedp.SendKeys(chromedp.ID("max_lifetime_days"), "90"),
			loads(chromedp.Click(chromedp.CSS("main form button.primary"))),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
		assert.Equal(t, "90", alice.value(t, "#max_lifetime_days"))
		// No expiry, 120 days (the select offers at most the policy's 90:
		// a crafted option), a date 120 days away and a date in the past
		// are refused next to the field.
		for _, expiry := range []string{"", "120", inDays(120), inDays(-1)} {
			alice.do(t,
				chromedp.Navigate(base+"/console/keys/new"),
				chromedp.WaitVisible(chromedp.ID("name")),
				chromedp.SendKeys(chromedp.ID("name"), "too long "+expiry),
			)
			if expiry == "120" {
				eval[int](t, alice, `document.getElementById("expires").add(new Option("120 days", "120")), 0`)
			}
			steps := append(chooseExpiry(expiry), loads(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))),
				chromedp.WaitVisible(chromedp.ID("expires-error")))
			alice.do(t, steps...)
			msg := alice.text(t, ".field.invalid #expires-error")
			switch expiry {
			case "":
				assert.Contains(t, msg, "expiry is required")
			case inDays(-1):
				assert.Contains(t, msg, "must be in the future")
			default:
				assert.Contains(t, msg, "maximum lifetime of 90 days")
			}
			assert.Contains(t, alice.text(t, "#expires-hint"), "at most 90 days", "the policy is stated under the field")
			assert.Equal(t, "true", eval[string](t, alice, `document.getElementById("expires").getAttribute("aria-invalid")`))
			assert.Zero(t, eval[int](t, alice, "document.querySelectorAll('#new-key').length"))
		}
		// 90 days is within the policy, and so is a date 30 days away: the
		// key works through the end of that day.
		alice.do(t, chromedp.Navigate(base+"/console/keys/new"))
		createKeyInPage(t, alice, "within policy", "", "viewer", "90")
		alice.do(t, chromedp.Navigate(base+"/console/keys/new"))
		createKeyInPage(t, alice, "on a date", "", "viewer", inDays(30))
		end := time.Now().UTC().AddDate(0, 0, 31).Format("2 Jan 2006") + " 00:00 UTC"
		assert.Contains(t, alice.text(t, ".facts"), end)
	})
}

// newEvilSite serves page from another origin until the test ends.
func newEvilSite(t *testing.T, page string) string {
	t.Helper()
	srv := httptestServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>prize</title>" + page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestConsoleKeyboard signs in and creates a key with the keyboard alone:
// Tab moves through the form in order, Enter submits, and the focus ring
// shows where it is.
func TestConsoleKeyboard(t *testing.T) {
	base, _ := consoleServer(t)
	tb := newTab(t)
	active := func() string {
		t.Helper()
		return eval[string](t, tb, "document.activeElement.id || document.activeElement.textContent.trim()")
	}
	tb.do(t, chromedp.Navigate(base+"/console/sign-in"), chromedp.WaitVisible(chromedp.ID("email")))
	assert.Equal(t, "email", active(), "the e-mail field has the focus")
	tb.do(t, chromedp.KeyEvent(flowEmail), chromedp.KeyEvent("\t"))
	assert.Equal(t, "password", active())
	tb.do(t, chromedp.KeyEvent(flowPassword), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/keys/new"]`)))

	// From the top of the page: the skip link, then the navigation; the
	// Create key button comes before the content below it.
	tb.do(t, chromedp.KeyEvent("\t"))
	assert.Equal(t, "Skip to content", active())
	for range 12 {
		if active() == "Create key" {
			break
		}
		tb.do(t, chromedp.KeyEvent("\t"))
	}
	require.Equal(t, "Create key", active())
	assert.NotEqual(t, "none", eval[string](t, tb, "getComputedStyle(document.activeElement).outlineStyle"), "a visible focus ring")
	tb.do(t, chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("name")))
	tb.do(t, chromedp.KeyEvent("\t"))
	for range 5 {
		if active() == "name" {
			break
		}
		tb.do(t, chromedp.KeyEvent("\t"))
	}
	require.Equal(t, "name", active())
	tb.do(t, chromedp.KeyEvent("keyboard key"), chromedp.KeyEvent("\t"))
	assert.Equal(t, "description", active())
	tb.do(t, chromedp.KeyEvent("\t"))
	assert.Equal(t, "role", active())
	tb.do(t, chromedp.KeyEvent("\t"))
	assert.Equal(t, "scopes", active())
	tb.do(t, chromedp.KeyEvent("\t"))
	assert.Equal(t, "expires", active())
	tb.do(t, chromedp.KeyEvent("30"))
	assert.Equal(t, "30", tb.value(t, "#expires"), "typing picks 30 days")
	for _, id := range []string{"expires_on", "allowed_cidrs", "Create key"} {
		tb.do(t, chromedp.KeyEvent("\t"))
		// Tab walks through the date's parts (day, month, year) first.
		for i := 0; i < 3 && active() == "expires_on" && id != "expires_on"; i++ {
			tb.do(t, chromedp.KeyEvent("\t"))
		}
		assert.Equal(t, id, active())
	}
	tb.do(t, chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("new-key")))
	assert.Regexp(t, consoleKey, tb.value(t, "#new-key"))
}
