// Command gatehouse serves a demo API protected by Gatehouse and manages
// its API keys.
//
//	gatehouse serve [--addr 127.0.0.1:8080] [--db gatehouse.db | --dsn postgres://...]
//	gatehouse keys create --name NAME --scopes read,write [--expires 90d] ...
//	gatehouse keys list
//	gatehouse keys revoke ID
//	gatehouse webhooks add --url https://... [--events key.revoked,key.leaked]
//
// Every command takes --db or --dsn, or reads GATEHOUSE_DSN; the default is
// the SQLite file gatehouse.db in the current directory. The pepper for key
// digests comes from GATEHOUSE_PEPPER (at least 16 bytes; the same value
// for the server and the CLI). Errors are one line on stderr and a non-zero
// exit status: 1 for a failure, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv})
	stop()
	os.Exit(code)
}

// env is what a command may touch, so that tests can run commands in
// process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// lookupEnv tells an unset variable from an empty one; nil: getenv,
	// with empty meaning unset.
	lookupEnv func(string) (string, bool)
	// ready, when set, is called by serve with the address it listens on.
	ready func(addr string)
}

// lookup reads an environment variable, telling unset from empty when it
// can.
func (e env) lookup(name string) (string, bool) {
	if e.lookupEnv != nil {
		return e.lookupEnv(name)
	}
	v := e.getenv(name)
	return v, v != ""
}

// errUsage marks errors that are the caller's (exit status 2).
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, e env) error
}

func commands() []command {
	return []command{
		{"serve", "serve the demo API behind Gatehouse", serve},
		{"keys", "create, list, update, rotate and revoke API keys", keys},
		{"orgs", "create and list organizations", orgs},
		{"policy", "get, set and clear an organization's key policy", policy},
		{"users", "create and list the users who own keys", users},
		{"webhooks", "add, list, enable and remove webhook endpoints; show deliveries", webhooks},
		{"pat", "personal access configs: create, list, delete", pat},
		{"configure", "write a client profile (URI, token or personal access config)", configure},
		{"whoami", "ask the API who the resolved credentials are", whoami},
	}
}

const topUsage = `Gatehouse: API authentication, served and managed.

Usage:
  gatehouse <command> [flags]

Commands:
`

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		printTopUsage(e.stderr)
		fmt.Fprintln(e.stderr, "gatehouse: no command given")
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printTopUsage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], e)
			return exitCode(err, e.stderr)
		}
	}
	fmt.Fprintf(e.stderr, "gatehouse: unknown command %q (see gatehouse --help)\n", args[0])
	return 2
}

func printTopUsage(w io.Writer) {
	fmt.Fprint(w, topUsage)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun gatehouse <command> --help for a command's flags.\n")
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return 1
	}
}

// group runs the subcommand named by args[0] among subs, for a command
// such as keys whose work is done by subcommands; usage lists them.
func group(ctx context.Context, args []string, e env, name, usage string, subs map[string]func(context.Context, []string, env) error) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, usage)
		if len(args) == 0 {
			return fmt.Errorf("%w: %s needs a subcommand", errUsage, name)
		}
		return nil
	}
	if run, ok := subs[args[0]]; ok {
		return run(ctx, args[1:], e)
	}
	return fmt.Errorf("%w: unknown %s subcommand %q", errUsage, name, args[0])
}

// newFlags returns a flag set that reports errors as usage errors and
// prints its usage to stderr on --help.
func newFlags(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: gatehouse %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and wraps a bad flag as a usage error. operand
// names the one argument the command takes after its flags ("key ID"), or
// is empty for a command that takes none; any other count is a usage
// error, so that a flag after a stray word (which the flag package stops
// at) is never silently ignored.
func parseFlags(fs *flag.FlagSet, args []string, operand string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s %v", errUsage, fs.Name(), err)
	}
	switch {
	case operand == "" && fs.NArg() > 0:
		return fmt.Errorf("%w: %s takes no arguments (flags go before any other word): %q", errUsage, fs.Name(), fs.Arg(0))
	case operand != "" && fs.NArg() != 1:
		return fmt.Errorf("%w: %s takes one %s, after its flags", errUsage, fs.Name(), operand)
	}
	return nil
}
