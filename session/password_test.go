package session

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashVerify(t *testing.T) {
	h, err := NewHasher(Params{})
	require.NoError(t, err)
	assert.Equal(t, DefaultParams, h.Params())

	hash, err := h.Hash(testPassword)
	require.NoError(t, err)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, hash)
	other, err := h.Hash(testPassword)
	require.NoError(t, err)
	assert.NotEqual(t, hash, other, "a fresh salt every time")

	rehash, err := h.Verify(testPassword, hash)
	require.NoError(t, err)
	assert.False(t, rehash)
	_, err = h.Verify(testPassword+"!", hash)
	assert.ErrorIs(t, err, ErrMismatch)
	_, err = h.Verify("", hash)
	assert.ErrorIs(t, err, ErrMismatch)
}

func TestVerifyNeedsRehash(t *testing.T) {
	weak := testHasher(t, fastParams)
	hash, err := weak.Hash(testPassword)
	require.NoError(t, err)
	tests := []struct {
		name string
		p    Params
		want bool
	}{
		{"same parameters", fastParams, false},
		{"more memory", Params{MemoryKiB: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"more passes", Params{MemoryKiB: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"more threads", Params{MemoryKiB: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		{"longer key", Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64}, true},
		{"weaker hasher", Params{MemoryKiB: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rehash, err := testHasher(t, tt.p).Verify(testPassword, hash)
			require.NoError(t, err, "parameters come from the hash, not the hasher")
			assert.Equal(t, tt.want, rehash)
		})
	}
}

func TestPasswordTooLong(t *testing.T) {
	calls := countArgon(t)
	h := testHasher(t, fastParams)
	hash, err := h.Hash("x")
	require.NoError(t, err)
	calls.Store(0)

	long := strings.Repeat("a", MaxPasswordLength+1)
	_, err = h.Hash(long)
	assert.ErrorIs(t, err, ErrTooLong)
	_, err = h.Verify(long, hash)
	assert.ErrorIs(t, err, ErrTooLong)
	assert.Zero(t, calls.Load(), "refused before argon2id")

	_, err = h.Verify(strings.Repeat("a", MaxPasswordLength), hash)
	assert.ErrorIs(t, err, ErrMismatch, "exactly the maximum is allowed")

	h.VerifyDummy(strings.Repeat("a", 1<<20))
	assert.EqualValues(t, 2, calls.Load(), "the dummy does the work of one verification")
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"zero is the default", Params{}, true},
		{"default", DefaultParams, true},
		{"stronger", Params{MemoryKiB: 64 << 10, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}, true},
		{"too little memory", Params{MemoryKiB: 19<<10 - 1, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{"one pass", Params{MemoryKiB: 19 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{"no threads", Params{MemoryKiB: 19 << 10, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32}, false},
		{"short salt", Params{MemoryKiB: 19 << 10, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}, false},
		{"short key", Params{MemoryKiB: 19 << 10, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 8}, false},
		{"absurd memory", Params{MemoryKiB: 8 << 20, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			assert.Equal(t, tt.ok, err == nil, "%v", err)
			if !tt.ok {
				_, err = NewHasher(tt.p)
				assert.Error(t, err)
			}
		})
	}
}

func TestDecodePHCRejects(t *testing.T) {
	h := testHasher(t, fastParams)
	good, err := h.Hash(testPassword)
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2b$10$abcdefghijklmnopqrstuuJ4Kx8W3N3zVnS6R8Q1v0Zq9WcW1yq6e"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"old version", strings.Replace(good, "v=19", "v=16", 1)},
		{"missing part", strings.Join(parts[:5], "$")},
		{"extra part", good + "$x"},
		{"unknown parameter", strings.Replace(good, "p=1", "q=1", 1)},
		{"parameter without value", strings.Replace(good, "p=1", "p", 1)},
		{"negative", strings.Replace(good, "t=1", "t=-1", 1)},
		{"huge memory", strings.Replace(good, "m=64", "m=99999999", 1)},
		{"zero passes", strings.Replace(good, "t=1", "t=0", 1)},
		{"many passes", strings.Replace(good, "t=1", "t=1000", 1)},
		{"256 threads", strings.Replace(good, "p=1", "p=256", 1)},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!!$" + parts[5]},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + parts[5]},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$YWJj"},
		{"too long", good + strings.Repeat("A", 600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Verify(testPassword, tt.hash)
			assert.True(t, errors.Is(err, ErrHashFormat), "%v", err)
		})
	}
}
