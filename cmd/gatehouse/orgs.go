package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

const orgsUsage = `Usage: gatehouse orgs <subcommand> [flags]

Subcommands:
  create   create an organization (a tenant with a name and, optionally, its own key policy)
  list     list organizations

Run gatehouse orgs <subcommand> --help for its flags.
`

func orgs(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "orgs", orgsUsage, map[string]func(context.Context, []string, env) error{
		"create": orgsCreate,
		"list":   orgsList,
	})
}

// auditLog is where the CLI's changes to organizations are logged, as the
// server logs them: one line on stderr per change.
func auditLog(e env) *slog.Logger { return slog.New(slog.NewTextHandler(e.stderr, nil)) }

func orgsCreate(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "orgs create", "orgs create --name NAME [--id ID]")
	id := fs.String("id", "", "organization ID: the tenant ID of its users and keys (default: generated)")
	name := fs.String("name", "", "organization name (required)")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if err := admin.CheckOrg(admin.NewOrg{ID: *id, Name: *name}); err != nil {
		var v *admin.ValidationError
		errors.As(err, &v)
		return fmt.Errorf("%w: %s", errUsage, fieldErrors(v, map[string]string{"id": "--id", "name": "--name"}))
	}
	a, err := openApp(ctx, *d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	o := &store.Org{ID: *id, Name: *name, CreatedAt: time.Now().UTC()}
	if o.ID == "" {
		o.ID = store.NewID("org")
	}
	if err := a.db.CreateOrg(ctx, o); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("an organization with ID %q exists", o.ID)
		}
		return err
	}
	auditLog(e).Info("gatehouse.org.created", "org_id", o.ID, "org_name", o.Name, "actor_id", "cli")
	fmt.Fprintln(e.stdout, o.ID)
	return nil
}

// fieldErrors words a validation error with the CLI's flag names.
func fieldErrors(v *admin.ValidationError, flags map[string]string) string {
	var parts []string
	for field, msg := range v.Fields {
		name := flags[field]
		if name == "" {
			name = field
		}
		parts = append(parts, name+" "+msg)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func orgsList(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "orgs list", "orgs list")
	a, err := parseAndOpen(ctx, fs, d, args, "", e)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := newTable(e.stdout, "ID\tNAME\tKEY POLICY\tCREATED")
	err = eachPage(func(after string) ([]*store.Org, string, error) {
		return a.db.ListOrgs(ctx, store.OrgFilter{After: after, Limit: 1000})
	}, func(o *store.Org) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.ID, o.Name, describePolicy(o.Policy), formatTime(o.CreatedAt, "-"))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// describePolicy is a policy in a few words: "default" when there is none.
func describePolicy(p *store.OrgPolicy) string {
	if p == nil {
		return "default"
	}
	var parts []string
	if p.RequireExpiry {
		parts = append(parts, "expiry required")
	}
	if p.MaxLifetimeDays > 0 {
		parts = append(parts, "max "+strconv.Itoa(p.MaxLifetimeDays)+"d")
	}
	if p.DefaultLifetimeDays > 0 {
		parts = append(parts, "default "+strconv.Itoa(p.DefaultLifetimeDays)+"d")
	}
	if len(parts) == 0 {
		return "no limits"
	}
	return strings.Join(parts, ", ")
}

const policyUsage = `Usage: gatehouse policy <subcommand> --org ID [flags]

Subcommands:
  get     show an organization's key policy and the one its keys follow (JSON)
  set     set an organization's key policy; flags not given keep their value
  clear   remove it: the organization's keys follow the default
          (GATEHOUSE_KEY_MAX_DAYS, GATEHOUSE_KEY_DEFAULT_DAYS, GATEHOUSE_KEY_REQUIRE_EXPIRY)

Run gatehouse policy <subcommand> --help for its flags.
`

func policy(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "policy", policyUsage, map[string]func(context.Context, []string, env) error{
		"get":   policyGet,
		"set":   policySet,
		"clear": policyClear,
	})
}

// newPolicyFlags returns the flag set of a policy subcommand: the
// database flags and the required --org, which it returns.
func newPolicyFlags(e env, name, usage string) (*flag.FlagSet, *dbFlags, *string) {
	fs, d := newDBFlags(e, name, usage)
	return fs, d, fs.String("org", "", "organization ID (required)")
}

// openOrg parses fs with a required --org and opens the app and the org.
func openOrg(ctx context.Context, fs *flag.FlagSet, d *dbFlags, org *string, args []string, e env) (*app, *store.Org, error) {
	if err := parseFlags(fs, args, ""); err != nil {
		return nil, nil, err
	}
	if *org == "" {
		return nil, nil, fmt.Errorf("%w: %s needs --org", errUsage, fs.Name())
	}
	a, err := openApp(ctx, *d, e)
	if err != nil {
		return nil, nil, err
	}
	o, err := a.db.OrgByID(ctx, *org)
	if err != nil {
		a.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("no organization with ID %q (see gatehouse orgs list)", *org)
		}
		return nil, nil, err
	}
	return a, o, nil
}

