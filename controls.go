package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// ErrCreditsExhausted means the credential has no usage credits left. It
// wraps [ErrRateLimited], so that handlers that know only that sentinel
// still answer 429. Response: 429 credits_exhausted, with Retry-After until
// the next refill when there is one.
var ErrCreditsExhausted = fmt.Errorf("gatehouse: credits exhausted: %w", ErrRateLimited)

// Reasons of the refusals of the per-credential controls.
const (
	// ReasonNetwork: the credential was used from an address outside its
	// allowed networks ([Principal.AllowedNetworks]).
	ReasonNetwork Reason = "network_not_allowed"
	// ReasonCreditsExhausted: the credential's credits are spent.
	ReasonCreditsExhausted Reason = "credits_exhausted"
)

// CreditInterval is how often usage credits are refilled.
type CreditInterval string

// The refill intervals. Periods start at midnight UTC (a day) and at
// midnight UTC on the first of the month (a month).
const (
	CreditsDaily   CreditInterval = "day"
	CreditsMonthly CreditInterval = "month"
)

// Credits is an allowance of uses that a credential carries: each request
// served spends one, and when Refill is set the count is set back to Refill
// at the start of every Interval period.
//
// As held in a record or a [Principal], Remaining is the count as of Since;
// the live count is kept by whatever spends the credits (the store, or
// Redis), never in this value, which is read-only once shared.
type Credits struct {
	// Remaining is how many uses were left at Since.
	Remaining int64
	// Refill is what Remaining is set to at the start of each period; 0:
	// never refilled.
	Refill int64
	// Interval is the refill period; empty when Refill is 0.
	Interval CreditInterval
	// Since is when Remaining was set: by an administrator, or by the
	// refill at the start of a period.
	Since time.Time
}

// Errors of [Credits.Validate].
var (
	errCreditsNegative = errors.New("gatehouse: credits: remaining and refill must not be negative")
	errCreditsInterval = errors.New(`gatehouse: credits: interval must be "day" or "month" with a refill, and empty without one`)
)

// Validate reports whether c is a usable allowance.
func (c *Credits) Validate() error {
	if c.Remaining < 0 || c.Refill < 0 {
		return errCreditsNegative
	}
	switch {
	case c.Refill == 0 && c.Interval != "":
		return errCreditsInterval
	case c.Refill > 0 && c.Interval != CreditsDaily && c.Interval != CreditsMonthly:
		return errCreditsInterval
	}
	return nil
}

// PeriodStart returns the start of the refill period that holds t (UTC), or
// the zero time when c is never refilled.
func (c *Credits) PeriodStart(t time.Time) time.Time {
	t = t.UTC()
	switch {
	case c.Refill == 0:
		return time.Time{}
	case c.Interval == CreditsMonthly:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
}

// NextRefill returns when the period after the one that holds t starts, or
// the zero time when c is never refilled.
func (c *Credits) NextRefill(t time.Time) time.Time {
	s := c.PeriodStart(t)
	switch {
	case s.IsZero():
		return s
	case c.Interval == CreditsMonthly:
		return s.AddDate(0, 1, 0)
	default:
		return s.AddDate(0, 0, 1)
	}
}

// At returns the number of uses available at t when none were spent since
// Since: Refill when a refill period started after Since, else Remaining.
func (c *Credits) At(t time.Time) int64 {
	if c.Refill > 0 && c.PeriodStart(t).After(c.Since) {
		return c.Refill
	}
	return c.Remaining
}

// CreditsError is the refusal of a credential whose credits are spent.
// RefillAt is when they are refilled, zero when never.
type CreditsError struct {
	RefillAt time.Time
	// RetryAfter is how long until RefillAt, from the refusal; zero when
	// never refilled.
	RetryAfter time.Duration
	// KeyID and TenantID name the credential's record, for audit logs;
	// never sent to the client.
	KeyID, TenantID string
}

func (e *CreditsError) Error() string {
	if e.RefillAt.IsZero() {
		return "gatehouse: credits exhausted"
	}
	return "gatehouse: credits exhausted: refill at " + e.RefillAt.UTC().Format(time.RFC3339)
}

// Unwrap returns [ErrCreditsExhausted] (which wraps [ErrRateLimited]).
func (e *CreditsError) Unwrap() error { return ErrCreditsExhausted }
