package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

const keysUsage = `Usage: gatehouse keys <subcommand> [flags]

Subcommands:
  create   create a key; prints the key alone on stdout, details on stderr
  list     list keys (never the key or its digest)
  get      show one key's record
  update   change a key's name, description, expiry, allowed networks or credits
  rotate   replace a key with a new one; the old one is revoked now or after --grace
  revoke   revoke a key by ID; running servers refuse it within a second

Run gatehouse keys <subcommand> --help for its flags.
`

func keys(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "keys", keysUsage, map[string]func(context.Context, []string, env) error{
		"create": keysCreate,
		"list":   keysList,
		"get":    keysGet,
		"update": keysUpdate,
		"rotate": keysRotate,
		"revoke": keysRevoke,
	})
}

func keysCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "keys create", "keys create --name NAME --scopes read,write [flags]")
	var d dbFlags
	d.register(fs)
	d.registerPrefix(fs)
	name := fs.String("name", "", "key name (required)")
	desc := fs.String("description", "", "what the key is for")
	scopeList := fs.String("scopes", "", "comma- or space-separated scopes")
	role := fs.String("role", "", "role whose scopes the key gets (instead of --scopes)")
	expires := fs.String("expires", "", "lifetime (90d, 36h) or expiry date (2027-01-31); default never")
	tenant := fs.String("tenant", "", "tenant (organization) ID; default the owner's; once any organization exists, it must be one")
	owner := fs.String("owner", "", "owner (user) ID; the key's scopes must be ones the owner may hold")
	var ctl controlFlags
	ctl.register(fs, false)
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: keys create needs --name", errUsage)
	}
	sc, err := scopes.Parse(*scopeList)
	if err != nil {
		return fmt.Errorf("%w: --scopes: %v", errUsage, err)
	}
	if len(sc) > 0 && *role != "" {
		return fmt.Errorf("%w: give --scopes or --role, not both", errUsage)
	}
	if *role != "" {
		if _, ok := scopes.DefaultRoles().Scopes(*role); !ok {
			return fmt.Errorf("%w: unknown role %q (viewer, editor, admin)", errUsage, *role)
		}
	}
	now := time.Now()
	req, err := expiryRequest(*expires, now)
	if err != nil {
		return fmt.Errorf("%w: --expires: %v", errUsage, err)
	}
	nets, err := ctl.networks()
	if err != nil {
		return err
	}
	credits, err := ctl.creditsOf(now)
	if err != nil {
		return err
	}
	var allowed []netip.Prefix
	if nets != nil {
		allowed = *nets
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	if *tenant, err = keyTenant(ctx, a, *owner, *tenant, sc, *role); err != nil {
		return err
	}
	pol, err := a.policyFor(ctx, *tenant)
	if err != nil {
		return err
	}
	exp, err := pol.NewKeyExpiry(req, now)
	if err != nil {
		return fmt.Errorf("--expires: %w", err)
	}
	key, rec, err := apikey.Issue(ctx, a.db, a.format, a.hasher, apikey.Params{
		Name: *name, Description: *desc, Scopes: sc, Role: *role,
		TenantID: *tenant, OwnerID: *owner, ExpiresAt: exp, CreatedBy: "cli", Now: now,
		AllowedNetworks: allowed, Credits: credits,
	})
	if err != nil {
		return err
	}
	a.emit(ctx, e, admin.EventKeyCreated, rec)
	fmt.Fprintln(e.stdout, key)
	fmt.Fprintf(e.stderr, "created key %s (%s), scopes %s, expires %s\n",
		rec.ID, rec.Name, scopesOf(rec), formatTime(rec.ExpiresAt, "never"))
	if nets != nil || credits != nil {
		fmt.Fprintf(e.stderr, "controls: %s\n", describeControls(rec))
	}
	fmt.Fprintln(e.stderr, "the key is shown once: store it now")
	return nil
}

