package ratelimit

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sfItem matches one structured-field list member as this package writes
// them: a string and integer or byte-sequence parameters (RFC 9651).
var sfItem = regexp.MustCompile(`^"[A-Za-z0-9_.-]+"(;[a-z*][a-z0-9_.*-]*=([0-9]{1,15}|:[A-Za-z0-9+/]*={0,2}:))+$`)

func TestSetHeaders(t *testing.T) {
	p := MustPolicy("default", 100, time.Minute, 0)
	burst := MustPolicy("api.v1", 1000, time.Hour, 50)
	tests := []struct {
		name       string
		d          Decision
		wantPolicy string
		wantLimit  string
	}{
		{"allowed", Decision{Allowed: true, Policy: p, Limit: 100, Remaining: 42, Reset: 34800 * time.Millisecond},
			`"default";q=100;w=60`, `"default";r=42;t=35`},
		{"refused: t is the retry delay", Decision{Policy: p, Limit: 100, Reset: time.Minute, RetryAfter: 1500 * time.Millisecond},
			`"default";q=100;w=60`, `"default";r=0;t=2`},
		{"full bucket", Decision{Allowed: true, Policy: p, Limit: 100, Remaining: 100},
			`"default";q=100;w=60`, `"default";r=100;t=0`},
		{"burst other than the limit", Decision{Allowed: true, Policy: burst, Limit: 1000, Remaining: 7, Reset: time.Nanosecond},
			`"api.v1";q=1000;w=3600;gatehouse-burst=50`, `"api.v1";r=7;t=1`},
		{"negative remaining is clamped", Decision{Policy: p, Remaining: -3},
			`"default";q=100;w=60`, `"default";r=0;t=0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			SetHeaders(h, tt.d)
			assert.Equal(t, tt.wantPolicy, h.Get("RateLimit-Policy"))
			assert.Equal(t, tt.wantLimit, h.Get("RateLimit"))
			assert.Regexp(t, sfItem, h.Get("RateLimit-Policy"))
			assert.Regexp(t, sfItem, h.Get("RateLimit"))
		})
	}
	h := http.Header{}
	SetHeaders(h, Decision{Allowed: true})
	assert.Empty(t, h, "nothing without a policy")
}

func TestPartitionKey(t *testing.T) {
	p := MustPolicy("default", 10, time.Minute, 0)
	secret := []byte("0123456789abcdef0123456789abcdef")
	hasher := func(secret []byte) *store.Hasher {
		h, err := store.NewHasher(secret)
		require.NoError(t, err)
		return h
	}
	h := hasher(secret)
	k := NewKey(ScopeKeyID, "key_123")
	pk := partitionKey(h, p, k)
	assert.Equal(t, pk, partitionKey(h, p, k), "stable")
	assert.NotEqual(t, pk, partitionKey(h, p, NewKey(ScopeKeyID, "key_124")))
	assert.NotEqual(t, pk, partitionKey(h, p, NewKey(ScopePrincipal, "key_123")))
	assert.NotEqual(t, pk, partitionKey(hasher([]byte("another secret, 16+")), p, k))
	assert.NotEqual(t, pk, partitionKey(h, MustPolicy("other", 10, time.Minute, 0), k))

	// It is HMAC-SHA-256 of "name\x00scope:value", computed plainly here,
	// for an ID, an address, and an input longer than the stack buffer.
	for _, k := range []Key{k, AddrKey(netip.MustParseAddr("2001:db8::1")), NewKey(ScopeKeyID, strings.Repeat("x", 200))} {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(p.name + "\x00" + k.String()))
		got := partitionKey(h, p, k)
		assert.Equal(t, mac.Sum(nil)[:16], got[:], k.String())
	}
	addr := AddrKey(netip.MustParseAddr("203.0.113.7"))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = partitionKey(h, p, addr) }), "no allocation per request")

	hdr := http.Header{}
	setHeaders(hdr, Decision{Allowed: true, Policy: p, Remaining: 3, Reset: time.Second}, pk[:])
	for _, name := range []string{"RateLimit-Policy", "RateLimit"} {
		v := hdr.Get(name)
		assert.Regexp(t, sfItem, v)
		assert.Regexp(t, `;pk=:[A-Za-z0-9+/]{22}==:$`, v)
		assert.NotContains(t, v, "key_123")
	}
}
