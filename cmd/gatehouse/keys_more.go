package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// oneKey parses flags that end with one key ID and opens the app.
func oneKey(ctx context.Context, fs *flag.FlagSet, d *dbFlags, args []string, e env) (*app, string, error) {
	a, err := parseAndOpen(ctx, fs, d, args, "key ID", e)
	return a, fs.Arg(0), err
}

func notFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, admin.ErrNotFound) {
		return fmt.Errorf("no key with ID %q", id)
	}
	return err
}

func keysGet(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "keys get", "keys get [--redis ADDR] [flags] ID")
	var cf creditFlags
	cf.register(fs, false)
	a, id, err := oneKey(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, closeRedis, err := cf.keyStore(ctx, a, e)
	if err != nil {
		return err
	}
	defer closeRedis()
	k, err := keys.KeyByID(ctx, id)
	if err != nil {
		return notFound(err, id)
	}
	return printJSON(e.stdout, admin.ToJSON(k, time.Now()))
}

func keysUpdate(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "keys update", "keys update [--name N] [--description D] [--expires 30d|never] [--allowed-cidr C]... [--credits N [--refill N/day]] ID")
	name := fs.String("name", "", "new name")
	desc := fs.String("description", "", "new description")
	expires := fs.String("expires", "", `new lifetime from now (30d, 36h), date, RFC 3339 time, or "never"`)
	var ctl controlFlags
	ctl.register(fs, true)
	a, id, err := oneKey(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	var u store.KeyUpdate
	if u.AllowedNetworks, err = ctl.networks(); err != nil {
		return err
	}
	if u.Credits, err = ctl.creditsOf(time.Now()); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["name"] {
		if *name == "" {
			return fmt.Errorf("%w: --name must not be empty", errUsage)
		}
		u.Name = name
	}
	if set["description"] {
		u.Description = desc
	}
	if set["expires"] {
		now := time.Now()
		req := admin.Expiry{Set: true} // "never": remove the expiry
		if *expires != "never" {
			var err error
			if req, err = expiryRequest(*expires, now); err != nil {
				return fmt.Errorf("%w: --expires: %v", errUsage, err)
			}
		}
		old, err := a.db.KeyByID(ctx, id)
		if err != nil {
			return notFound(err, id)
		}
		pol, err := a.policyFor(ctx, old.TenantID)
		if err != nil {
			return err
		}
		t, err := pol.UpdatedExpiry(req, old.CreatedAt, now)
		if err != nil {
			return fmt.Errorf("--expires: %w", err)
		}
		u.ExpiresAt = &t
	}
	if u == (store.KeyUpdate{}) {
		return fmt.Errorf("%w: keys update needs --name, --description, --expires or a control flag", errUsage)
	}
	k, err := a.db.UpdateKey(ctx, id, u)
	if err != nil {
		return notFound(err, id)
	}
	a.emit(ctx, e, admin.EventKeyUpdated, k)
	fmt.Fprintf(e.stderr, "updated key %s (%s), expires %s; %s\n", k.ID, k.Name, formatTime(k.ExpiresAt, "never"), describeControls(k))
	return nil
}

func keysRotate(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "keys rotate", "keys rotate [--grace 24h] [--redis ADDR | --credits-in-database] ID")
	d.registerPrefix(fs)
	grace := fs.Duration("grace", 0, "keep the old key working this long (default: revoke it now)")
	var cf creditFlags
	cf.register(fs, true)
	a, id, err := oneKey(ctx, fs, d, args, e)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, closeRedis, err := cf.keyStore(ctx, a, e)
	if err != nil {
		return err
	}
	defer closeRedis()
	k, err := keys.KeyByID(ctx, id)
	if err != nil {
		return notFound(err, id)
	}
	if k.Credits != nil && !cf.known(e) {
		return errCreditsWhere(id)
	}
	// The credits move to the new key: taken from the database's row, or
	// from Redis through keys.
	m, err := a.manager(keys, nil)
	if err != nil {
		return err
	}
	res, err := m.RotateKey(ctx, k, *grace, "cli")
	var v *admin.ValidationError
	if errors.As(err, &v) {
		return fmt.Errorf("cannot rotate key %s: %v", id, v)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, res.Key)
	old := "revoked now"
	if *grace > 0 {
		old = "expires " + formatTime(res.Old.ExpiresAt, "never")
	}
	fmt.Fprintf(e.stderr, "created key %s to replace %s (%s); the old key %s\n", res.Record.ID, k.ID, k.Name, old)
	if c := res.Record.Credits; c != nil {
		fmt.Fprintf(e.stderr, "%d uses moved to the new key; the old key has none left\n", c.Remaining)
	}
	fmt.Fprintln(e.stderr, "the new key is shown once: store it now")
	return nil
}
