package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser tests drive Debian's chromium, headless, through the
// DevTools protocol. One browser serves the whole test binary; each test
// gets its own browser context (its own cookies) and tab.

// browserTimeout bounds one browser test: generous, for a loaded 2-core
// machine. Nothing sleeps: every step waits for a selector or an event.
const browserTimeout = 4 * time.Minute

var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// chromiumPath finds the browser: $GATEHOUSE_CHROMIUM, else chromium,
// chromium-browser, google-chrome on $PATH.
func chromiumPath() string {
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one browser tab in a fresh browser context, and the JavaScript
// dialogs it saw (each is accepted, as a person clicking OK would).
type tab struct {
	ctx context.Context

	mu      sync.Mutex
	dialogs []*page.EventJavascriptDialogOpening
}

// newTab returns a tab of the shared browser. Without a browser the test
// skips, and says how to install one; under CI=true it fails instead.
func newTab(t *testing.T) *tab {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found: the browser tests need it (.ci/run installs Debian's chromium)")
		}
		t.Skip("no Chromium found: install it (apt-get install chromium) to run the console's browser tests")
	}
	shared.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
			chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-gpu", true))
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox)
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		shared.ctx = bctx
		shared.cancel = func() { bcancel(); acancel() }
		shared.err = chromedp.Do(bctx) // starts the browser, with no timeout
	})
	require.NoError(t, shared.err, "starting Chromium")
	tctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(tctx))
	tb := &tab{}
	dialogs := chromedp.Events(tctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, &ev)
			tb.mu.Unlock()
			_, _ = chromedp.Call(tctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	// A headless page never has the focus that the clipboard API needs.
	_, err := chromedp.Call(tctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
	require.NoError(t, err)
	ctx, cancelT := context.WithTimeout(tctx, browserTimeout)
	t.Cleanup(cancelT)
	tb.ctx = ctx
	return tb
}

// do runs steps in the tab and fails the test on an error.
func (tb *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(tb.ctx, steps...))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	require.NoError(t, err, expr)
	return v
}

// text reads the text of the first element sel matches.
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	return v
}

// value reads the value of a form field.
func (tb *tab) value(t *testing.T, sel string) string {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	return v
}

// status navigates to url and returns the response's status.
func (tb *tab) status(t *testing.T, url string) int64 {
	t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(url))
	require.NoError(t, err, url)
	return resp.Status
}

// seenDialogs returns the dialogs the tab opened so far.
func (tb *tab) seenDialogs() []*page.EventJavascriptDialogOpening {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]*page.EventJavascriptDialogOpening(nil), tb.dialogs...)
}

// grantClipboard lets the pages of origin read and write the clipboard.
func (tb *tab) grantClipboard(t *testing.T, origin string) {
	t.Helper()
	bc := chromedp.FromContext(tb.ctx).BrowserContextID
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(tb.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: origin, BrowserContextID: bc})
		require.NoError(t, err)
	}
}

func httptestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// back goes one step back in the tab's history, as the browser's Back
// button does, and waits until the page there is loaded. (chromedp's
// NavigateBack waits for a load event that an error page, such as
// "Confirm Form Resubmission", never sends.)
func (tb *tab) back(t *testing.T) {
	t.Helper()
	h, err := chromedp.Call(tb.ctx, page.GetNavigationHistory, cdp.Empty{})
	require.NoError(t, err)
	require.Positive(t, h.CurrentIndex, "no page to go back to")
	navigated := chromedp.Events(tb.ctx, page.FrameNavigated)
	stopped := chromedp.Events(tb.ctx, page.FrameStoppedLoading)
	_, err = chromedp.Call(tb.ctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
	require.NoError(t, err)
	var frame cdp.FrameID
	for ev, err := range navigated {
		require.NoError(t, err)
		if ev.Frame.ParentID == "" {
			frame = ev.Frame.ID
			break
		}
	}
	for ev, err := range stopped {
		require.NoError(t, err)
		if ev.FrameID == frame {
			break
		}
	}
}

// loads runs act, a click that opens another page, and waits until that
// page has loaded (waiting for an element could match the page before).
func loads(act chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		loaded := chromedp.Events(ctx, page.LoadEventFired)
		if _, err := act(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		for _, err := range loaded {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, ctx.Err()
	}
}
