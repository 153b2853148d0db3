package session

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse"
)

// FuzzParseBasic checks that decoding Basic credentials never panics,
// refuses with a 400 sentinel only, and returns only what RFC 7617 allows.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{b64("ada@example.com:secret"), b64("a:b:c"), b64(":x"), b64("nocolon"), "YQ", "YTpi", "====", "", b64("ad\x00a:x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		user, pass, err := ParseBasic(v)
		if err != nil {
			if !errorsIs(err, gatehouse.ErrInvalidRequest) {
				t.Fatalf("refusal %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if user == "" || strings.Contains(user, ":") || !utf8.ValidString(user) || !utf8.ValidString(pass) {
			t.Fatalf("accepted %q, %q", user, pass)
		}
		if !noControl([]byte(user)) || !noControl([]byte(pass)) {
			t.Fatalf("control character in %q, %q", user, pass)
		}
		if len(user)+1+len(pass) > maxBasicDecoded {
			t.Fatalf("decoded %d bytes", len(user)+1+len(pass))
		}
	})
}

// FuzzParseLogin checks the login and password body parsers on any bytes:
// no panic, and an accepted body has its members within bounds.
func FuzzParseLogin(f *testing.F) {
	for _, s := range []string{
		`{"email":"ada@example.com","password":"p"}`,
		`{"email":"a","password":"p","x":1}`,
		`{"email":"a","password":"p"} {}`,
		`{"current_password":"a","new_password":"b"}`,
		`{"email":"\u0000","password":"\ud800"}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := parseLogin(bytes.NewReader(data)); err == nil {
			if b.Email == "" || b.Password == "" || len(b.Email) > maxEmail || !printable(b.Email) || !utf8.ValidString(b.Password) {
				t.Fatalf("accepted %q", b)
			}
		}
		if b, err := parsePassword(bytes.NewReader(data)); err == nil {
			if b.Current == "" || b.New == "" || !utf8.ValidString(b.Current) || !utf8.ValidString(b.New) {
				t.Fatalf("accepted %q", b)
			}
		}
	})
}
