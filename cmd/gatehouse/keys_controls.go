package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// controlFlags are the per-key control flags of keys create and update:
// --allowed-cidr (repeatable), --credits N and --refill N/day|N/month, and
// for update --no-allowed-cidrs and --no-credits.
type controlFlags struct {
	cidrs            []string
	credits, refill  string
	noCIDRs, noCreds bool
}

func (c *controlFlags) register(fs *flag.FlagSet, update bool) {
	fs.Func("allowed-cidr", "a network the key may be used from (10.0.0.0/8, or an address); repeat for more", func(s string) error {
		c.cidrs = append(c.cidrs, s)
		return nil
	})
	fs.StringVar(&c.credits, "credits", "", "uses the key has (each request spends one); default unlimited")
	fs.StringVar(&c.refill, "refill", "", "what the uses are set back to each day or month, e.g. 100/day or 5000/month (with --credits)")
	if update {
		fs.BoolVar(&c.noCIDRs, "no-allowed-cidrs", false, "remove the allowed networks (any address)")
		fs.BoolVar(&c.noCreds, "no-credits", false, "remove the credits (unlimited)")
	}
}

// networks returns the allowed networks given, nil when none.
func (c *controlFlags) networks() (*[]netip.Prefix, error) {
	switch {
	case c.noCIDRs && len(c.cidrs) > 0:
		return nil, fmt.Errorf("%w: give --allowed-cidr or --no-allowed-cidrs, not both", errUsage)
	case c.noCIDRs:
		return &[]netip.Prefix{}, nil
	case len(c.cidrs) == 0:
		return nil, nil
	}
	var parts []string
	for _, s := range c.cidrs {
		parts = append(parts, strings.Split(s, ",")...)
	}
	ps, ok := admin.ParseCIDRs(parts)
	if !ok || len(ps) == 0 {
		return nil, fmt.Errorf("%w: --allowed-cidr: want networks such as 10.0.0.0/8 or 2001:db8::/32, or addresses (at most %d)", errUsage, admin.MaxAllowedNetworks)
	}
	return &ps, nil
}

// creditsOf returns the credits given, starting at now; the zero Credits
// for --no-credits; nil when none.
func (c *controlFlags) creditsOf(now time.Time) (*gatehouse.Credits, error) {
	switch {
	case c.noCreds && (c.credits != "" || c.refill != ""):
		return nil, fmt.Errorf("%w: give --credits or --no-credits, not both", errUsage)
	case c.noCreds:
		return &gatehouse.Credits{}, nil
	case c.credits == "" && c.refill != "":
		return nil, fmt.Errorf("%w: --refill goes with --credits", errUsage)
	case c.credits == "":
		return nil, nil
	}
	n, err := strconv.ParseInt(c.credits, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: --credits: want a whole number from 0", errUsage)
	}
	cr := &gatehouse.Credits{Remaining: n, Since: now}
	if c.refill != "" {
		if cr.Refill, cr.Interval, err = parseRefill(c.refill); err != nil {
			return nil, fmt.Errorf("%w: --refill: %v", errUsage, err)
		}
	}
	return cr, nil
}

// parseRefill reads "100/day" or "5000/month".
func parseRefill(s string) (int64, gatehouse.CreditInterval, error) {
	n, iv, ok := strings.Cut(s, "/")
	amount, err := strconv.ParseInt(n, 10, 64)
	c := gatehouse.Credits{Refill: amount, Interval: gatehouse.CreditInterval(iv)}
	if !ok || err != nil || amount <= 0 || c.Validate() != nil {
		return 0, "", errors.New("want N/day or N/month with N a whole number from 1, such as 100/day")
	}
	return amount, c.Interval, nil
}

// describeControls is the CLI's one-line summary of a key's controls.
func describeControls(k *store.Key) string {
	nets := "any network"
	if len(k.AllowedNetworks) > 0 {
		ss := make([]string, len(k.AllowedNetworks))
		for i, p := range k.AllowedNetworks {
			ss[i] = p.String()
		}
		nets = "networks " + strings.Join(ss, ",")
	}
	credits := "unlimited uses"
	if c := k.Credits; c != nil {
		credits = strconv.FormatInt(c.Remaining, 10) + " uses"
		if c.Refill > 0 {
			credits += fmt.Sprintf(", refilled to %d each %s", c.Refill, c.Interval)
		}
	}
	return nets + "; " + credits
}
