package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
)

// FuzzManagementBodies sends arbitrary bodies to the management API's
// create, update and rotate endpoints as a member: it never panics, every
// refusal is a problem+json whose status matches, and a key is created
// only with scopes the caller holds.
func FuzzManagementBodies(f *testing.F) {
	seeds := []struct {
		op   uint8
		body string
	}{
		{0, `{"name":"CI","scopes":["read"]}`},
		{0, `{"name":"CI","role":"viewer","expires_in_days":30}`},
		{0, `{"name":"x","scopes":["admin"]}`},
		{0, `{"name":"","scopes":[]}`},
		{0, `{"name":"a","scopes":"read"}`},
		{0, `{"name":"a","expires_at":"2030-01-01T00:00:00Z","scopes":["read"]}`},
		{0, `{"name":"a","bogus":1}`},
		{0, `[]`},
		{0, `{"name":"\u0000","scopes":["read"]}`},
		{0, `{"name":"a","scopes":["read"]}{"x":1}`},
		{0, `{"name":"n","scopes":["read"],"allowed_cidrs":["10.0.0.0/8","::ffff:1.2.3.4/120"],"credits":{"remaining":5,"refill":5,"interval":"day"}}`},
		{0, `{"name":"n","scopes":["read"],"allowed_cidrs":["fe80::1%eth0"],"credits":{"remaining":-1}}`},
		{1, `{"allowed_cidrs":null,"credits":null}`},
		{1, `{"credits":{"remaining":1e30}}`},
		{1, `{"name":"renamed"}`},
		{1, `{"expires_in_days":-1}`},
		{1, `{"scopes":["admin"]}`},
		{2, `{"grace_seconds":60}`},
		{2, `{"grace_seconds":-5}`},
		{2, ``},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body))
	}
	e := newEnv(f, envConfig{})
	_, target := e.issue(f, alice, apikey.Params{Name: "fuzz target", Scopes: []string{"read"}})
	h := e.srv.Config.Handler
	key := e.boot[alice]
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		method, path := http.MethodPost, apiPath
		switch op % 3 {
		case 1:
			method, path = http.MethodPatch, apiPath+"/"+target.ID
		case 2:
			path = apiPath + "/" + target.ID + "/rotate"
		}
		rec := serveFuzz(h, method, path, key, body)

		switch {
		case rec.Code >= 400:
			checkFuzzRefusal(t, rec)
		case rec.Code == http.StatusCreated:
			var out struct {
				Key    string `json:"key"`
				APIKey struct {
					Scopes []string `json:"scopes"`
				} `json:"api_key"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Key == "" {
				t.Fatalf("201 without a key: %s", rec.Body.String())
			}
			for _, s := range out.APIKey.Scopes {
				if !slices.Contains([]string{"read", "write"}, s) {
					t.Fatalf("a member created a key with scope %q", s)
				}
			}
		case rec.Code != http.StatusOK:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

// FuzzParseCIDRs: allowed networks from a body or the command line never
// panic; what is accepted is valid, masked, without a zone or an
// IPv4-mapped form, without duplicates, and reads back as itself.
func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:10.0.0.0/104", "10.1.2.3/8",
		"fe80::1%eth0", "0.0.0.0/0", "::/0", "10.0.0.0/33", " 10.0.0.1 ", "1.2.3.4/-0", "",
		"::ffff:10.0.0.0/8", "::ffff:0.0.0.0/96", "::ffff:0:0/95"} {
		f.Add(s, "10.0.0.0/8")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ps, ok := admin.ParseCIDRs([]string{a, b})
		if !ok {
			return
		}
		for _, s := range []string{a, b} {
			// An IPv4-mapped network shorter than /96 holds no IPv4
			// address once masked (::ffff:10.0.0.0/8 is ::/8): refused.
			if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && p.Addr().Is4In6() && p.Bits() < 96 {
				t.Fatalf("ParseCIDRs accepted %q as %v", s, ps)
			}
		}
		seen := map[netip.Prefix]bool{}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() || seen[p] {
				t.Fatalf("ParseCIDRs(%q, %q) gave %v", a, b, p)
			}
			seen[p] = true
			back, ok := admin.ParseCIDRs([]string{p.String()})
			if !ok || len(back) != 1 || back[0] != p {
				t.Fatalf("%v does not read back: %v", p, back)
			}
		}
	})
}

// serveFuzz sends body to h as a JSON request authenticated by key.
func serveFuzz(h http.Handler, method, path, key string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkFuzzRefusal fails t unless the refusal rec is problem+json whose
// status member is its status, and not a server failure.
func checkFuzzRefusal(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("refusal %d with Content-Type %q", rec.Code, ct)
	}
	var p struct{ Status int }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
		t.Fatalf("refusal %d with body %q", rec.Code, rec.Body.String())
	}
	if rec.Code >= 500 {
		t.Fatalf("a body made the server fail: %d %s", rec.Code, rec.Body.String())
	}
}
