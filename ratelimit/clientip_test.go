package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testProxies = []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"}

func request(peer string, header string, values ...string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = peer
	for _, v := range values {
		r.Header.Add(header, v)
	}
	return r
}

func TestClientIPXForwardedFor(t *testing.T) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies})
	tests := []struct {
		name  string
		peer  string
		xff   []string
		want  string // unmasked address
		wantK string // key value, masked
	}{
		{"direct client, no header", "203.0.113.7:5000", nil, "203.0.113.7", "203.0.113.7"},
		{"spoofed header from an untrusted peer is ignored", "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7", "203.0.113.7"},
		{"spoofed chain from an untrusted peer is ignored", "203.0.113.7:5000", []string{"10.0.0.1, 1.2.3.4"}, "203.0.113.7", "203.0.113.7"},
		{"trusted proxy, one entry", "10.0.0.2:443", []string{"203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"leftmost entry forged by the client is not believed", "10.0.0.2:443", []string{"1.2.3.4, 203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"two proxies, walked from the right", "10.0.0.2:443", []string{"1.2.3.4, 203.0.113.7, 10.9.9.9"}, "203.0.113.7", "203.0.113.7"},
		{"single trusted address", "192.0.2.1:443", []string{"203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"neighbour of a single trusted address is not trusted", "192.0.2.2:443", []string{"203.0.113.7"}, "192.0.2.2", "192.0.2.2"},
		{"several header lines, last one last", "10.0.0.2:443", []string{"1.2.3.4", "203.0.113.7, 10.1.1.1"}, "203.0.113.7", "203.0.113.7"},
		{"trusted proxy without the header", "10.0.0.2:443", nil, "10.0.0.2", "10.0.0.2"},
		{"only trusted entries: the leftmost trusted hop", "10.0.0.2:443", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5", "10.0.0.5"},
		{"garbage stops the walk at the proxy that added it", "10.0.0.2:443", []string{"203.0.113.7, garbage"}, "10.0.0.2", "10.0.0.2"},
		{"garbage behind a second proxy", "10.0.0.2:443", []string{"203.0.113.7, garbage, 10.0.0.9"}, "10.0.0.9", "10.0.0.9"},
		{"unknown", "10.0.0.2:443", []string{"unknown"}, "10.0.0.2", "10.0.0.2"},
		{"empty elements are skipped", "10.0.0.2:443", []string{" , ,203.0.113.7,, "}, "203.0.113.7", "203.0.113.7"},
		{"empty header value", "10.0.0.2:443", []string{""}, "10.0.0.2", "10.0.0.2"},
		{"entry with a port", "10.0.0.2:443", []string{"203.0.113.7:8080"}, "203.0.113.7", "203.0.113.7"},
		{"IPv6 entry, keyed by its /64", "10.0.0.2:443", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"bracketed IPv6 with a port", "10.0.0.2:443", []string{"[2001:db8:1:2::9]:443"}, "2001:db8:1:2::9", "2001:db8:1:2::"},
		{"bracketed IPv6 without a port", "10.0.0.2:443", []string{"[2001:db8:1:2::9]"}, "2001:db8:1:2::9", "2001:db8:1:2::"},
		{"IPv4-mapped entry is unmapped", "10.0.0.2:443", []string{"::ffff:203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"IPv4-mapped trusted entry is trusted", "10.0.0.2:443", []string{"203.0.113.7, ::ffff:10.0.0.3"}, "203.0.113.7", "203.0.113.7"},
		{"zone is dropped", "10.0.0.2:443", []string{"fe80::1%eth0"}, "fe80::1", "fe80::"},
		{"IPv6 trusted proxy", "[2001:db8:ffff::1]:443", []string{"203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"IPv4-mapped peer is unmapped and trusted", "[::ffff:10.0.0.2]:443", []string{"203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"CR LF in an entry", "10.0.0.2:443", []string{"203.0.113.7\r\n, 1.2.3.4"}, "1.2.3.4", "1.2.3.4"},
		{"NUL in the rightmost entry", "10.0.0.2:443", []string{"203.0.113.7, 1.2.3.4\x00"}, "10.0.0.2", "10.0.0.2"},
		{"non-ASCII", "10.0.0.2:443", []string{"203.0.113.7, ２０３.0.113.8"}, "10.0.0.2", "10.0.0.2"},
		{"semicolon junk", "10.0.0.2:443", []string{"for=1.2.3.4"}, "10.0.0.2", "10.0.0.2"},
		{"quoted address is not an X-Forwarded-For entry", "10.0.0.2:443", []string{`"1.2.3.4"`}, "10.0.0.2", "10.0.0.2"},
		{"address with a trailing dot", "10.0.0.2:443", []string{"1.2.3.4."}, "10.0.0.2", "10.0.0.2"},
		{"octal-looking address", "10.0.0.2:443", []string{"010.0.0.1"}, "10.0.0.2", "10.0.0.2"},
		{"too many trusted hops", "10.0.0.2:443", []string{"203.0.113.7, " + strings.Repeat("10.0.0.7, ", 40) + "10.0.0.8"}, "10.0.0.7", "10.0.0.7"},
		{"a megabyte of client entries: the rightmost wins", "10.0.0.2:443", []string{strings.Repeat("1.1.1.1,", 1<<17) + "203.0.113.7"}, "203.0.113.7", "203.0.113.7"},
		{"a megabyte of commas", "10.0.0.2:443", []string{"203.0.113.7" + strings.Repeat(",", 1<<20)}, "203.0.113.7", "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.peer, "X-Forwarded-For", tt.xff...)
			a, ok := c.Addr(r)
			require.True(t, ok)
			assert.Equal(t, tt.want, a.String())
			k, err := c.Key(r)
			require.NoError(t, err)
			assert.Equal(t, ScopeIP, k.Scope())
			assert.Equal(t, tt.wantK, k.Value())
		})
	}
}

func TestClientIPForwarded(t *testing.T) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies, Header: "forwarded", IPv6Prefix: 128})
	tests := []struct {
		name string
		peer string
		fwd  []string
		want string
	}{
		{"spoofed from an untrusted peer is ignored", "203.0.113.7:1", []string{"for=1.2.3.4"}, "203.0.113.7"},
		{"simple", "10.0.0.2:443", []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"},
		{"parameter name in another case", "10.0.0.2:443", []string{"For=192.0.2.60"}, "192.0.2.60"},
		{"for not first", "10.0.0.2:443", []string{"proto=https; for=192.0.2.60"}, "192.0.2.60"},
		{"quoted IPv6 with a port", "10.0.0.2:443", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"quoted IPv4", "10.0.0.2:443", []string{`for="192.0.2.60"`}, "192.0.2.60"},
		{"walked from the right", "10.0.0.2:443", []string{"for=1.2.3.4, for=192.0.2.60, for=10.0.0.9"}, "192.0.2.60"},
		{"several lines", "10.0.0.2:443", []string{"for=1.2.3.4", "for=192.0.2.60"}, "192.0.2.60"},
		{"unknown node", "10.0.0.2:443", []string{"for=unknown"}, "10.0.0.2"},
		{"obfuscated node", "10.0.0.2:443", []string{"for=_hidden"}, "10.0.0.2"},
		{"no for parameter", "10.0.0.2:443", []string{"proto=https;by=10.0.0.2"}, "10.0.0.2"},
		{"unbalanced quote", "10.0.0.2:443", []string{`for="192.0.2.60`}, "10.0.0.2"},
		{"escape in a quoted string", "10.0.0.2:443", []string{`for="\192.0.2.60"`}, "10.0.0.2"},
		{"empty value", "10.0.0.2:443", []string{"for="}, "10.0.0.2"},
		{"X-Forwarded-For is not read", "10.0.0.2:443", nil, "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.peer, "Forwarded", tt.fwd...)
			r.Header.Set("X-Forwarded-For", "198.51.100.1")
			a, ok := c.Addr(r)
			require.True(t, ok)
			assert.Equal(t, tt.want, a.String())
		})
	}
}

func TestClientIPPeerNotAnAddress(t *testing.T) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies})
	for _, peer := range []string{"", "@", "/run/app.sock", "localhost:80", "1.2.3.4:80:90"} {
		t.Run(peer, func(t *testing.T) {
			r := request(peer, "X-Forwarded-For", "203.0.113.7")
			_, ok := c.Addr(r)
			assert.False(t, ok)
			_, err := c.Key(r)
			assert.ErrorIs(t, err, ErrNoKey)
			_, err = ByRemoteAddr(r)
			assert.ErrorIs(t, err, ErrNoKey)
		})
	}
}

