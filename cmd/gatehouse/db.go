package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
	"github.com/gatehouse-go/gatehouse/webhook/outbox"
)

// dbFlags are the flags every command that opens the database takes, and
// the key prefix of those that issue or verify keys.
type dbFlags struct {
	db, dsn, prefix string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.db, "db", "", "SQLite database file (default gatehouse.db, or $GATEHOUSE_DSN)")
	fs.StringVar(&d.dsn, "dsn", "", "database DSN: a SQLite path or postgres://... (default $GATEHOUSE_DSN)")
}

// registerPrefix adds --prefix, for the commands that issue or verify keys.
func (d *dbFlags) registerPrefix(fs *flag.FlagSet) {
	fs.StringVar(&d.prefix, "prefix", "", "API key prefix (default $GATEHOUSE_KEY_PREFIX or gh_live.)")
}

// resolve returns the DSN: --dsn, then --db, then $GATEHOUSE_DSN, then
// gatehouse.db.
func (d *dbFlags) resolve(e env) (string, error) {
	if d.dsn != "" && d.db != "" {
		return "", fmt.Errorf("%w: give --db or --dsn, not both", errUsage)
	}
	switch {
	case d.dsn != "":
		return d.dsn, nil
	case d.db != "":
		return d.db, nil
	case e.getenv("GATEHOUSE_DSN") != "":
		return e.getenv("GATEHOUSE_DSN"), nil
	}
	return "gatehouse.db", nil
}

// app is what commands share: the store, the key format and the hasher.
type app struct {
	db     *sqlstore.Store
	format apikey.Format
	hasher *store.Hasher
	policy admin.Policy

	sinkOnce sync.Once
	sink     *outbox.Sink // the webhook outbox (see eventSink)
}

// newDBFlags returns the flag set of newFlags with the database flags
// registered on it.
func newDBFlags(e env, name, usage string) (*flag.FlagSet, *dbFlags) {
	fs := newFlags(e, name, usage)
	d := new(dbFlags)
	d.register(fs)
	return fs, d
}

// parseAndOpen parses fs as parseFlags does (operand is the one argument
// the command takes, or empty) and opens the app.
func parseAndOpen(ctx context.Context, fs *flag.FlagSet, d *dbFlags, args []string, operand string, e env) (*app, error) {
	if err := parseFlags(fs, args, operand); err != nil {
		return nil, err
	}
	return openApp(ctx, *d, e)
}

func openApp(ctx context.Context, d dbFlags, e env) (*app, error) {
	return openAppTimeout(ctx, d, e, 5*time.Second)
}

// openAppTimeout opens the database with timeout as the database's own
// bound on a statement (and SQLite's busy timeout), and refuses to go on
// when this process's pepper is not the one the database's keys use.
func openAppTimeout(ctx context.Context, d dbFlags, e env, timeout time.Duration) (*app, error) {
	dsn, err := d.resolve(e)
	if err != nil {
		return nil, err
	}
	prefix := d.prefix
	if prefix == "" {
		prefix = e.getenv("GATEHOUSE_KEY_PREFIX")
	}
	if prefix == "" {
		prefix = "gh_live."
	}
	format, err := apikey.NewFormat(prefix)
	if err != nil {
		return nil, err
	}
	hasher, err := store.NewHasher([]byte(e.getenv("GATEHOUSE_PEPPER")))
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_PEPPER: %w", err)
	}
	policy, err := policyFromEnv(e)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{StatementTimeout: timeout, BusyTimeout: timeout})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.CheckPepper(cctx, hasher); err != nil {
		s.Close()
		if errors.Is(err, sqlstore.ErrPepperMismatch) {
			return nil, fmt.Errorf("GATEHOUSE_PEPPER: %w; give every process that shares this database the same GATEHOUSE_PEPPER (or none at all)", err)
		}
		return nil, err
	}
	return &app{db: s, format: format, hasher: hasher, policy: policy}, nil
}

// policyFromEnv reads the key expiry policy: GATEHOUSE_KEY_MAX_DAYS (1 to
// 400: new keys must expire within that many days), GATEHOUSE_KEY_DEFAULT_DAYS
// (the lifetime of keys created without one), GATEHOUSE_KEY_REQUIRE_EXPIRY
// (true: refuse keys without an expiry) and GATEHOUSE_KEY_TZ (the time zone
// whose day ends expire keys; default UTC).
func policyFromEnv(e env) (admin.Policy, error) {
	var p admin.Policy
	days := func(name string) (int, error) {
		v := e.getenv(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > admin.MaxLifetimeDaysCap {
			return 0, fmt.Errorf("%s: want a number of days from 1 to %d, got %q", name, admin.MaxLifetimeDaysCap, v)
		}
		return n, nil
	}
	var err error
	if p.MaxLifetimeDays, err = days("GATEHOUSE_KEY_MAX_DAYS"); err != nil {
		return p, err
	}
	if p.DefaultLifetimeDays, err = days("GATEHOUSE_KEY_DEFAULT_DAYS"); err != nil {
		return p, err
	}
	if v := e.getenv("GATEHOUSE_KEY_REQUIRE_EXPIRY"); v != "" {
		if p.RequireExpiry, err = strconv.ParseBool(v); err != nil {
			return p, fmt.Errorf("GATEHOUSE_KEY_REQUIRE_EXPIRY: want true or false, got %q", v)
		}
	}
	if v := e.getenv("GATEHOUSE_KEY_TZ"); v != "" {
		if p.Location, err = time.LoadLocation(v); err != nil {
			return p, fmt.Errorf("GATEHOUSE_KEY_TZ: unknown time zone %q", v)
		}
	}
	if p.MaxLifetimeDays > 0 && p.DefaultLifetimeDays > p.MaxLifetimeDays {
		return p, fmt.Errorf("GATEHOUSE_KEY_DEFAULT_DAYS (%d) exceeds GATEHOUSE_KEY_MAX_DAYS (%d)", p.DefaultLifetimeDays, p.MaxLifetimeDays)
	}
	return p, nil
}

func (a *app) Close() error { return a.db.Close() }

// keys returns the key store commands write through. The CLI has no cache:
// running servers learn of its changes through the store's feed.

// manager returns a manager over the database; keys, when set, is the
// cache the server's authenticator reads; log receives the audit events
// (nil: slog.Default()); with adds what a server's manager has beyond the
// CLI's (withUsers). Organizations and their key policies come from the
// database; a.policy (the environment's) is the default of organizations
// without one.
func (a *app) manager(keys store.KeyStore, log *slog.Logger, with ...func(*admin.Config)) (*admin.Manager, error) {
	if keys == nil {
		keys = a.db
	}
	cfg := admin.Config{Hasher: a.hasher, Policy: a.policy, Logger: log, Orgs: a.db, Events: a.eventSink()}
	for _, f := range with {
		f(&cfg)
	}
	return admin.NewManager(keys, a.db, a.format, cfg)
}

// withUsers gives the users API a password hasher (for the users it
// creates) and the session cache (whose sessions end when a user is
// deleted or changes level or scopes).
func withUsers(passwords admin.PasswordHasher, sessions admin.UserSessions) func(*admin.Config) {
	return func(c *admin.Config) { c.Passwords, c.Sessions = passwords, sessions }
}

// policyFor returns the key policy of tenant: its organization's own, else
// the environment's.
func (a *app) policyFor(ctx context.Context, tenant string) (admin.Policy, error) {
	m, err := a.manager(nil, nil)
	if err != nil {
		return admin.Policy{}, err
	}
	return m.PolicyFor(ctx, tenant)
}
