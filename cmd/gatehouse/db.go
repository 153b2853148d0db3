package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/sqlstore"
)

// dbFlags are the flags every command that opens the database takes.
type dbFlags struct {
	db, dsn, prefix string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.db, "db", "", "SQLite database file (default gatehouse.db, or $GATEHOUSE_DSN)")
	fs.StringVar(&d.dsn, "dsn", "", "database DSN: a SQLite path or postgres://... (default $GATEHOUSE_DSN)")
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
}

func openApp(ctx context.Context, d dbFlags, e env) (*app, error) {
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
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Config{})
	if err != nil {
		return nil, err
	}
	return &app{db: s, format: format, hasher: hasher}, nil
}

func (a *app) Close() error { return a.db.Close() }

// keys returns the key store commands write through. The CLI has no cache:
// running servers learn of its changes through the store's feed.
func (a *app) keys() store.KeyStore { return a.db }

// manager returns a key manager over the database; keys, when set, is the
// cache the server's authenticator reads.
func (a *app) manager(keys store.KeyStore) (*admin.Manager, error) {
	if keys == nil {
		keys = a.db
	}
	return admin.NewManager(keys, a.db, a.format, admin.Config{Hasher: a.hasher, Policy: a.policy})
}
