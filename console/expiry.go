package console

import (
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
)

// The expiry control is a select (no expiry, a number of days, or "on a
// date") and a date input used with "on a date". It works without
// JavaScript; console.js only keeps the two in step.
const (
	expiryKeep  = ""      // create: no expiry or the policy's default; edit: unchanged
	expiryNever = "never" // edit: remove the expiry
	expiryDate  = "date"  // the date input's day
	dateLayout  = "2006-01-02"
)

// expiryDays are the lifetimes the select offers (those within the
// policy's maximum).
var expiryDays = []int{7, 30, 60, 90}

type expiryOption struct {
	Value, Label string
	Selected     bool
}

// expiryField is the control's state: the choice and date sent, the
// options, and the date input's bounds.
type expiryField struct {
	Choice, Date string
	Options      []expiryOption
	Min, Max     string // YYYY-MM-DD in the policy's zone; Max "" without a cap
}

// expiryControl builds the control for a key created (or, with edit, an
// existing key created) at created, at now, under pol. current is the
// key's expiry on the edit form.
func expiryControl(choice, date string, pol admin.Policy, created, now, current time.Time, edit bool) expiryField {
	f := expiryField{Choice: choice, Date: date, Min: now.In(zone(pol)).Format(dateLayout)}
	if pol.MaxLifetimeDays > 0 {
		f.Max = lastDay(pol, created, pol.MaxLifetimeDays)
	}
	add := func(v, label string) {
		f.Options = append(f.Options, expiryOption{Value: v, Label: label, Selected: v == choice})
	}
	switch {
	case edit && current.IsZero():
		add(expiryKeep, "Keep: never expires")
	case edit:
		add(expiryKeep, "Keep: expires "+current.UTC().Format("2 Jan 2006 15:04")+" UTC")
	case pol.DefaultLifetimeDays > 0:
		add(expiryKeep, "The default: "+plural(pol.DefaultLifetimeDays, "day", ""))
	case pol.RequireExpiry || pol.MaxLifetimeDays > 0:
		add(expiryKeep, "Choose an expiry")
	default:
		add(expiryKeep, "No expiry")
	}
	if edit {
		add(expiryNever, "No expiry")
	}
	for _, d := range expiryDays {
		if pol.MaxLifetimeDays == 0 || d <= pol.MaxLifetimeDays {
			add(itoa(d), plural(d, "day", ""))
		}
	}
	add(expiryDate, "On a date")
	return f
}

// zone is the time zone of pol's day ends.
func zone(pol admin.Policy) *time.Location {
	if pol.Location == nil {
		return time.UTC
	}
	return pol.Location
}

// lastDay is the last whole day a key created at t may live through with
// a lifetime of days, in pol's zone.
func lastDay(pol admin.Policy, t time.Time, days int) string {
	return pol.EndOfDay(t, days).Add(-time.Nanosecond).In(zone(pol)).Format(dateLayout)
}

// parseExpiry reads the control: the expiry asked for, or a message for
// the field. A date means the end of that day in pol's zone.
func parseExpiry(choice, date string, pol admin.Policy, edit bool) (admin.Expiry, string) {
	choice, date = strings.TrimSpace(choice), strings.TrimSpace(date)
	if date != "" && choice != expiryDate {
		return admin.Expiry{}, "Choose “On a date” to use the date, or clear the date."
	}
	switch choice {
	case expiryKeep:
		return admin.Expiry{}, ""
	case expiryNever:
		if edit {
			return admin.Expiry{Set: true}, ""
		}
		return admin.Expiry{}, ""
	case expiryDate:
		if date == "" {
			return admin.Expiry{}, "Give the date the key expires on."
		}
		day, err := time.ParseInLocation(dateLayout, date, zone(pol))
		if err != nil {
			return admin.Expiry{}, "Give a date such as 2027-01-31."
		}
		return admin.Expiry{Set: true, At: pol.EndOfDay(day, 0)}, ""
	}
	n, err := strconv.Atoi(choice)
	if err != nil || n < 1 || n > admin.MaxLifetimeDaysCap {
		return admin.Expiry{}, "Choose one of the expiries offered."
	}
	return admin.Expiry{InDays: true, Days: n}, ""
}
