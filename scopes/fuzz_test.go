package scopes_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/scopes"
)

// FuzzScopesParse checks Parse and ParseJSON on arbitrary input: they never
// panic; what they accept is valid, sorted and unique; and accepted sets
// survive Format and JSON round trips unchanged.
func FuzzScopesParse(f *testing.F) {
	for _, s := range []string{
		"", "read", "read write", "write,read", " a, ,b ,, c ", "projects:*",
		`["read","write"]`, `"read write"`, "null", "42", `{"a":1}`, `["a",null]`,
		"read\x00", "r\xffead", `a"b`, `a\b`, "é", "[\"\\u00e9\"]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, err := scopes.Parse(in); err != nil {
			require.ErrorIs(t, err, scopes.ErrInvalid)
			require.Nil(t, got)
		} else {
			checkNormalRoundTrip(t, got)
		}
		if got, err := scopes.ParseJSON([]byte(in)); err != nil {
			require.ErrorIs(t, err, scopes.ErrInvalid)
			require.Nil(t, got)
		} else {
			checkNormalRoundTrip(t, got)
		}
	})
}

func checkNormalRoundTrip(t *testing.T, list []string) {
	t.Helper()
	require.LessOrEqual(t, len(list), scopes.MaxScopes)
	for i, s := range list {
		require.True(t, scopes.Valid(s), "accepted an invalid scope %q", s)
		if i > 0 {
			require.Less(t, list[i-1], s, "accepted set is not sorted and unique: %q", list)
		}
	}
	again, err := scopes.Parse(scopes.Format(list))
	require.NoError(t, err)
	assert.Equal(t, list, again, "Format/Parse round trip")

	b, err := json.Marshal(list)
	require.NoError(t, err)
	if len(b) > scopes.MaxInputLength {
		return // quotes and escapes can push the JSON form over the input limit
	}
	again, err = scopes.ParseJSON(b)
	require.NoError(t, err)
	assert.Equal(t, list, again, "JSON round trip")
}
