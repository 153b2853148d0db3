package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-go/gatehouse/store"
)

// ClientIPConfig configures a [ClientIP]. The zero value keys clients by
// the connection's peer address and reads no header.
type ClientIPConfig struct {
	// TrustedProxies lists the addresses and CIDR prefixes ("10.0.0.0/8",
	// "2001:db8::1") of the reverse proxies in front of the service. The
	// forwarding header is read only on connections from one of them, and
	// only its entries added by them are believed. Default none: the
	// header is never read.
	TrustedProxies []string
	// Header is the forwarding header the proxies set: "X-Forwarded-For"
	// or "Forwarded" (RFC 7239). Default "X-Forwarded-For".
	Header string
	// IPv4Prefix is how many leading bits of an IPv4 address identify a
	// client. Default 32.
	IPv4Prefix int
	// IPv6Prefix is how many leading bits of an IPv6 address identify a
	// client. Default 64: a host usually holds a whole /64, and keying by
	// the full address would give it 2^64 buckets.
	IPv6Prefix int
}

// ClientIP finds the address of the client that sent a request, through
// the reverse proxies it is told to trust, and keys requests by it.
//
// On a connection from an untrusted peer the peer is the client and the
// forwarding header is ignored, whatever it says: anyone can send one. On a
// connection from a trusted proxy, the header's entries are walked from the
// right (the one the nearest proxy added) to the left, skipping trusted
// proxies; the first untrusted address is the client. The leftmost entry,
// which the client wrote itself, is never believed for what it is. An entry
// that is not an address ("unknown", an obfuscated RFC 7239 identifier,
// garbage) stops the walk at the proxy that added it, which is then taken
// as the client. A chain of trusted entries only (or no header) gives the
// last trusted hop.
//
// A ClientIP is immutable and safe for concurrent use. Looking up a
// request whose peer and header entries are addresses does not allocate
// (except for IPv6 addresses with a zone, which net/netip interns).
type ClientIP struct {
	trusted []netip.Prefix
	header  string // canonical header key
	rfc7239 bool
	v4bits  int
	v6bits  int
}

// maxHops bounds how many trusted entries a header walk passes.
const maxHops = 32

// NewClientIP validates cfg and returns a ClientIP.
func NewClientIP(cfg ClientIPConfig) (*ClientIP, error) {
	c := &ClientIP{header: "X-Forwarded-For", v4bits: 32, v6bits: 64}
	switch strings.ToLower(cfg.Header) {
	case "", "x-forwarded-for":
	case "forwarded":
		c.header, c.rfc7239 = "Forwarded", true
	default:
		return nil, errors.New(`ratelimit: client IP: the header must be "X-Forwarded-For" or "Forwarded"`)
	}
	if cfg.IPv4Prefix != 0 {
		if cfg.IPv4Prefix < 1 || cfg.IPv4Prefix > 32 {
			return nil, errors.New("ratelimit: client IP: the IPv4 prefix must be between 1 and 32 bits")
		}
		c.v4bits = cfg.IPv4Prefix
	}
	if cfg.IPv6Prefix != 0 {
		if cfg.IPv6Prefix < 1 || cfg.IPv6Prefix > 128 {
			return nil, errors.New("ratelimit: client IP: the IPv6 prefix must be between 1 and 128 bits")
		}
		c.v6bits = cfg.IPv6Prefix
	}
	trusted, err := ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: client IP: %w", err)
	}
	c.trusted = trusted
	return c, nil
}