// printPolicy writes o's policy view, as GET /api/auth/orgs/{id}/policy
// answers it.
func printPolicy(ctx context.Context, a *app, o *store.Org, e env) error {
	m, err := a.manager(nil, nil)
	if err != nil {
		return err
	}
	view, err := m.OrgPolicyView(o)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, view)
}

func policyGet(ctx context.Context, args []string, e env) error {
	fs, d, org := newPolicyFlags(e, "policy get", "policy get --org ID")
	a, o, err := openOrg(ctx, fs, d, org, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	return printPolicy(ctx, a, o, e)
}

func policySet(ctx context.Context, args []string, e env) error {
	fs, d, org := newPolicyFlags(e, "policy set", "policy set --org ID [--require-expiry[=false]] [--max-lifetime-days N] [--default-lifetime-days N]")
	require := fs.Bool("require-expiry", false, "refuse keys without an expiry")
	maxDays := fs.Int("max-lifetime-days", 0, "longest key lifetime in days, 1 to 400 (0: no cap)")
	defDays := fs.Int("default-lifetime-days", 0, "lifetime of keys created without an expiry (0: none)")
	a, o, err := openOrg(ctx, fs, d, org, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["require-expiry"] && !set["max-lifetime-days"] && !set["default-lifetime-days"] {
		return fmt.Errorf("%w: policy set needs --require-expiry, --max-lifetime-days or --default-lifetime-days", errUsage)
	}
	var p admin.Policy
	if o.Policy != nil {
		p = admin.Policy{RequireExpiry: o.Policy.RequireExpiry, MaxLifetimeDays: o.Policy.MaxLifetimeDays, DefaultLifetimeDays: o.Policy.DefaultLifetimeDays}
	}
	if set["require-expiry"] {
		p.RequireExpiry = *require
	}
	if set["max-lifetime-days"] {
		p.MaxLifetimeDays = *maxDays
	}
	if set["default-lifetime-days"] {
		p.DefaultLifetimeDays = *defDays
	}
	if err := admin.CheckPolicy(p); err != nil {
		var v *admin.ValidationError
		errors.As(err, &v)
		return fmt.Errorf("%w: %s", errUsage, fieldErrors(v, map[string]string{
			"max_lifetime_days": "--max-lifetime-days", "default_lifetime_days": "--default-lifetime-days"}))
	}
	o, err = a.db.UpdateOrg(ctx, o.ID, store.OrgUpdate{Policy: &store.OrgPolicy{RequireExpiry: p.RequireExpiry,
		MaxLifetimeDays: p.MaxLifetimeDays, DefaultLifetimeDays: p.DefaultLifetimeDays, UpdatedAt: time.Now().UTC(), UpdatedBy: "cli"}})
	if err != nil {
		return err
	}
	auditLog(e).Info("gatehouse.policy.updated", "org_id", o.ID, "actor_id", "cli", "cleared", false,
		"require_expiry", p.RequireExpiry, "max_lifetime_days", p.MaxLifetimeDays, "default_lifetime_days", p.DefaultLifetimeDays)
	return printPolicy(ctx, a, o, e)
}

func policyClear(ctx context.Context, args []string, e env) error {
	fs, d, org := newPolicyFlags(e, "policy clear", "policy clear --org ID")
	a, o, err := openOrg(ctx, fs, d, org, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	if o, err = a.db.UpdateOrg(ctx, o.ID, store.OrgUpdate{ClearPolicy: true}); err != nil {
		return err
	}
	auditLog(e).Info("gatehouse.policy.updated", "org_id", o.ID, "actor_id", "cli", "cleared", true)
	return printPolicy(ctx, a, o, e)
}