func TestClientIPPrefixes(t *testing.T) {
	c := MustClientIP(ClientIPConfig{IPv4Prefix: 24, IPv6Prefix: 48})
	k, err := c.Key(request("203.0.113.77:1", ""))
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.0", k.Value())
	k, err = c.Key(request("[2001:db8:1:2::1]:1", ""))
	require.NoError(t, err)
	assert.Equal(t, "2001:db8:1::", k.Value())
	a, ok := k.Addr()
	assert.True(t, ok)
	assert.Equal(t, netip.MustParseAddr("2001:db8:1::"), a)

	k, err = ByRemoteAddr(request("[2001:db8:1:2:3:4:5:6]:1", "X-Forwarded-For", "1.2.3.4"))
	require.NoError(t, err)
	assert.Equal(t, "ip:2001:db8:1:2::", k.String(), "ByRemoteAddr reads no header and keys IPv6 by /64")
}

func TestNewClientIPErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClientIPConfig
	}{
		{"unknown header", ClientIPConfig{Header: "X-Real-IP"}},
		{"IPv4 prefix too long", ClientIPConfig{IPv4Prefix: 33}},
		{"IPv4 prefix negative", ClientIPConfig{IPv4Prefix: -1}},
		{"IPv6 prefix too long", ClientIPConfig{IPv6Prefix: 129}},
		{"not an address", ClientIPConfig{TrustedProxies: []string{"proxy.internal"}}},
		{"bad prefix", ClientIPConfig{TrustedProxies: []string{"10.0.0.0/33"}}},
		{"empty entry", ClientIPConfig{TrustedProxies: []string{""}}},
		{"mapped prefix too short", ClientIPConfig{TrustedProxies: []string{"::ffff:0:0/80"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClientIP(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Panics(t, func() { MustClientIP(tt.cfg) })
		})
	}
	c, err := NewClientIP(ClientIPConfig{TrustedProxies: []string{"::ffff:10.0.0.0/104"}})
	require.NoError(t, err)
	a, _ := c.Addr(request("10.1.2.3:1", "X-Forwarded-For", "203.0.113.7"))
	assert.Equal(t, "203.0.113.7", a.String(), "an IPv4-mapped prefix trusts the IPv4 addresses")
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies})
	r := request("10.0.0.2:443", "X-Forwarded-For", "1.2.3.4, 2001:db8:1:2::9, 10.0.0.3")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Key(r); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// fuzzClientIP checks the properties every header walk must have: it never
