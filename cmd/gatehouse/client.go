package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-go/gatehouse/credentials"
)

const configureUsage = `Usage: gatehouse configure [--profile NAME] [--uri URI] [--token-stdin | --personal-access-config PATH] [--project P] [--default]
       gatehouse configure set-profile NAME

Writes a client profile to $XDG_CONFIG_HOME/gatehouse/config.json (mode 0600).
Without --uri, --token-stdin or --personal-access-config it asks for each
setting on the terminal. set-profile makes NAME the default profile.
Clients (gatehouse whoami, the credentials package) read, in order: their
options, GATEHOUSE_TOKEN / GATEHOUSE_URI / GATEHOUSE_PROJECT /
GATEHOUSE_PERSONAL_ACCESS_CONFIG, then the profile (GATEHOUSE_PROFILE or the
default).
`

func (e env) credentialOptions() credentials.Options {
	return credentials.Options{LookupEnv: e.lookup}
}

func configure(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "set-profile" {
		fs := newFlags(e, "configure set-profile", "configure set-profile NAME")
		if err := parseFlags(fs, args[1:], "profile name"); err != nil {
			return err
		}
		dir, err := credentials.ConfigDir(e.credentialOptions())
		if err != nil {
			return err
		}
		if err := credentials.SetDefaultProfile(dir, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "default profile: %s\n", fs.Arg(0))
		return nil
	}
	fs := newFlags(e, "configure", "configure [flags]  (or: configure set-profile NAME)")
	fs.Usage = func() { fmt.Fprint(e.stderr, configureUsage, "\nFlags:\n"); fs.PrintDefaults() }
	name := fs.String("profile", "default", "profile name")
	uri := fs.String("uri", "", "API base URI, such as https://api.example.com")
	tokenStdin := fs.Bool("token-stdin", false, "read the token (an API key or JWT) from the first line of stdin")
	pac := fs.String("personal-access-config", "", "path of a personal access config (gatehouse pat create)")
	project := fs.String("project", "", "default project")
	makeDefault := fs.Bool("default", false, "make this the default profile")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	if *tokenStdin && *pac != "" {
		return fmt.Errorf("%w: give --token-stdin or --personal-access-config, not both", errUsage)
	}
	in := bufio.NewReader(io.LimitReader(e.stdin, 64<<10))
	p := credentials.Profile{URI: *uri, PersonalAccessConfig: *pac, Project: *project}
	interactive := *uri == "" && !*tokenStdin && *pac == ""
	if *tokenStdin {
		tok, err := readLine(in)
		if err != nil {
			return fmt.Errorf("reading the token from stdin: %w", err)
		}
		p.Token = tok
	}
	if interactive {
		var err error
		if p.URI, err = prompt(e, in, "API URI", "http://127.0.0.1:8080"); err != nil {
			return err
		}
		if p.Token, err = prompt(e, in, "Token (empty to use a personal access config)", ""); err != nil {
			return err
		}
		if p.Token == "" {
			if p.PersonalAccessConfig, err = prompt(e, in, "Personal access config path", "gatehouse-pat.json"); err != nil {
				return err
			}
		}
		if p.Project, err = prompt(e, in, "Project (optional)", ""); err != nil {
			return err
		}
	}
	if p.URI == "" {
		return fmt.Errorf("%w: configure needs --uri", errUsage)
	}
	if p.Token == "" && p.PersonalAccessConfig == "" {
		return fmt.Errorf("%w: configure needs a token (--token-stdin) or --personal-access-config", errUsage)
	}
	// Check the profile as a client would read it before saving it.
	opts := credentials.Options{Token: p.Token, PersonalAccessConfig: p.PersonalAccessConfig, URI: p.URI,
		ConfigDir: "/nonexistent", LookupEnv: func(string) (string, bool) { return "", false }}
	if _, err := credentials.Resolve(opts); err != nil {
		return err
	}
	dir, err := credentials.ConfigDir(e.credentialOptions())
	if err != nil {
		return err
	}
	if err := credentials.SaveProfile(dir, *name, p, *makeDefault); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "saved profile %q in %s/config.json\n", *name, dir)
	return nil
}

// readLine returns the first line of r without its line ending.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("nothing to read")
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func prompt(e env, in *bufio.Reader, label, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(e.stderr, "%s [%s]: ", label, def)
	} else {
		fmt.Fprintf(e.stderr, "%s: ", label)
	}
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return def, nil
	}
	return line, nil
}

func whoami(ctx context.Context, args []string, e env) error {
	fs := newFlags(e, "whoami", "whoami [--profile NAME] [--uri URI]")
	name := fs.String("profile", "", "profile to use (default: GATEHOUSE_PROFILE, then the default profile)")
	uri := fs.String("uri", "", "API base URI (overrides the environment and the profile)")
	if err := parseFlags(fs, args, ""); err != nil {
		return err
	}
	opts := e.credentialOptions()
	opts.Profile, opts.URI = *name, *uri
	r, err := credentials.Resolve(opts)
	if err != nil {
		return err
	}
	client, err := r.Client()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URI+"/api/me", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s/api/me: %w", r.URI, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var prob struct{ Detail string }
		_ = json.Unmarshal(body, &prob)
		return fmt.Errorf("%s/api/me answered %d: %s (credentials: %s)", r.URI, resp.StatusCode, prob.Detail, r)
	}
	fmt.Fprintf(e.stdout, "%s\n", strings.TrimSpace(string(body)))
	fmt.Fprintf(e.stderr, "(%s)\n", r)
	return nil
}
