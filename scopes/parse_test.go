package scopes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/scopes"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{name: "simple", s: "read", want: true},
		{name: "namespaced", s: "projects:read", want: true},
		{name: "wildcard", s: "projects:*", want: true},
		{name: "url-like", s: "https://api.example.com/read", want: true},
		{name: "every allowed punctuation", s: "!#$%&'()*+-./:;<=>?@[]^_`{|}~", want: true},
		{name: "longest", s: strings.Repeat("a", scopes.MaxScopeLength), want: true},
		{name: "empty", s: ""},
		{name: "too long", s: strings.Repeat("a", scopes.MaxScopeLength+1)},
		{name: "space", s: "a b"},
		{name: "comma", s: "a,b"},
		{name: "double quote", s: `a"b`},
		{name: "backslash", s: `a\b`},
		{name: "tab", s: "a\tb"},
		{name: "newline", s: "read\n"},
		{name: "NUL", s: "a\x00"},
		{name: "DEL", s: "a\x7f"},
		{name: "non-ASCII", s: "lecture:é"},
		{name: "invalid UTF-8", s: "a\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scopes.Valid(tt.s))
		})
	}
}

func TestParse(t *testing.T) {
	// many returns n distinct scopes separated by spaces.
	many := func(n int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = fmt.Sprintf("s%03d", i)
		}
		return strings.Join(list, " ")
	}
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: "  , ,, ", want: nil},
		{name: "one", in: "read", want: []string{"read"}},
		{name: "space separated", in: "write read", want: []string{"read", "write"}},
		{name: "comma separated", in: "write,read", want: []string{"read", "write"}},
		{name: "mixed separators", in: " write, read ,admin  projects:*", want: []string{"admin", "projects:*", "read", "write"}},
		{name: "duplicates", in: "read read,read write read", want: []string{"read", "write"}},
		{name: "double quote", in: `read "write"`, wantErr: true},
		{name: "backslash", in: `read wr\ite`, wantErr: true},
		{name: "non-ASCII", in: "read écrire", wantErr: true},
		{name: "tab is not a separator", in: "read\twrite", wantErr: true},
		{name: "newline", in: "read\nwrite", wantErr: true},
		{name: "CR", in: "read\r", wantErr: true},
		{name: "NUL", in: "read\x00", wantErr: true},
		{name: "scope too long", in: "read " + strings.Repeat("w", scopes.MaxScopeLength+1), wantErr: true},
		{name: "longest scope", in: strings.Repeat("w", scopes.MaxScopeLength), want: []string{strings.Repeat("w", scopes.MaxScopeLength)}},
		{name: "input too long", in: strings.Repeat(" ", scopes.MaxInputLength) + "a", wantErr: true},
		{name: "most scopes", in: many(scopes.MaxScopes), want: strings.Fields(many(scopes.MaxScopes))},
		{name: "too many scopes", in: many(scopes.MaxScopes + 1), wantErr: true},
		{name: "too many duplicates", in: strings.Repeat("a ", scopes.MaxScopes+1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scopes.Parse(tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, scopes.ErrInvalid)
				assert.Nil(t, got)
				if len(tt.in) > 8 {
					assert.NotContains(t, err.Error(), tt.in, "errors never echo the input")
				}
				return
			}
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.want, got)
			assertNormal(t, got)
		})
	}
}

func TestParseDoesNotEchoInput(t *testing.T) {
	for _, in := range []string{`secret"token`, "tok\x00en", strings.Repeat("z", 200)} {
		_, err := scopes.Parse(in)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), in)
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "array", in: `["write","read"]`, want: []string{"read", "write"}},
		{name: "array with duplicates", in: `["read","read"]`, want: []string{"read"}},
		{name: "empty array", in: `[]`, want: nil},
		{name: "string", in: `"write read"`, want: []string{"read", "write"}},
		{name: "comma string", in: `"write,read"`, want: []string{"read", "write"}},
		{name: "empty string", in: `""`, want: nil},
		{name: "null", in: `null`, want: nil},
		{name: "whitespace around", in: " [\"read\"] \n", want: []string{"read"}},
		{name: "number", in: `42`, wantErr: true},
		{name: "bool", in: `true`, wantErr: true},
		{name: "object", in: `{"scope":"read"}`, wantErr: true},
		{name: "array of numbers", in: `[1,2]`, wantErr: true},
		{name: "array with null", in: `["read",null]`, wantErr: true},
		{name: "nested array", in: `[["read"]]`, wantErr: true},
		{name: "array element with space", in: `["read write"]`, wantErr: true},
		{name: "array element with comma", in: `["read,write"]`, wantErr: true},
		{name: "array element empty", in: `[""]`, wantErr: true},
		{name: "escaped quote", in: `["a\"b"]`, wantErr: true},
		{name: "escaped control", in: `["a\u0000"]`, wantErr: true},
		{name: "non-ASCII", in: `["caf\u00e9"]`, wantErr: true},
		{name: "invalid UTF-8", in: "[\"a\xff\"]", wantErr: true},
		{name: "not JSON", in: `read write`, wantErr: true},
		{name: "trailing garbage", in: `["read"] x`, wantErr: true},
		{name: "empty input", in: ``, wantErr: true},
		{name: "too long", in: `"` + strings.Repeat(" ", scopes.MaxInputLength) + `"`, wantErr: true},
		{name: "too many", in: `[` + strings.Repeat(`"a",`, scopes.MaxScopes) + `"a"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scopes.ParseJSON([]byte(tt.in))
			if tt.wantErr {
				require.ErrorIs(t, err, scopes.ErrInvalid)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assertNormal(t, got)
		})
	}
}

func TestValidate(t *testing.T) {
	require.NoError(t, scopes.Validate(nil))
	require.NoError(t, scopes.Validate([]string{"read", "write"}))
	assert.ErrorIs(t, scopes.Validate([]string{"read", ""}), scopes.ErrInvalid)
	assert.ErrorIs(t, scopes.Validate([]string{"read write"}), scopes.ErrInvalid)
	assert.ErrorIs(t, scopes.Validate(make([]string, scopes.MaxScopes+1)), scopes.ErrInvalid)
	long := make([]string, scopes.MaxScopes)
	for i := range long {
		long[i] = "s"
	}
	assert.NoError(t, scopes.Validate(long))
}

func TestNormalize(t *testing.T) {
	in := []string{"b", "a", "b", "c", "a"}
	got := scopes.Normalize(in)
	assert.Equal(t, []string{"a", "b", "c"}, got)
	assert.Equal(t, []string{"b", "a", "b", "c", "a"}, in, "the input is left as it was")
	assert.Nil(t, scopes.Normalize(nil))
	assert.Nil(t, scopes.Normalize([]string{}))
}

func TestFormatRoundTrip(t *testing.T) {
	for _, in := range [][]string{nil, {"read"}, {"admin", "projects:*", "read"}} {
		s := scopes.Format(in)
		got, err := scopes.Parse(s)
		require.NoError(t, err)
		assert.Equal(t, in, got)
	}
	assert.Equal(t, "a b c", scopes.Format([]string{"a", "b", "c"}))
}

// assertNormal checks that list is what the parsers promise: valid scopes,
// strictly increasing (sorted and unique).
func assertNormal(t *testing.T, list []string) {
	t.Helper()
	for i, s := range list {
		assert.True(t, scopes.Valid(s), "scope %q is not valid", s)
		if i > 0 {
			assert.Less(t, list[i-1], s, "not sorted and unique")
		}
	}
}