// keyTenant returns the tenant of a key for owner, as the management API
// places it: the owner's tenant when the owner is a user on record (a
// different --tenant is a usage error, and the key's scopes, or its
// role's, must be ones the owner may hold when the owner has a scopes
// list), else --tenant. Once any organization exists, the tenant must be
// one on record.
func keyTenant(ctx context.Context, a *app, owner, tenant string, sc []string, role string) (string, error) {
	if owner != "" {
		u, err := a.db.UserByID(ctx, owner)
		switch {
		case err == nil:
			if tenant != "" && tenant != u.TenantID {
				return "", fmt.Errorf("%w: --tenant %q is not the tenant of owner %s (%q): leave --tenant out", errUsage, tenant, owner, u.TenantID)
			}
			tenant = u.TenantID
			want := sc
			if len(want) == 0 {
				want, _ = scopes.DefaultRoles().Scopes(role)
			}
			if u.Scopes != nil && !scopes.Plain.Covers(u.Scopes, want) {
				return "", fmt.Errorf("a key cannot have scopes its owner may not hold: %s holds %s", owner, strings.Join(u.Scopes, ","))
			}
		case !errors.Is(err, store.ErrNotFound):
			return "", err
		}
	}
	if tenant == "" {
		some, _, err := a.db.ListOrgs(ctx, store.OrgFilter{Limit: 1})
		if err != nil {
			return "", err
		}
		if len(some) > 0 {
			return "", fmt.Errorf("%w: organizations exist: give --tenant with one of them, or an --owner who belongs to one", errUsage)
		}
		return "", nil
	}
	return tenant, checkTenant(ctx, a, tenant)
}

// expiryRequest reads --expires as the key policy takes it, for the CLI as
// for the management API: "30d" asks for the end of the 30th day in the
// policy's zone, as expires_in_days does; any other form asks for the
// instant parseExpiry reads; "" asks for nothing.
func expiryRequest(s string, now time.Time) (admin.Expiry, error) {
	if days, ok, err := parseDays(s); ok {
		return admin.Expiry{InDays: true, Days: days}, err
	}
	t, err := parseExpiry(s, now)
	if err != nil {
		return admin.Expiry{}, err
	}
	return admin.Expiry{Set: !t.IsZero(), At: t}, nil
}

// parseDays reads "90d": ok tells whether s has the form at all.
func parseDays(s string) (days int, ok bool, err error) {
	n, ok := strings.CutSuffix(s, "d")
	if !ok {
		return 0, false, nil
	}
	days, err = strconv.Atoi(n)
	if err != nil || days <= 0 || days > 3650 {
		return 0, true, errors.New("days must be a whole number from 1 to 3650")
	}
	return days, true, nil
}

// parseExpiry reads "90d", a Go duration ("36h"), an RFC 3339 instant, or a
// date (the key expires at the end of that day, UTC).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok, err := parseDays(s); ok {
		return now.Add(time.Duration(days) * 24 * time.Hour), err
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("the lifetime must be positive")
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	return time.Time{}, errors.New("want 90d, 36h, 2027-01-31 or an RFC 3339 time")
}

func keysList(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "keys list", "keys list [flags]")
	owner := fs.String("owner", "", "only keys of this owner")
	tenant := fs.String("tenant", "", "only keys of this tenant")
	all := fs.Bool("all", false, "include revoked keys")
	a, err := parseAndOpen(ctx, fs, d, args, "", e)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := newTable(e.stdout, "ID\tNAME\tLAST4\tSCOPES\tTENANT\tEXPIRES\tLAST USED\tSTATUS")
	f := store.KeyFilter{OwnerID: *owner, TenantID: *tenant, IncludeRevoked: *all, Limit: 1000}
	now := time.Now()
	err = eachPage(func(after string) ([]*store.Key, string, error) {
		f.After = after
		return a.db.ListKeys(ctx, f)
	}, func(k *store.Key) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Last4, scopesOf(k),
			dash(k.TenantID), formatTime(k.ExpiresAt, "never"), formatTime(k.LastUsedAt, "never"), admin.StatusOf(k, now))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "keys revoke", "keys revoke [flags] ID")
	a, id, err := oneKey(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	k, err := a.db.RevokeKey(ctx, id, time.Now())
	if err != nil {
		return notFound(err, id)
	}
	a.emit(ctx, e, admin.EventKeyRevoked, k)
	fmt.Fprintf(e.stderr, "revoked key %s (%s)\n", k.ID, k.Name)
	return nil
}

func scopesOf(k *store.Key) string {
	if len(k.Scopes) == 0 && k.Role != "" {
		return "role:" + k.Role
	}
	if len(k.Scopes) == 0 {
		return "-"
	}
	return strings.Join(k.Scopes, ",")
}

func formatTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
