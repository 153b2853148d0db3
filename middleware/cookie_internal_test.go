package middleware

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// cookieValueSpec is cookieValue written the obvious way, with allocations:
// split the lines into pairs, trim spaces and tabs, split at the first "=".
func cookieValueSpec(lines []string, name string) (string, int) {
	var val string
	n := 0
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			k, v, ok := strings.Cut(strings.Trim(part, " \t"), "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			val = v
			n++
		}
	}
	return val, n
}

func TestCookieValue(t *testing.T) {
	const name = "__Host-sid"
	tests := []struct {
		name  string
		lines []string
		want  string
		n     int
	}{
		{name: "no header"},
		{name: "alone", lines: []string{"__Host-sid=abc"}, want: "abc", n: 1},
		{name: "among others", lines: []string{"a=1; __Host-sid=abc; b=2"}, want: "abc", n: 1},
		{name: "no space after semicolon", lines: []string{"a=1;__Host-sid=abc"}, want: "abc", n: 1},
		{name: "tabs and trailing spaces", lines: []string{"a=1;\t __Host-sid=abc \t"}, want: "abc", n: 1},
		{name: "second line", lines: []string{"a=1", "__Host-sid=abc"}, want: "abc", n: 1},
		{name: "quoted", lines: []string{`__Host-sid="abc"`}, want: "abc", n: 1},
		{name: "lone quote kept", lines: []string{`__Host-sid="`}, want: `"`, n: 1},
		{name: "empty value", lines: []string{"__Host-sid="}, want: "", n: 1},
		{name: "twice", lines: []string{"__Host-sid=a; __Host-sid=b"}, want: "b", n: 2},
		{name: "twice across lines", lines: []string{"__Host-sid=a", "__Host-sid=b"}, want: "b", n: 2},
		{name: "space before =", lines: []string{"__Host-sid =abc"}},
		{name: "no =", lines: []string{"__Host-sid"}},
		{name: "longer name", lines: []string{"__Host-sidx=abc"}},
		{name: "shorter name", lines: []string{"__Host-si=abc"}},
		{name: "other case", lines: []string{"__host-sid=abc"}},
		{name: "name as a value", lines: []string{"x=__Host-sid=abc"}},
		{name: "empty pairs", lines: []string{";;; ;__Host-sid=abc;;"}, want: "abc", n: 1},
		{name: "value with =", lines: []string{"__Host-sid=a=b"}, want: "a=b", n: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n := cookieValue(tt.lines, name)
			assert.Equal(t, tt.want, v)
			assert.Equal(t, tt.n, n)
			sv, sn := cookieValueSpec(tt.lines, name)
			assert.Equal(t, sv, v, "differs from the plain reading")
			assert.Equal(t, sn, n, "differs from the plain reading")
		})
	}
}

// FuzzCookieValue checks the allocation-free scanner against the plain
// reading on any Cookie header: same value, same count.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"__Host-sid=abc", "a=1; __Host-sid=\"abc\" ;b", "__Host-sid=a;__Host-sid=b", " \t;;__Host-sid= x \t", "__Host-sid"} {
		f.Add(s, "")
	}
	f.Add("sid=1", "sid=2; sid=3")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, name := range []string{"__Host-sid", "sid"} {
			lines := []string{a, b}
			v, n := cookieValue(lines, name)
			sv, sn := cookieValueSpec(lines, name)
			if v != sv || n != sn {
				t.Fatalf("cookieValue(%q, %q) = %q, %d; the plain reading gives %q, %d", lines, name, v, n, sv, sn)
			}
		}
	})
}
