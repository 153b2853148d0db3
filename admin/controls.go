package admin

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// MaxAllowedNetworks bounds the allowed networks of one key.
const MaxAllowedNetworks = 64

// CreditsJSON is a key's usage credits in the management API:
// {"remaining": 100, "refill": 100, "interval": "day"}. Refill and interval
// are given together or not at all; interval is "day" or "month" (periods
// start at midnight UTC, and on the first of the month).
type CreditsJSON struct {
	Remaining int64  `json:"remaining"`
	Refill    int64  `json:"refill,omitempty"`
	Interval  string `json:"interval,omitempty"`
	// RefillsAt is when the next refill happens; absent without refill.
	// Output only.
	RefillsAt *time.Time `json:"refills_at,omitempty"`
}

// Controls are the per-key controls of a create or update request: a nil
// field is left as it is (on create: none).
type Controls struct {
	// AllowedNetworks, when set, replaces the key's allowed networks; an
	// empty list removes them.
	AllowedNetworks *[]netip.Prefix
	// Credits, when set, replaces the key's credits: their count starts
	// again from Remaining, and Remaining 0 (the zero Credits too) is a
	// key with no use left until a refill.
	Credits *gatehouse.Credits
	// RemoveCredits removes the key's credits (unlimited uses). It goes
	// without Credits.
	RemoveCredits bool
}

const (
	msgCIDRs       = "must be an array of at most 64 networks in CIDR notation, such as 10.0.0.0/8 or 2001:db8::/32, or single addresses; an IPv4-mapped network (::ffff:10.0.0.0/104) needs /96 or longer"
	msgCreditsBoth = "give credits or remove them, not both"
	msgCredits     = `must be null or an object {"remaining": n, "refill": n, "interval": "day" or "month"} with whole numbers from 0; refill and interval go together`
)

// ParseCIDRs reads allowed networks as the API and the CLI take them: a
// CIDR ("10.0.0.0/8") or a single address ("192.0.2.7", meaning /32, or
// /128 for IPv6). Host bits are cleared (10.1.2.3/8 is 10.0.0.0/8); zones
// and duplicates are refused and dropped. It reports false for anything
// else, or more than [MaxAllowedNetworks].
func ParseCIDRs(ss []string) ([]netip.Prefix, bool) {
	if len(ss) > MaxAllowedNetworks {
		return nil, false
	}
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, ok := store.ParseNetwork(strings.TrimSpace(s))
		if !ok {
			return nil, false
		}
		out = append(out, p)
	}
	return store.NormalizeNetworks(out)
}

// parseCIDRsJSON reads the allowed_cidrs member: absent, null or [] (none),
// or an array of strings.
func parseCIDRsJSON(v *ValidationError, raw json.RawMessage) *[]netip.Prefix {
	if len(raw) == 0 {
		return nil
	}
	var ss []string
	if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &ss); err != nil {
			v.Fields["allowed_cidrs"] = msgCIDRs
			return nil
		}
	}
	ps, ok := ParseCIDRs(ss)
	if !ok {
		v.Fields["allowed_cidrs"] = msgCIDRs
		return nil
	}
	return &ps
}

// parseControlsJSON reads the allowed_cidrs and credits members of a body.
func parseControlsJSON(v *ValidationError, cidrs, credits json.RawMessage) Controls {
	c := Controls{AllowedNetworks: parseCIDRsJSON(v, cidrs)}
	c.Credits, c.RemoveCredits = parseCreditsJSON(v, credits)
	return c
}

// parseCreditsJSON reads the credits member: absent (nil: unchanged), null
// (remove: none), or a [CreditsJSON] ({"remaining": 0} is no use left, not
// none).
func parseCreditsJSON(v *ValidationError, raw json.RawMessage) (c *gatehouse.Credits, remove bool) {
	if len(raw) == 0 {
		return nil, false
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, true
	}
	var cj CreditsJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cj); err != nil || cj.RefillsAt != nil {
		v.Fields["credits"] = msgCredits
		return nil, false
	}
	c = &gatehouse.Credits{Remaining: cj.Remaining, Refill: cj.Refill, Interval: gatehouse.CreditInterval(cj.Interval)}
	if c.Validate() != nil {
		v.Fields["credits"] = msgCredits
		return nil, false
	}
	return c, false
}

// creditsJSON is c for a response at now: the count as of now when a
// refill has come due since it was set (the record keeps it as of Since).
func creditsJSON(c *gatehouse.Credits, now time.Time) *CreditsJSON {
	if c == nil {
		return nil
	}
	cj := &CreditsJSON{Remaining: c.At(now), Refill: c.Refill, Interval: string(c.Interval)}
	if next := c.NextRefill(now); !next.IsZero() {
		cj.RefillsAt = &next
	}
	return cj
}

func cidrStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// applyControls checks c for a key on behalf of a and sets it on u. Only
// an admin changes the credits of an existing key: they are a quota, which
// the key's owner must not raise. Credits given start counting at now.
func (m *Manager) applyControls(a Actor, c Controls, u *store.KeyUpdate, now time.Time) error {
	u.AllowedNetworks = c.AllowedNetworks
	if c.Credits == nil && !c.RemoveCredits {
		return nil
	}
	if c.Credits != nil && c.RemoveCredits {
		return &ValidationError{Fields: map[string]string{"credits": msgCreditsBoth}}
	}
	if !m.isAdmin(a) {
		return &forbidden{"Changing a key's credits needs the admin scope and an admin level"}
	}
	if c.RemoveCredits {
		u.Credits = &gatehouse.Credits{} // the store's "remove"
		return nil
	}
	cr := *c.Credits
	cr.Since = now // never zero: Remaining 0 is not "remove" for the store
	u.Credits = &cr
	return nil
}
