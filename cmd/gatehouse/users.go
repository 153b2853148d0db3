package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

const usersUsage = `Usage: gatehouse users <subcommand> [flags]

Subcommands:
  create   create a user who can own keys
  list     list users

Run gatehouse users <subcommand> --help for its flags.
`

func users(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, usersUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: users needs a subcommand", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "create":
		return usersCreate(ctx, args[1:], e)
	case "list":
		return usersList(ctx, args[1:], e)
	}
	return fmt.Errorf("%w: unknown users subcommand %q", errUsage, args[0])
}

func usersCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "users create", "users create --email E [--name N] [--tenant T] [--level member|org_admin|super_admin]")
	var d dbFlags
	d.register(fs)
	email := fs.String("email", "", "email address (required, unique)")
	name := fs.String("name", "", "display name")
	tenant := fs.String("tenant", "", "tenant (organization) ID")
	level := fs.String("level", string(store.LevelMember), "member, org_admin or super_admin")
	id := fs.String("id", "", "user ID (default: generated)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: users create takes no arguments", errUsage)
	}
	if !validEmail(*email) {
		return fmt.Errorf("%w: users create needs --email with an address like ada@example.com", errUsage)
	}
	if !store.Level(*level).Valid() {
		return fmt.Errorf("%w: --level must be member, org_admin or super_admin", errUsage)
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	u := &store.User{ID: *id, TenantID: *tenant, Email: store.NormalizeEmail(*email), Name: *name,
		Level: store.Level(*level), CreatedAt: time.Now().UTC()}
	if u.ID == "" {
		u.ID = store.NewID("usr")
	}
	if err := a.db.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a user with that ID or email exists")
		}
		return err
	}
	fmt.Fprintln(e.stdout, u.ID)
	fmt.Fprintf(e.stderr, "created user %s <%s>, %s of tenant %s\n", u.ID, u.Email, u.Level, dash(u.TenantID))
	return nil
}

// validEmail is a sanity check, not RFC 5322: one @, something on both
// sides, no spaces or control characters, at most 254 bytes.
func validEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 {
		return false
	}
	at := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f {
			return false
		}
		if c == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	return at > 0 && at < len(s)-1
}

func usersList(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "users list", "users list [--tenant T]")
	var d dbFlags
	d.register(fs)
	tenant := fs.String("tenant", "", "only users of this tenant")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tTENANT\tLEVEL\tCREATED")
	f := store.UserFilter{TenantID: *tenant, Limit: 1000}
	for {
		page, next, err := a.db.ListUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range page {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, dash(u.Name), dash(u.TenantID), u.Level, formatTime(u.CreatedAt, "-"))
		}
		if next == "" {
			break
		}
		f.After = next
	}
	return tw.Flush()
}
