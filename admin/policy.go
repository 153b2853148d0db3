package admin

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// MaxLifetimeDaysCap is the longest lifetime a [Policy] may allow.
const MaxLifetimeDaysCap = 400

// MaxExpiryDays is the furthest expiry any key may have, in days from
// now (about 100 years), with or without a policy: expires_in_days above
// it, or an expires_at beyond it, is refused.
const MaxExpiryDays = 36500

// Policy is the administrator's rule for key expiry. The zero value allows
// keys without expiry and of any lifetime. It is enforced when a key is
// created and when its expiry is updated; keys created before a policy was
// switched on keep working as they are.
type Policy struct {
	// RequireExpiry refuses new keys without an expiry (unless
	// DefaultLifetimeDays supplies one) and updates that remove one.
	RequireExpiry bool
	// MaxLifetimeDays caps the lifetime, counted from the key's creation
	// to the end of that day in Location. A key without an expiry would
	// outlive any cap, so a cap also refuses them, as RequireExpiry does.
	// 0: no cap. At most 400.
	MaxLifetimeDays int
	// DefaultLifetimeDays is the lifetime of keys created without an
	// expiry. 0: no default. At most 400, and at most MaxLifetimeDays
	// when there is a cap.
	DefaultLifetimeDays int
	// Location is the time zone whose day ends expire keys given a number
	// of days. Default UTC.
	Location *time.Location
}

// check is the one validator of a policy's rules (Config.Policy, an
// organization's own, [CheckPolicy]): nil, or a *ValidationError on
// max_lifetime_days or default_lifetime_days, the policy API's names.
func (p Policy) check() *ValidationError {
	v := &ValidationError{Fields: map[string]string{}}
	switch {
	case p.MaxLifetimeDays < 0 || p.MaxLifetimeDays > MaxLifetimeDaysCap:
		v.Fields["max_lifetime_days"] = "must be 0 (no cap) to " + strconv.Itoa(MaxLifetimeDaysCap)
	case p.MaxLifetimeDays > 0 && p.DefaultLifetimeDays > p.MaxLifetimeDays:
		v.Fields["default_lifetime_days"] = "must not exceed max_lifetime_days"
	}
	if p.DefaultLifetimeDays < 0 || p.DefaultLifetimeDays > MaxLifetimeDaysCap {
		v.Fields["default_lifetime_days"] = "must be 0 (no default) to " + strconv.Itoa(MaxLifetimeDaysCap)
	}
	if len(v.Fields) > 0 {
		return v
	}
	return nil
}

// validate is check as a plain error (not an ErrInvalid: a bad
// configured or stored policy is no bad request).
func (p Policy) validate() error {
	v := p.check()
	switch {
	case v == nil:
		return nil
	case v.Fields["max_lifetime_days"] != "":
		return fmt.Errorf("admin: policy: MaxLifetimeDays must be 0 to %d", MaxLifetimeDaysCap)
	case p.DefaultLifetimeDays < 0 || p.DefaultLifetimeDays > MaxLifetimeDaysCap:
		return fmt.Errorf("admin: policy: DefaultLifetimeDays must be 0 to %d", MaxLifetimeDaysCap)
	default:
		return errors.New("admin: policy: DefaultLifetimeDays exceeds MaxLifetimeDays")
	}
}

func (p Policy) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// EndOfDay returns the instant the day that is days after t's day (in the
// policy's zone) ends: a key given "30 days" works through the whole 30th
// day.
func (p Policy) EndOfDay(t time.Time, days int) time.Time {
	l := t.In(p.loc())
	y, m, d := l.Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, p.loc())
}

// Expiry is a requested expiry: an exact instant, a number of days, or
// neither (Set false).
type Expiry struct {
	Set    bool
	At     time.Time // exact instant; zero with Set and no Days: remove
	Days   int       // lifetime in days from now, ending at the end of the day
	InDays bool
}

// NewKeyExpiry applies the policy to the expiry requested for a key
// created at now, as [Manager.Create] does: it fills in the default
// lifetime, and refuses a missing expiry when one is required and a
// lifetime beyond the maximum, with a [*ValidationError]. Tools that
// create keys without a Manager (the gatehouse CLI) call it so that the
// policy holds for them too.
func (p Policy) NewKeyExpiry(req Expiry, now time.Time) (time.Time, error) {
	return p.apply(req, now, now, true)
}

// UpdatedExpiry applies the policy to a change of the expiry of a key
// created at created, as [Manager.Update] does: removing the expiry is
// refused when one is required, and the new expiry may not pass the
// maximum lifetime counted from the key's creation. A zero At with Set
// removes the expiry.
func (p Policy) UpdatedExpiry(req Expiry, created, now time.Time) (time.Time, error) {
	return p.apply(req, created, now, false)
}

// apply is resolve for callers without a Manager: the policy is validated
// first, and a *ValidationError comes back as an error (never a typed nil).
func (p Policy) apply(req Expiry, created, now time.Time, isNew bool) (time.Time, error) {
	if err := p.validate(); err != nil {
		return time.Time{}, err
	}
	exp, verr := p.resolve(req, created, now, isNew)
	if verr != nil {
		return time.Time{}, verr
	}
	return exp, nil
}

// resolve returns the expiry for a key created at created, at now. field
// names the request member errors refer to. For a new key, an unset
// expiry falls back to the default lifetime.
func (p Policy) resolve(req Expiry, created, now time.Time, isNew bool) (time.Time, *ValidationError) {
	var exp time.Time
	switch {
	case req.InDays:
		if req.Days < 1 || req.Days > MaxExpiryDays {
			return time.Time{}, invalid("expires_in_days", "must be 1 to "+strconv.Itoa(MaxExpiryDays))
		}
		exp = p.EndOfDay(now, req.Days)
	case req.Set && !req.At.IsZero():
		if !req.At.After(now) {
			return time.Time{}, invalid("expires_at", "must be in the future")
		}
		if req.At.After(p.EndOfDay(now, MaxExpiryDays)) {
			return time.Time{}, invalid("expires_at", "must be within "+strconv.Itoa(MaxExpiryDays)+" days (100 years)")
		}
		exp = req.At
	case isNew && p.DefaultLifetimeDays > 0:
		exp = p.EndOfDay(now, p.DefaultLifetimeDays)
	}
	if exp.IsZero() && (p.RequireExpiry || p.MaxLifetimeDays > 0) && (isNew || req.Set) {
		return time.Time{}, invalid("expires_at", "an expiry is required by the key policy: give expires_at or expires_in_days")
	}
	if !exp.IsZero() && p.MaxLifetimeDays > 0 && exp.After(p.EndOfDay(created, p.MaxLifetimeDays)) {
		field := "expires_at"
		if req.InDays {
			field = "expires_in_days"
		}
		return time.Time{}, invalid(field, "exceeds the key policy's maximum lifetime of "+strconv.Itoa(p.MaxLifetimeDays)+" days")
	}
	return exp.UTC(), nil
}