// MustClientIP is [NewClientIP] for constant configuration; it panics on an
// invalid one.
func MustClientIP(cfg ClientIPConfig) *ClientIP {
	c, err := NewClientIP(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

var errNoPeer = &wrapped{"ratelimit: the request's peer is not an IP address", ErrNoKey}

// Addr returns the client's address, unmasked. It reports false when the
// connection's peer is not an IP address (a Unix socket).
func (c *ClientIP) Addr(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseHostPort(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if len(c.trusted) == 0 || !c.isTrusted(peer) {
		return peer, true
	}
	return c.walk(r.Header[c.header], peer), true
}

// Key is a [KeyFunc]: the client's address masked to the configured
// prefix, in scope [ScopeIP]. A request whose peer is not an IP address
// gets an error wrapping [ErrNoKey] (503).
func (c *ClientIP) Key(r *http.Request) (Key, error) {
	a, ok := c.Addr(r)
	if !ok {
		return Key{}, errNoPeer
	}
	return AddrKey(c.mask(a)), nil
}

func (c *ClientIP) mask(a netip.Addr) netip.Addr {
	bits := c.v6bits
	if a.Is4() {
		bits = c.v4bits
	}
	if bits == a.BitLen() {
		return a
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a
	}
	return p.Addr()
}

func (c *ClientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// walk goes through the header lines from the last entry of the last line
// to the first, and returns the first address that is not a trusted proxy.
// hop is the last trusted address seen so far (at first the peer).
func (c *ClientIP) walk(lines []string, hop netip.Addr) netip.Addr {
	hops := 0
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.Trim(entry, " \t")
			if entry == "" {
				continue // empty list elements are allowed and ignored
			}
			var a netip.Addr
			var ok bool
			if c.rfc7239 {
				a, ok = forwardedFor(entry)
			} else {
				a, ok = parseHostPort(entry)
			}
			if !ok {
				return hop
			}
			if !c.isTrusted(a) {
				return a
			}
			hop = a
			if hops++; hops >= maxHops {
				return hop
			}
		}
	}
	return hop
}

// parseHostPort reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443", "[2001:db8::1]"),
// unmaps IPv4-mapped IPv6 addresses and drops any zone. It splits the port
// off itself rather than trying netip.ParseAddrPort first, so that a valid
// entry is read without allocating an error on the way.
func parseHostPort(s string) (netip.Addr, bool) {
	host := s
	if s != "" && s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		if strings.IndexByte(host, ':') < 0 {
			return netip.Addr{}, false // only IPv6 goes in brackets
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// One colon: an IPv4 address and a port.
		if !validPort(s[i+1:]) {
			return netip.Addr{}, false
		}
		host = s[:i]
	}
	if host == "" || !isAddrStart(host[0]) {
		return netip.Addr{}, false // "unknown", "_hidden", quotes: no error allocated
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	return a.Unmap(), true
}

func isAddrStart(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':'
}

// validPort reports whether s is a decimal port number, 0 to 65535.
func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// forwardedFor returns the address of the for= parameter of one RFC 7239
// forwarded-element, such as `for=192.0.2.60;proto=http;by=203.0.113.43`
// or `for="[2001:db8:cafe::17]:4711"`. Parameter names are matched without
// regard to case; an element without for=, or whose node is "unknown" or
// an obfuscated identifier, has no address.
func forwardedFor(elem string) (netip.Addr, bool) {
	for elem != "" {
		var pair string
		pair, elem, _ = strings.Cut(elem, ";")
		name, value, ok := strings.Cut(strings.Trim(pair, " \t"), "=")
		if !ok || !strings.EqualFold(name, "for") {
			continue
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
			if strings.IndexByte(value, '\\') >= 0 {
				return netip.Addr{}, false // no address needs an escape
			}
		}
		return parseHostPort(value)
	}
	return netip.Addr{}, false
}

// ParseTrustedProxies reads proxies' addresses and CIDR prefixes ("10.0.0.5",
// "10.0.0.0/8", "fd00::/8"): an address is a prefix of its full length,
// IPv4-mapped IPv6 forms are unmapped, and every prefix is masked. The
// error names the entry's index, never its text.
func ParseTrustedProxies(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range ss {
		p, ok := store.ParseNetwork(s)
		if !ok {
			return nil, fmt.Errorf("trusted proxy %d is not an address or a CIDR prefix (an IPv4-mapped prefix must be at least /96)", i)
		}
		out = append(out, p)
	}
	return out, nil
}
