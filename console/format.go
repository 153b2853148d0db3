package console

import (
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// reminderWindow is when the expiry badge appears: the first reminder
// admin.Reminders sends by default (7 days before expiry).
const reminderWindow = 7 * 24 * time.Hour

// keyRow is a key as the pages show it.
type keyRow struct {
	ID, Name, Description, Last4, Prefix, OwnerID, TenantID string
	Owner                                                   string // the owner's name, when the page shows owners
	Access                                                  string // "role admin" or the scopes
	Status                                                  string // active, expiring, expired, revoked
	StatusLabel                                             string
	Badge                                                   string // "expires in 6 days", within the reminder window
	Created, Expires, LastUsed                              time.Time
	LastUsedLabel                                           string
	Networks                                                []string // allowed networks; none: any
	NetworksLabel                                           string   // "2 networks", "" without any
	Credits                                                 *creditsView
}

// creditsView is a key's usage credits as the key's page shows them.
type creditsView struct {
	Remaining, Refill int64
	Interval          string // "day" or "month" with a refill
	RefillsAt         time.Time
}

// Active reports whether the key can still be used (and so edited,
// rotated or revoked).
func (k keyRow) Active() bool { return k.Status == "active" || k.Status == "expiring" }

func rowOf(k *store.Key, now time.Time) keyRow {
	r := keyRow{ID: k.ID, Name: k.Name, Description: k.Description, Last4: k.Last4, Prefix: k.Prefix,
		OwnerID: k.OwnerID, TenantID: k.TenantID, Created: k.CreatedAt, Expires: k.ExpiresAt, LastUsed: k.LastUsedAt,
		Status: "active", StatusLabel: "Active", LastUsedLabel: ago(k.LastUsedAt, now)}
	if k.Role != "" {
		r.Access = "role " + k.Role
	} else {
		r.Access = strings.Join(k.Scopes, " ")
	}
	for _, p := range k.AllowedNetworks {
		r.Networks = append(r.Networks, p.String())
	}
	if n := len(r.Networks); n > 0 {
		r.NetworksLabel = plural(n, "network", "")
	}
	if c := k.Credits; c != nil {
		r.Credits = &creditsView{Remaining: c.At(now), Refill: c.Refill, Interval: string(c.Interval), RefillsAt: c.NextRefill(now)}
	}
	switch {
	case k.Revoked():
		r.Status, r.StatusLabel = "revoked", "Revoked"
	case k.ExpiredAt(now):
		r.Status, r.StatusLabel = "expired", "Expired"
	case !k.ExpiresAt.IsZero() && k.ExpiresAt.Sub(now) <= reminderWindow:
		r.Status, r.Badge = "expiring", expiresIn(k.ExpiresAt.Sub(now))
	}
	return r
}

// expiresIn says how soon a key expires, in whole days (hours within the
// last day), as the reminders count: "expires in 6 days".
func expiresIn(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "expires within the hour"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour", "expires in ")
	}
	return plural(int(d/(24*time.Hour)), "day", "expires in ")
}

// ago says how long ago t was; the zero time is "never".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour", "") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day", "") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit, before string) string {
	if n == 1 {
		return before + "1 " + unit
	}
	return before + itoa(n) + " " + unit + "s"
}

// levelLabel names a user level for people.
func levelLabel(l store.Level) string {
	switch l {
	case store.LevelMember:
		return "Member"
	case store.LevelOrgAdmin:
		return "Org admin"
	case store.LevelSuperAdmin:
		return "Super admin"
	}
	return string(l)
}
