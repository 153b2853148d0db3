package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleScreenshots walks the console's pages with sample data and
// takes a PNG of each, at 1200 px and (the key list and the shown-once
// page) at 375 px. They go to $GATEHOUSE_SCREENSHOTS when set (make
// screenshots writes docs/), else to a temporary folder; either way each
// must be a PNG of the width asked for.
func TestConsoleScreenshots(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	base, stdout := consoleServer(t)
	link := consoleLink.FindString(stdout)
	require.NotEmpty(t, link)

	shoot := func(tb *tab, name string, width int64) {
		t.Helper()
		tb.do(t, chromedp.EmulateViewport(width, 800), chromedp.WaitVisible(chromedp.CSS("footer")))
		// Every field has a label, and nothing is wider than the screen.
		assert.Zero(t, eval[int](t, tb, unlabeledFields), name+": fields without a label")
		assert.LessOrEqual(t, eval[int](t, tb, "document.documentElement.scrollWidth"), int(width), name+": wider than the screen")
		b, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err, name)
		assert.EqualValues(t, width, img.Bounds().Dx(), name)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "console-"+name+".png"), b, 0o644))
	}

	// The bootstrap admin signs in with the printed link and sets up an
	// organization with members.
	root := newTab(t)
	root.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	shoot(root, "sign-in-link", 1200)
	root.do(t, loads(chromedp.Click(chromedp.CSS(`main form button`))), chromedp.WaitVisible(chromedp.CSS(".flash")))
	for _, o := range []struct{ id, name string }{{"acme", "Acme Corp"}, {"globex", "Globex"}} {
		root.do(t,
			chromedp.Navigate(base+"/console/orgs"),
			chromedp.WaitVisible(chromedp.ID("org-name")),
			chromedp.SendKeys(chromedp.ID("org-name"), o.name),
			chromedp.SendKeys(chromedp.ID("org-id"), o.id),
			loads(chromedp.Click(chromedp.CSS(`form[action="/console/orgs"] button`))),
			chromedp.WaitVisible(chromedp.ID("member-email")),
		)
	}
	for _, m := range []struct{ email, name, level string }{
		{"alice@acme.example", "Alice Moreau", "org_admin"},
		{"bob@acme.example", "Bob Tanaka", "member"},
		{"carol@acme.example", "Carol Diaz", "member"},
	} {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/console/orgs/acme"),
			chromedp.WaitVisible(chromedp.ID("member-email")),
			chromedp.SendKeys(chromedp.ID("member-email"), m.email),
			chromedp.SendKeys(chromedp.ID("member-name"), m.name),
			chromedp.SetValue(chromedp.ID("member-level"), m.level),
		}
		if m.level == "org_admin" {
			steps = append(steps, chromedp.SendKeys(chromedp.ID("member-password"), flowPassword))
		}
		steps = append(steps, loads(chromedp.Click(chromedp.CSS(`form[action$="/members"] button`))), chromedp.WaitVisible(chromedp.CSS(".flash")))
		root.do(t, steps...)
	}
	root.do(t, chromedp.Navigate(base+"/console/orgs"), chromedp.WaitVisible(chromedp.CSS("table")))
	shoot(root, "organizations", 1200)

	alice := newTab(t)
	alice.do(t, chromedp.Navigate(base+"/console/sign-in"), chromedp.WaitVisible(chromedp.ID("email")))
	shoot(alice, "sign-in", 1200)
	signIn(t, alice, base, "alice@acme.example", flowPassword)
	shoot(alice, "keys-empty", 1200)
	for _, k := range []struct{ name, desc, role, days string }{
		{"analytics export", "Read-only access for the BI dashboard", "viewer", ""},
		{"staging smoke tests", "Runs after every deploy", "editor", inDays(6)},
		{"old integration", "", "viewer", "90"},
	} {
		alice.do(t, chromedp.Navigate(base+"/console/keys/new"))
		createKeyInPage(t, alice, k.name, k.desc, k.role, k.days)
	}
	alice.do(t,
		chromedp.Navigate(base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS("table.keys")),
		loads(chromedp.Click(chromedp.Search(`//a[contains(., "old integration")]`))), chromedp.WaitVisible(chromedp.CSS(".danger-zone")),
		loads(chromedp.Click(chromedp.CSS(".danger-zone button"))), chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	alice.do(t,
		chromedp.Navigate(base+"/console/orgs/acme/policy"),
		chromedp.WaitVisible(chromedp.ID("max_lifetime_days")),
		chromedp.Click(chromedp.ID("require_expiry")),
		chromedp.SendKeys(chromedp.ID("max_lifetime_days"), "90"),
		chromedp.SendKeys(chromedp.ID("default_lifetime_days"), "30"),
		loads(chromedp.Click(chromedp.CSS("main form button.primary"))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	shoot(alice, "policy", 1200)
	alice.do(t, chromedp.Navigate(base+"/console/keys/new"), chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "billing worker"),
		chromedp.SendKeys(chromedp.ID("description"), "Nightly invoice run"),
		chromedp.SetValue(chromedp.ID("role"), "editor"),
		chromedp.SetValue(chromedp.ID("expires"), "date"),
		chromedp.SetValue(chromedp.ID("expires_on"), inDays(120)),
		chromedp.SendKeys(chromedp.ID("allowed_cidrs"), "203.0.113.0/24\n2001:db8::/32"),
		loads(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))),
		chromedp.WaitVisible(chromedp.ID("expires-error")))
	shoot(alice, "create-error", 1200)
	alice.do(t, chromedp.SetValue(chromedp.ID("expires_on"), inDays(60)))
	shoot(alice, "create", 1200)
	alice.do(t, loads(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))), chromedp.WaitVisible(chromedp.ID("new-key")))
	shoot(alice, "shown-once", 1200)
	shoot(alice, "shown-once-375", 375)

	alice.do(t, chromedp.Navigate(base+"/console/keys?view=org"), chromedp.WaitVisible(chromedp.CSS("table.keys")))
	shoot(alice, "keys", 1200)
	shoot(alice, "keys-375", 375)
	alice.do(t, loads(chromedp.Click(chromedp.Search(`//a[contains(., "billing worker")]`))), chromedp.WaitVisible(chromedp.CSS(".danger-zone")))
	shoot(alice, "key", 1200)
	alice.do(t, chromedp.Navigate(base+"/console/orgs/acme"), chromedp.WaitVisible(chromedp.CSS("table.members")))
	shoot(alice, "members", 1200)
	alice.do(t, chromedp.Navigate(base+"/console/account"), chromedp.WaitVisible(chromedp.ID("new_password")))
	shoot(alice, "account", 1200)
}

// unlabeledFields counts the visible form fields without a label.
const unlabeledFields = `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => e.labels.length === 0).length`
