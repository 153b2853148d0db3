package gatehouse_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse-go/gatehouse"
)

func TestCreditsValidate(t *testing.T) {
	tests := []struct {
		name string
		c    gatehouse.Credits
		ok   bool
	}{
		{"no refill", gatehouse.Credits{Remaining: 5}, true},
		{"none left, no refill", gatehouse.Credits{}, true},
		{"daily", gatehouse.Credits{Remaining: 5, Refill: 10, Interval: gatehouse.CreditsDaily}, true},
		{"monthly", gatehouse.Credits{Refill: 10, Interval: gatehouse.CreditsMonthly}, true},
		{"negative remaining", gatehouse.Credits{Remaining: -1}, false},
		{"negative refill", gatehouse.Credits{Refill: -1, Interval: gatehouse.CreditsDaily}, false},
		{"refill without interval", gatehouse.Credits{Refill: 10}, false},
		{"interval without refill", gatehouse.Credits{Interval: gatehouse.CreditsDaily}, false},
		{"unknown interval", gatehouse.Credits{Refill: 1, Interval: "week"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ok, tc.c.Validate() == nil)
		})
	}
}

func TestCreditsPeriods(t *testing.T) {
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	east := time.FixedZone("UTC+9", 9*3600)
	tests := []struct {
		name        string
		interval    gatehouse.CreditInterval
		at          time.Time
		start, next time.Time
	}{
		{"day", gatehouse.CreditsDaily, utc(2031, 3, 4, 5), utc(2031, 3, 4, 0), utc(2031, 3, 5, 0)},
		{"day at midnight", gatehouse.CreditsDaily, utc(2031, 3, 4, 0), utc(2031, 3, 4, 0), utc(2031, 3, 5, 0)},
		{"day in another zone is UTC's", gatehouse.CreditsDaily, time.Date(2031, 3, 5, 2, 0, 0, 0, east), utc(2031, 3, 4, 0), utc(2031, 3, 5, 0)},
		{"month", gatehouse.CreditsMonthly, utc(2031, 1, 31, 23), utc(2031, 1, 1, 0), utc(2031, 2, 1, 0)},
		{"December", gatehouse.CreditsMonthly, utc(2031, 12, 15, 1), utc(2031, 12, 1, 0), utc(2032, 1, 1, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := gatehouse.Credits{Remaining: 1, Refill: 7, Interval: tc.interval, Since: tc.start.Add(-time.Second)}
			assert.True(t, tc.start.Equal(c.PeriodStart(tc.at)), "start %v", c.PeriodStart(tc.at))
			assert.True(t, tc.next.Equal(c.NextRefill(tc.at)), "next %v", c.NextRefill(tc.at))
			assert.Equal(t, int64(7), c.At(tc.at), "a period began since Since")
			c.Since = tc.start
			assert.Equal(t, int64(1), c.At(tc.at), "no period began since Since")
		})
	}
	never := gatehouse.Credits{Remaining: 3, Since: utc(2031, 1, 1, 0)}
	assert.True(t, never.PeriodStart(utc(2040, 1, 1, 0)).IsZero())
	assert.True(t, never.NextRefill(utc(2040, 1, 1, 0)).IsZero())
	assert.Equal(t, int64(3), never.At(utc(2040, 1, 1, 0)))
}

func TestCreditsError(t *testing.T) {
	err := error(&gatehouse.CreditsError{})
	assert.ErrorIs(t, err, gatehouse.ErrCreditsExhausted)
	assert.ErrorIs(t, err, gatehouse.ErrRateLimited, "handlers that know only rate limits answer 429")
	assert.False(t, errors.Is(err, gatehouse.ErrUnavailable))
}

func TestAllowsAddr(t *testing.T) {
	p := &gatehouse.Principal{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.0.0.1", false},
		{"::ffff:10.1.2.3", true},
		{"2001:db8::1", true},
		{"2001:db8::1%eth0", true},
		{"2001:db9::1", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			assert.Equal(t, tc.want, p.AllowsAddr(netip.MustParseAddr(tc.addr)))
		})
	}
	assert.False(t, p.AllowsAddr(netip.Addr{}), "an unknown address is outside")
	assert.True(t, (&gatehouse.Principal{}).AllowsAddr(netip.Addr{}), "no networks: anywhere")
}
