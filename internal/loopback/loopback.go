// Package loopback tells whether a host names this machine, for the rules
// that allow plain http or plaintext gRPC on loopback only.
package loopback

import (
	"net/netip"
	"strings"
)

// Host reports whether host (a URL's or a dial target's host, with or
// without IPv6 brackets, no port) is "localhost" or a loopback IP address,
// IPv4-mapped forms included.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && a.Unmap().IsLoopback()
}
