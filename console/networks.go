package console

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// parseNetworks reads the allowed networks field: one CIDR or address per
// line (spaces and commas separate too), blank lines ignored, as
// [admin.ParseCIDRs] takes them. It returns the networks, or a message
// for the field that names the first entry it cannot read.
func parseNetworks(text string) ([]netip.Prefix, string) {
	entries := strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
	if len(entries) > admin.MaxAllowedNetworks {
		return nil, "Give at most " + itoa(admin.MaxAllowedNetworks) + " networks."
	}
	ps := make([]netip.Prefix, 0, len(entries))
	for _, s := range entries {
		p, ok := store.ParseNetwork(s)
		if !ok {
			return nil, "“" + clip(s, 60) + "” is not a network such as 10.0.0.0/8 or 2001:db8::/32, or a single address."
		}
		ps = append(ps, p)
	}
	ps, _ = store.NormalizeNetworks(ps) // each entry is normalized already: this drops duplicates
	return ps, ""
}

// networksText is the field's value for networks: one a line.
func networksText(ps []netip.Prefix) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
