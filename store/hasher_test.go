package store_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

func TestHasherSumMatchesStandardLibrary(t *testing.T) {
	secrets := map[string]string{
		"empty":     "",
		"short":     "k",
		"key sized": "cpx_live." + strings.Repeat("A", 36),
		"128 bytes": strings.Repeat("b", 128),
		"129 bytes": strings.Repeat("c", 129),
		"256 bytes": strings.Repeat("d", 256),
		"300 bytes": strings.Repeat("e", 300),
		"binary":    "\x00\xff\x80\n",
	}
	peppers := map[string][]byte{
		"none":      nil,
		"16 bytes":  bytes.Repeat([]byte{0x42}, 16),
		"63 bytes":  bytes.Repeat([]byte{0x43}, 63),
		"64 bytes":  bytes.Repeat([]byte{0x44}, 64),
		"65 bytes":  bytes.Repeat([]byte{0x45}, 65),
		"100 bytes": bytes.Repeat([]byte{0x46}, 100),
	}
	for pname, pepper := range peppers {
		h, err := store.NewHasher(pepper)
		require.NoError(t, err)
		assert.Equal(t, pepper != nil, h.Peppered())
		for sname, secret := range secrets {
			t.Run(pname+"/"+sname, func(t *testing.T) {
				var want []byte
				if pepper == nil {
					s := sha256.Sum256([]byte(secret))
					want = s[:]
				} else {
					m := hmac.New(sha256.New, pepper)
					m.Write([]byte(secret))
					want = m.Sum(nil)
				}
				got := h.Sum(secret)
				assert.Equal(t, want, got[:])
			})
		}
	}
}

func TestHasherPepperMatters(t *testing.T) {
	a, err := store.NewHasher([]byte("pepper-aaaaaaaaaaaaaaaa"))
	require.NoError(t, err)
	b, err := store.NewHasher([]byte("pepper-bbbbbbbbbbbbbbbb"))
	require.NoError(t, err)
	plain, err := store.NewHasher(nil)
	require.NoError(t, err)
	const secret = "cpx_live.secret"
	assert.NotEqual(t, a.Sum(secret), b.Sum(secret))
	assert.NotEqual(t, a.Sum(secret), plain.Sum(secret))
	assert.Equal(t, a.Sum(secret), a.Sum(secret))
}

func TestNewHasher(t *testing.T) {
	tests := []struct {
		name     string
		pepper   []byte
		wantErr  bool
		peppered bool
	}{
		{name: "nil", pepper: nil},
		{name: "empty", pepper: []byte{}},
		{name: "one byte", pepper: []byte{1}, wantErr: true},
		{name: "just too short", pepper: bytes.Repeat([]byte{1}, store.MinPepperLength-1), wantErr: true},
		{name: "shortest", pepper: bytes.Repeat([]byte{1}, store.MinPepperLength), peppered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := store.NewHasher(tt.pepper)
			if tt.wantErr {
				require.Error(t, err)
				assert.Nil(t, h)
				assert.NotContains(t, err.Error(), string(tt.pepper))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.peppered, h.Peppered())
		})
	}
}

func TestHasherCopiesPepper(t *testing.T) {
	for _, n := range []int{16, 100, 200} {
		pepper := bytes.Repeat([]byte{7}, n)
		h, err := store.NewHasher(pepper)
		require.NoError(t, err)
		long := strings.Repeat("s", 200) // takes the hmac.New path
		before, beforeLong := h.Sum("secret"), h.Sum(long)
		for i := range pepper {
			pepper[i] = 8
		}
		assert.Equal(t, before, h.Sum("secret"), "pepper of %d bytes", n)
		assert.Equal(t, beforeLong, h.Sum(long), "pepper of %d bytes", n)
	}
}

func TestNilHasherIsSHA256(t *testing.T) {
	var h *store.Hasher
	assert.False(t, h.Peppered())
	assert.Equal(t, store.Digest(sha256.Sum256([]byte("x"))), h.Sum("x"))
}

func TestHasherSumDoesNotAllocate(t *testing.T) {
	secret := "cpx_live." + strings.Repeat("Z", 36) // 45 bytes, a real key's length
	require.Len(t, secret, 45)
	plain, err := store.NewHasher(nil)
	require.NoError(t, err)
	peppered, err := store.NewHasher(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	for name, h := range map[string]*store.Hasher{"plain": plain, "peppered": peppered} {
		t.Run(name, func(t *testing.T) {
			var d store.Digest
			allocs := testing.AllocsPerRun(100, func() { d = h.Sum(secret) })
			assert.Zero(t, allocs)
			assert.NotEqual(t, store.Digest{}, d)
		})
	}
}
