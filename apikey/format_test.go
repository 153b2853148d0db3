package apikey_test

import (
	"hash/crc32"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
)

const (
	testPrefix = "cpx_live."
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen  = 30
	sumLen     = 6
)

var testFormat = apikey.MustFormat(testPrefix)

// refChecksum computes the 6-character checksum of a key's random part
// independently of the package: math/big's base 62 (whose digits order
// lowercase before uppercase) translated to the key alphabet, zero padded.
func refChecksum(random string) string {
	s := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(random)))).Text(62)
	const bigDigits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := []byte(strings.Repeat("0", sumLen-len(s)) + s)
	for i, c := range out {
		out[i] = base62[strings.IndexByte(bigDigits, c)]
	}
	return string(out)
}

// makeKey builds a well-formed key of testFormat around random.
func makeKey(random string) string { return testPrefix + random + refChecksum(random) }

// wellFormed reports whether key is one Generate could have produced for
// prefix, by the reference rules.
func wellFormed(prefix, key string) bool {
	body, ok := strings.CutPrefix(key, prefix)
	if !ok || len(body) != randomLen+sumLen {
		return false
	}
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return body[randomLen:] == refChecksum(body[:randomLen])
}

// flip changes the character at i of s to another base62 character.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestNewFormat(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		wantErr bool
	}{
		{name: "dot", prefix: "cpx_live."},
		{name: "underscore", prefix: "ghp_"},
		{name: "dash", prefix: "sk-"},
		{name: "shortest", prefix: "a_"},
		{name: "longest", prefix: strings.Repeat("a", apikey.MaxPrefixLength-1) + "_"},
		{name: "only separators", prefix: "__"},
		{name: "empty", prefix: "", wantErr: true},
		{name: "one char", prefix: "_", wantErr: true},
		{name: "too long", prefix: strings.Repeat("a", apikey.MaxPrefixLength) + "_", wantErr: true},
		{name: "ends in letter", prefix: "cpx", wantErr: true},
		{name: "ends in digit", prefix: "cpx_v1", wantErr: true},
		{name: "space", prefix: "cp x_", wantErr: true},
		{name: "slash", prefix: "cpx/_", wantErr: true},
		{name: "colon", prefix: "cpx:", wantErr: true},
		{name: "non-ASCII", prefix: "clé_", wantErr: true},
		{name: "NUL", prefix: "cpx\x00_", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := apikey.NewFormat(tt.prefix)
			if tt.wantErr {
				require.Error(t, err)
				assert.Equal(t, apikey.Format{}, f)
				assert.Panics(t, func() { apikey.MustFormat(tt.prefix) })
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.prefix, f.Prefix())
			assert.Equal(t, len(tt.prefix)+randomLen+sumLen, f.Len())
			key, err := f.Generate()
			require.NoError(t, err)
			assert.NoError(t, f.Parse(key))
		})
	}
}

func TestGenerate(t *testing.T) {
	const n = 2000
	seen := make(map[string]bool, n)
	counts := map[byte]int{}
	for range n {
		key, err := testFormat.Generate()
		require.NoError(t, err)
		require.Len(t, key, testFormat.Len())
		require.True(t, wellFormed(testPrefix, key), "Generate made %q", key)
		require.NoError(t, testFormat.Parse(key))
		require.False(t, seen[key], "duplicate key")
		seen[key] = true
		for i := len(testPrefix); i < len(testPrefix)+randomLen; i++ {
			counts[key[i]]++
		}
	}
	// Every base62 character turns up in the random part, none wildly more
	// or less often than the 2000*30/62 ≈ 968 expected (σ ≈ 31).
	require.Len(t, counts, len(base62))
	for c, k := range counts {
		assert.True(t, k > 700 && k < 1250, "character %q seen %d times", c, k)
	}
}

func TestGenerateZeroFormat(t *testing.T) {
	key, err := apikey.Format{}.Generate()
	assert.Error(t, err)
	assert.Empty(t, key)
}

func TestParse(t *testing.T) {
	random := "0123456789ABCDEFGHIJabcdefghij"
	good := makeKey(random)
	require.Len(t, good, testFormat.Len())
	sum := good[len(good)-sumLen:]
	tests := []struct {
		name string
		key  string
		want error
	}{
		{name: "good", key: good},
		{name: "another good", key: makeKey(strings.Repeat("z", randomLen))},
		{name: "empty", key: "", want: apikey.ErrPrefix},
		{name: "prefix only", key: testPrefix, want: apikey.ErrLength},
		{name: "wrong prefix", key: "cpx_test." + random + sum, want: apikey.ErrPrefix},
		{name: "prefix case", key: "CPX_LIVE." + random + sum, want: apikey.ErrPrefix},
		{name: "no prefix", key: random + sum, want: apikey.ErrPrefix},
		{name: "short prefix", key: "cpx", want: apikey.ErrPrefix},
		{name: "one short", key: good[:len(good)-1], want: apikey.ErrLength},
		{name: "one long", key: good + "0", want: apikey.ErrLength},
		{name: "trailing newline", key: good + "\n", want: apikey.ErrLength},
		{name: "trailing CRLF", key: good + "\r\n", want: apikey.ErrLength},
		{name: "leading space", key: " " + good, want: apikey.ErrPrefix},
		{name: "dash in random", key: testPrefix + "-" + random[1:] + sum, want: apikey.ErrCharset},
		{name: "NUL in random", key: testPrefix + random[:29] + "\x00" + sum, want: apikey.ErrCharset},
		{name: "non-ASCII in checksum", key: testPrefix + random + sum[:4] + "é", want: apikey.ErrCharset},
		{name: "bad checksum", key: flip(good, len(good)-1), want: apikey.ErrChecksum},
		{name: "checksum of another key", key: testPrefix + random + refChecksum(strings.Repeat("z", randomLen)), want: apikey.ErrChecksum},
		{name: "typo in random", key: flip(good, len(testPrefix)+3), want: apikey.ErrChecksum},
		{name: "case changed", key: testPrefix + strings.ToLower(random) + sum, want: apikey.ErrChecksum},
		{name: "all zero", key: testPrefix + strings.Repeat("0", randomLen+sumLen), want: apikey.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testFormat.Parse(tt.key)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			if len(tt.key) > 8 {
				assert.NotContains(t, err.Error(), tt.key[len(tt.key)-8:], "errors never carry the key")
			}
		})
	}
	assert.ErrorIs(t, apikey.Format{}.Parse(good), apikey.ErrPrefix, "the zero Format accepts nothing")
	assert.ErrorIs(t, apikey.Format{}.Parse(""), apikey.ErrPrefix)
}

func TestParseDoesNotAllocate(t *testing.T) {
	good, err := testFormat.Generate()
	require.NoError(t, err)
	inputs := []string{
		good,
		good[:len(good)-1] + "!",    // charset
		flip(good, len(good)-1),     // checksum
		"",                          // prefix
		"cpx_live.short",            // length
		strings.Repeat("x", 10_000), // prefix, long
	}
	var errs int
	allocs := testing.AllocsPerRun(100, func() {
		errs = 0
		for _, k := range inputs {
			if testFormat.Parse(k) != nil {
				errs++
			}
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, len(inputs)-1, errs)
}

func TestLast4(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "cpx_live.abcdefWXYZ", want: "WXYZ"},
		{in: "abcd", want: "abcd"},
		{in: "abc", want: "abc"},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, apikey.Last4(tt.in))
		})
	}
}
