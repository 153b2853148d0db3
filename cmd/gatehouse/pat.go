package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-go/gatehouse/jwtauth"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// Personal access tokens minted from configs that `gatehouse pat create`
// writes carry this issuer and audience; `gatehouse serve` verifies them
// against the registered public keys.
const (
	patIssuer   = "gatehouse-personal"
	patAudience = "gatehouse-api"
	// patRecheck is how long serve trusts a registration it has read:
	// how soon a deletion by another process takes effect.
	patRecheck = 5 * time.Second
)

const patUsage = `Usage: gatehouse pat <subcommand> [flags]

Personal access configs: a key pair whose public half is registered in the
database and whose private half is written to a file (mode 0600) that its
owner keeps, to mint short-lived JWTs. The server never holds a secret for
these tokens; deleting the registration revokes them.

Subcommands:
  create   create a config file and register its public key
  list     list an owner's registrations (never a private key)
  delete   delete a registration by kid: its tokens are refused

Run gatehouse pat <subcommand> --help for its flags.
`

func pat(ctx context.Context, args []string, e env) error {
	return group(ctx, args, e, "pat", patUsage, map[string]func(context.Context, []string, env) error{
		"create": patCreate,
		"list":   patList,
		"delete": patDelete,
	})
}

func patCreate(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "pat create", "pat create --owner USER [flags]")
	var d dbFlags
	d.register(fs)
	owner := fs.String("owner", "", "the user the tokens act as (required)")
	tenant := fs.String("tenant", "", "tenant (organization) ID")
	name := fs.String("name", "", "a label for the registration (\"laptop\")")
	scopeList := fs.String("scopes", "", "the most the tokens may do: comma- or space-separated scopes")
	alg := fs.String("algorithm", "EdDSA", "EdDSA or ES256")
	url := fs.String("url", "http://127.0.0.1:8080", "the API the config is for, kept in the file for the client")
	out := fs.String("out", "gatehouse-pat.json", "where to write the config (never overwritten)")
	expires := fs.String("expires", "", "registration lifetime (90d, 36h) or date; default never")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *owner == "" {
		return fmt.Errorf("%w: pat create needs --owner", errUsage)
	}
	sc, err := scopes.Parse(*scopeList)
	if err != nil {
		return fmt.Errorf("%w: --scopes: %v", errUsage, err)
	}
	if *alg != "EdDSA" && *alg != "ES256" {
		return fmt.Errorf("%w: --algorithm must be EdDSA or ES256", errUsage)
	}
	now := time.Now()
	exp, err := parseExpiry(*expires, now)
	if err != nil {
		return fmt.Errorf("%w: --expires: %v", errUsage, err)
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.db.UserByID(ctx, *owner); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user with ID %q (see gatehouse users list)", *owner)
		}
		return err
	}
	cfg, rec, err := jwtauth.CreatePersonalConfig(ctx, a.db, jwtauth.PersonalParams{
		OwnerID: *owner, TenantID: *tenant, Name: *name, Scopes: sc, Algorithm: *alg,
		Issuer: patIssuer, Audience: patAudience, URL: *url, ExpiresAt: exp, Now: now,
	})
	if err != nil {
		return err
	}
	if err := jwtauth.WriteConfigFile(*out, cfg); err != nil {
		// The file could not be written: the registration is useless.
		if derr := a.db.DeleteSigningKey(ctx, rec.KID); derr != nil {
			return fmt.Errorf("%v (and the registration %s could not be removed: %v)", err, rec.KID, derr)
		}
		return err
	}
	fmt.Fprintln(e.stdout, *out)
	fmt.Fprintf(e.stderr, "registered %s key %s for %s, scopes %s, expires %s\nthe private key is only in %s (mode 0600): keep it there\n",
		rec.Algorithm, rec.KID, rec.OwnerID, strings.Join(rec.Scopes, ","), formatTime(rec.ExpiresAt, "never"), *out)
	return nil
}

func patList(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "pat list", "pat list --owner USER [flags]")
	var d dbFlags
	d.register(fs)
	owner := fs.String("owner", "", "whose registrations to list (required)")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *owner == "" {
		return fmt.Errorf("%w: pat list needs --owner", errUsage)
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	regs, err := a.db.ListSigningKeys(ctx, *owner)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tNAME\tALGORITHM\tSCOPES\tTENANT\tCREATED\tEXPIRES")
	for _, k := range regs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, dash(k.Name), k.Algorithm,
			dash(strings.Join(k.Scopes, ",")), dash(k.TenantID), formatTime(k.CreatedAt, "-"), formatTime(k.ExpiresAt, "never"))
	}
	return tw.Flush()
}

func patDelete(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "pat delete", "pat delete [flags] KID")
	var d dbFlags
	d.register(fs)
	if err := parseFlags(fs, args, "kid"); err != nil {
		return err
	}
	a, err := openApp(ctx, d, e)
	if err != nil {
		return err
	}
	defer a.Close()
	kid := fs.Arg(0)
	if _, err := a.db.SigningKeyByKID(ctx, kid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no registration with kid %q", kid)
		}
		return err
	}
	if err := a.db.DeleteSigningKey(ctx, kid); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "deleted registration %s: gatehouse serve refuses its tokens within %s\n", kid, patRecheck)
	return nil
}
