package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

const usersUsage = `Usage: gatehouse users <subcommand> [flags]

Subcommands:
  create   create a user who can own keys (and log in, with --password-stdin)
  list     list users

Run gatehouse users <subcommand> --help for its flags.
`

func users(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "users", usersUsage, map[string]func(context.Context, []string, env) error{
		"create": usersCreate,
		"list":   usersList,
	})
}

func usersCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "users create", "users create --email E [--password-stdin] [--name N] [--org ID] [--level member|org_admin|super_admin] [--scopes read,write]")
	var d dbFlags
	d.register(fs)
	email := fs.String("email", "", "email address (required, unique)")
	name := fs.String("name", "", "display name")
	tenant := fs.String("tenant", "", "tenant (organization) ID; once any organization exists, it must be one")
	org := fs.String("org", "", "organization ID: the same as --tenant")
	level := fs.String("level", string(store.LevelMember), "member, org_admin or super_admin")
	id := fs.String("id", "", "user ID (default: generated)")
	scopeList := fs.String("scopes", "", "comma- or space-separated scopes the user's keys and sessions are bounded by (default: no bound)")
	pwStdin := fs.Bool("password-stdin", false, "read the user's login password from the first line of stdin")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	switch {
	case *org != "" && *tenant != "" && *org != *tenant:
		return fmt.Errorf("%w: --org and --tenant name the same thing: give one", errUsage)
	case *org != "":
		tenant = org
	}
	if !validEmail(*email) {
		return fmt.Errorf("%w: users create needs --email with an address like ada@example.com", errUsage)
	}
	if !store.Level(*level).Valid() {
		return fmt.Errorf("%w: --level must be member, org_admin or super_admin", errUsage)
	}
	sc, err := scopes.Parse(*scopeList)
	if err != nil {
		return fmt.Errorf("%w: --scopes: %v", errUsage, err)
	}
	var hash string
	if *pwStdin {
		pw, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		h, err := session.NewHasher(session.DefaultParams)
		if err != nil {
			return err
		}
		if hash, err = h.Hash(pw); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := checkTenant(ctx, a, *tenant); err != nil {
		return err
	}
	u := &store.User{ID: *id, TenantID: *tenant, Email: store.NormalizeEmail(*email), Name: *name,
		Level: store.Level(*level), Scopes: scopes.Normalize(sc), PasswordHash: hash, CreatedAt: time.Now().UTC()}
	if u.ID == "" {
		u.ID = store.NewID("usr")
	}
	if err := a.db.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a user with that ID or email exists")
		}
		return err
	}
	auditLog(e).Info("gatehouse.user.created", "user_id", u.ID, "tenant_id", u.TenantID, "level", string(u.Level), "actor_id", "cli")
	fmt.Fprintln(e.stdout, u.ID)
	login := "no password: cannot log in"
	if hash != "" {
		login = "can log in at /api/auth/login"
	}
	fmt.Fprintf(e.stderr, "created user %s <%s>, %s of tenant %s; %s\n", u.ID, u.Email, u.Level, dash(u.TenantID), login)
	return nil
}

// minPassword is the shortest password users create accepts, in bytes.
const minPassword = 8

// readPassword reads one line from r: the password, without its line
// ending. It reads at most what a password can be plus the line ending.
func readPassword(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, session.MaxPasswordLength+3), 64)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) > session.MaxPasswordLength+1 {
		return "", fmt.Errorf("%w: the password on stdin is longer than %d bytes", errUsage, session.MaxPasswordLength)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case len(pw) > session.MaxPasswordLength:
		return "", fmt.Errorf("%w: the password on stdin is longer than %d bytes", errUsage, session.MaxPasswordLength)
	case len(pw) < minPassword:
		return "", fmt.Errorf("%w: --password-stdin needs a password of at least %d bytes on the first line of stdin", errUsage, minPassword)
	case !utf8.ValidString(pw):
		return "", fmt.Errorf("%w: the password on stdin is not valid UTF-8", errUsage)
	}
	return pw, nil
}

// validEmail is a sanity check, not RFC 5322: one @, something on both
// sides, no spaces (Unicode's too), control or format characters (such as
// U+200B), valid UTF-8, at most 254 bytes.
func validEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	at := -1
	for i, r := range s {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
		if r == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	return at > 0 && at < len(s)-1
}

func usersList(ctx context.Context, args []string, e env) error {
	fs, d := newDBFlags(e, "users list", "users list [--tenant T]")
	tenant := fs.String("tenant", "", "only users of this tenant")
	a, err := parseAndOpen(ctx, fs, d, args, "", e)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := newTable(e.stdout, "ID\tEMAIL\tNAME\tTENANT\tLEVEL\tCREATED")
	err = eachPage(func(after string) ([]*store.User, string, error) {
		return a.db.ListUsers(ctx, store.UserFilter{TenantID: *tenant, After: after, Limit: 1000})
	}, func(u *store.User) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, dash(u.Name), dash(u.TenantID), u.Level, formatTime(u.CreatedAt, "-"))
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// checkTenant refuses a tenant that is not an organization on record, once
// any organization exists: until then tenants are free-form, so that
// databases from before organizations keep working.
func checkTenant(ctx context.Context, a *app, tenant string) error {
	if tenant == "" {
		return nil
	}
	_, err := a.db.OrgByID(ctx, tenant)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	some, _, err := a.db.ListOrgs(ctx, store.OrgFilter{Limit: 1})
	if err != nil || len(some) == 0 {
		return err
	}
	return fmt.Errorf("no organization with ID %q: create it with gatehouse orgs create, or see gatehouse orgs list", tenant)
}