// panics; a header from an untrusted peer is ignored; and what comes to the
// left of the entries that decided (an earlier header line, written by the
// client or a proxy further away) never changes an untrusted result.
func fuzzClientIP(t *testing.T, c *ClientIP, header, left, h string) {
	untrusted := request("203.0.113.7:1", header, h)
	if a, ok := c.Addr(untrusted); !ok || a.String() != "203.0.113.7" {
		t.Fatalf("untrusted peer: got %v", a)
	}
	r := request("10.0.0.2:1", header, h)
	a, ok := c.Addr(r)
	if !ok || !a.IsValid() || a.Zone() != "" || a.Is4In6() {
		t.Fatalf("trusted peer: got %v, %v", a, ok)
	}
	if _, err := c.Key(r); err != nil {
		t.Fatal(err)
	}
	if c.isTrusted(a) {
		return // the walk ended on a trusted hop: earlier lines may decide
	}
	r2 := request("10.0.0.2:1", header, left, h)
	if b, _ := c.Addr(r2); b != a {
		t.Fatalf("an earlier line %q changed the client from %v to %v", left, a, b)
	}
}

func FuzzClientIPXForwardedFor(f *testing.F) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies})
	f.Add("1.2.3.4", "203.0.113.9, 10.0.0.3")
	f.Add("", "[2001:db8::1]:80, ::ffff:10.1.1.1")
	f.Add("10.0.0.1", "unknown, ,,fe80::1%eth0")
	f.Add("x", "203.0.113.9:99999")
	f.Fuzz(func(t *testing.T, left, h string) { fuzzClientIP(t, c, "X-Forwarded-For", left, h) })
}

func FuzzClientIPForwarded(f *testing.F) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: testProxies, Header: "Forwarded"})
	f.Add("for=1.2.3.4", "for=192.0.2.60;proto=http;by=203.0.113.43")
	f.Add("", `for="[2001:db8:cafe::17]:4711", For=10.0.0.3`)
	f.Add("for=unknown", `for=_x;for="\"1.2.3.4"`)
	f.Add("", `proto=https;for="192.0.2.1`)
	f.Fuzz(func(t *testing.T, left, h string) { fuzzClientIP(t, c, "Forwarded", left, h) })
}
