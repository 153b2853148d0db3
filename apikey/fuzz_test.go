package apikey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
)

// FuzzParseKey checks the key format on arbitrary input:
//   - Parse never panics and accepts exactly the keys the reference rules
//     of format_test.go accept, refusing the rest with one of the four
//     sentinels (never an error that carries the input);
//   - the authenticator never panics and calls the store only for input
//     that Parse accepts: a bad checksum never reaches the store;
//   - a key built around the input's bytes round-trips, and changing any
//     one character of its random part or checksum is a bad checksum;
//   - a generated key parses and is well formed.
func FuzzParseKey(f *testing.F) {
	good, err := testFormat.Generate()
	require.NoError(f, err)
	for _, s := range []string{
		"", testPrefix, good, flip(good, len(good)-1), good[:len(good)-1], good + "0", good + "\n",
		"CPX_LIVE." + good[len(testPrefix):], "cpx_test." + good[len(testPrefix):], good[len(testPrefix):],
		testPrefix + strings.Repeat("0", 36), testPrefix + strings.Repeat("z", 35) + "é",
	} {
		f.Add(s)
	}
	e := newEnv(f, true, apikey.Config{})

	f.Fuzz(func(t *testing.T, in string) {
		err := testFormat.Parse(in)
		if wellFormed(testPrefix, in) {
			require.NoError(t, err, "Parse refused a well-formed key %q", in)
		} else {
			require.Error(t, err, "Parse accepted %q", in)
			require.Contains(t, []error{apikey.ErrPrefix, apikey.ErrLength, apikey.ErrCharset, apikey.ErrChecksum}, err)
		}

		before := e.probe.calls.Load()
		e.cache.InvalidateAll()
		p, verr := e.auth.Verify(context.Background(), in)
		calls := e.probe.calls.Load() - before
		require.Error(t, verr, "nothing was issued in this store")
		require.Nil(t, p)
		require.ErrorIs(t, verr, gatehouse.ErrInvalidToken)
		if err != nil {
			require.Zero(t, calls, "a key that fails Parse never reaches the store")
		} else {
			require.Equal(t, int64(1), calls)
		}

		// A key whose random part is drawn from the input.
		var random [30]byte
		for i := range random {
			b := byte(i)
			if len(in) > 0 {
				b += in[i%len(in)]
			}
			random[i] = base62[int(b)%len(base62)]
		}
		key := makeKey(string(random[:]))
		require.NoError(t, testFormat.Parse(key))
		assert.Equal(t, key[len(key)-4:], apikey.Last4(key))
		for _, i := range []int{len(testPrefix) + len(in)%randomLen, len(testPrefix) + randomLen + len(in)%sumLen} {
			require.ErrorIs(t, testFormat.Parse(flip(key, i)), apikey.ErrChecksum, "changed character %d of %q", i, key)
		}

		gen, err := testFormat.Generate()
		require.NoError(t, err)
		require.NoError(t, testFormat.Parse(gen))
		require.True(t, wellFormed(testPrefix, gen))
	})
}
