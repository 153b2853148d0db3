// Package credentials is the client side of Gatehouse: it finds the API
// URL, the credential and the project a program should use, and gives it an
// http.RoundTripper that authenticates its requests.
//
// Each setting is taken from the first source that has it, in a fixed
// order:
//
//  1. explicit [Options] (flags, code);
//  2. the environment: GATEHOUSE_TOKEN, GATEHOUSE_URI, GATEHOUSE_PROJECT,
//     GATEHOUSE_PERSONAL_ACCESS_CONFIG (and GATEHOUSE_PROFILE to pick a
//     profile);
//  3. a profile in $XDG_CONFIG_HOME/gatehouse/config.json (default
//     ~/.config/gatehouse/config.json): the one named by the options or
//     GATEHOUSE_PROFILE, else the file's default profile, else "default".
//
// The credential is a token (an API key or a JWT) or a personal access
// config (a file holding a private key, from which short-lived JWTs are
// minted). It comes whole from one source: the first that names either;
// a source that names both is an error, as is a variable that is set but
// empty.
//
//	r, err := credentials.Resolve(credentials.Options{})
//	if err != nil {
//		log.Fatal(err) // says which source was tried and what is wrong
//	}
//	client, err := r.Client()
//	resp, err := client.Get(r.URI + "/api/me")
//
// Errors wrap [ErrNoCredentials], [ErrInvalid], [ErrConfig] or [ErrExpired]
// for errors.Is.
package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/jwtauth"
)

// The environment variables Resolve reads.
const (
	EnvToken          = "GATEHOUSE_TOKEN"
	EnvURI            = "GATEHOUSE_URI"
	EnvProject        = "GATEHOUSE_PROJECT"
	EnvPersonalConfig = "GATEHOUSE_PERSONAL_ACCESS_CONFIG"
	EnvProfile        = "GATEHOUSE_PROFILE"
)

var (
	// ErrNoCredentials: no source named a token or a personal access
	// config.
	ErrNoCredentials = errors.New("credentials: no credentials found")
	// ErrInvalid: a source holds a value that cannot be right (empty,
	// whitespace, not a URL, a token and a config at once).
	ErrInvalid = errors.New("credentials: invalid setting")
	// ErrConfig: a file (the profile file, a personal access config, a CA
	// bundle) cannot be read or parsed, or is readable by others.
	ErrConfig = errors.New("credentials: unusable file")
	// ErrExpired: the token, or the personal access config's registration,
	// has expired.
	ErrExpired = errors.New("credentials: expired")
)

// Options are the explicit settings; each one set wins over the
// environment and the profile file.
type Options struct {
	Token                string
	URI                  string
	Project              string
	PersonalAccessConfig string // path of a personal access config file
	// Profile names the profile to read from the profile file.
	Profile string
	// ConfigDir replaces $XDG_CONFIG_HOME/gatehouse.
	ConfigDir string
	// CAFile is a PEM bundle of extra root certificates; default
	// $SSL_CERT_FILE.
	CAFile string
	// LookupEnv reads the environment. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Source says where a setting came from.
type Source string

// The sources; a profile is "profile NAME".
const (
	FromOptions Source = "options"
	FromEnv     Source = "environment"
	FromDefault Source = "default"
)

func fromProfile(name string) Source { return Source("profile " + name) }

// Resolved is the outcome of [Resolve]. Token is a secret: String and
// %v never print it.
type Resolved struct {
	URI       string
	URISource Source
	// Token is set when the credential is a token.
	Token string
	// Personal is set when the credential is a personal access config,
	// read from PersonalPath.
	Personal     *jwtauth.PersonalConfig
	PersonalPath string
	// CredentialSource says where the token or config came from.
	CredentialSource Source
	Project          string
	ProjectSource    Source
	// Profile is the profile that was consulted ("" when the file does
	// not exist).
	Profile string
	CAFile  string

	now func() time.Time
}

// String describes r without its secrets.
func (r Resolved) String() string {
	kind := "token"
	if r.Personal != nil {
		kind = "personal access config " + r.PersonalPath
	}
	return fmt.Sprintf("gatehouse credentials: %s from %s, URI %s from %s", kind, r.CredentialSource, r.URI, r.URISource)
}

// GoString keeps %#v from printing the token.
func (r Resolved) GoString() string { return r.String() }

// Resolve finds the settings. See the package documentation for the
// order.
func Resolve(opts Options) (*Resolved, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env := func(name string) (string, bool, error) {
		v, ok := opts.LookupEnv(name)
		if !ok {
			return "", false, nil
		}
		if strings.TrimSpace(v) == "" {
			return "", false, fmt.Errorf("%w: %s is set but empty; unset it or give a value", ErrInvalid, name)
		}
		return v, true, nil
	}

	profileName := opts.Profile
	if profileName == "" {
		v, ok, err := env(EnvProfile)
		if err != nil {
			return nil, err
		}
		if ok {
			profileName = v
		}
	}
	file, path, err := loadFile(opts)
	if err != nil {
		return nil, err
	}
	var prof *Profile
	if file != nil {
		explicit := profileName != ""
		if !explicit {
			profileName = file.DefaultProfile
		}
		if profileName == "" {
			profileName = "default"
		}
		if p, ok := file.Profiles[profileName]; ok {
			prof = &p
		} else if explicit {
			return nil, fmt.Errorf("%w: no profile %q in %s", ErrConfig, profileName, path)
		}
	} else if profileName != "" && opts.Profile != "" {
		return nil, fmt.Errorf("%w: profile %q asked for, but there is no profile file at %s", ErrConfig, profileName, path)
	}

	r := &Resolved{now: opts.Now}
	if prof != nil {
		r.Profile = profileName
	}
	src := fromProfile(profileName)

	// The credential: whole from the first source that names one.
	type cred struct {
		token, config string
		src           Source
	}
	var creds []cred
	creds = append(creds, cred{opts.Token, opts.PersonalAccessConfig, FromOptions})
	tok, _, err := env(EnvToken)
	if err != nil {
		return nil, err
	}
	pac, _, err := env(EnvPersonalConfig)
	if err != nil {
		return nil, err
	}
	creds = append(creds, cred{tok, pac, FromEnv})
	if prof != nil {
		creds = append(creds, cred{prof.Token, prof.PersonalAccessConfig, src})
	}
	var chosen *cred
	for i := range creds {
		c := &creds[i]
		if c.token == "" && c.config == "" {
			continue
		}
		if c.token != "" && c.config != "" {
			return nil, fmt.Errorf("%w: the %s give both a token and a personal access config; keep one", ErrInvalid, c.src)
		}
		chosen = c
		break
	}
	if chosen == nil {
		tried := "options, " + EnvToken + ", " + EnvPersonalConfig
		if path != "" {
			tried += ", " + path
			if prof == nil && file != nil {
				tried += " (no profile " + profileName + ")"
			} else if file == nil {
				tried += " (not found)"
			}
		}
		return nil, fmt.Errorf("%w: tried %s; run gatehouse configure, or set %s", ErrNoCredentials, tried, EnvToken)
	}
	r.CredentialSource = chosen.src
	if chosen.token != "" {
		if err := checkToken(chosen.token, chosen.src, opts.Now()); err != nil {
			return nil, err
		}
		r.Token = chosen.token
	} else {
		cfg, err := jwtauth.ReadConfigFile(chosen.config)
		if err != nil {
			return nil, fmt.Errorf("%w: personal access config %s (from %s): %v", ErrConfig, chosen.config, chosen.src, err)
		}
		if !cfg.ExpiresAt.IsZero() && !opts.Now().Before(cfg.ExpiresAt) {
			return nil, fmt.Errorf("%w: the personal access config %s expired at %s; create a new one", ErrExpired, chosen.config, cfg.ExpiresAt.UTC().Format(time.RFC3339))
		}
		r.Personal, r.PersonalPath = cfg, chosen.config
	}

	// The URI: options, environment, profile, then the personal access
	// config's own URL.
	uri, _, err := env(EnvURI)
	if err != nil {
		return nil, err
	}
	var fromConfig string
	if r.Personal != nil {
		fromConfig = r.Personal.URL
	}
	r.URI, r.URISource = first(
		setting{opts.URI, FromOptions},
		setting{uri, FromEnv},
		setting{profileValue(prof, func(p *Profile) string { return p.URI }), src},
		setting{fromConfig, Source("personal access config")})
	if r.URI == "" {
		return nil, fmt.Errorf("%w: no API URI: tried options, %s and the profile; set %s", ErrNoCredentials, EnvURI, EnvURI)
	}
	u, err := url.Parse(r.URI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: the URI from %s is not an http(s) URL without user info", ErrInvalid, r.URISource)
	}
	r.URI = strings.TrimRight(r.URI, "/")

	proj, _, err := env(EnvProject)
	if err != nil {
		return nil, err
	}
	r.Project, r.ProjectSource = first(
		setting{opts.Project, FromOptions},
		setting{proj, FromEnv},
		setting{profileValue(prof, func(p *Profile) string { return p.Project }), src})

	switch {
	case opts.CAFile != "":
		r.CAFile = opts.CAFile
	case prof != nil && prof.CAFile != "":
		r.CAFile = prof.CAFile
	default:
		if v, ok := opts.LookupEnv("SSL_CERT_FILE"); ok && strings.TrimSpace(v) != "" {
			r.CAFile = v
		}
	}
	return r, nil
}

// setting is one source's value of a setting; empty when it has none.
type setting struct {
	value string
	src   Source
}

// first returns the first of settings that has a value, and its source.
func first(settings ...setting) (string, Source) {
	for _, s := range settings {
		if s.value != "" {
			return s.value, s.src
		}
	}
	return "", ""
}

// profileValue returns get(p), or "" without a profile.
func profileValue(p *Profile, get func(*Profile) string) string {
	if p == nil {
		return ""
	}
	return get(p)
}

// checkToken refuses tokens that cannot be sent (whitespace, control
// characters) and JWTs whose exp has passed.
func checkToken(tok string, src Source, now time.Time) error {
	if strings.TrimSpace(tok) == "" {
		return fmt.Errorf("%w: the token from %s is empty", ErrInvalid, src)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: the token from %s holds whitespace or a character a header cannot carry", ErrInvalid, src)
		}
	}
	if exp, ok := jwtExpiry(tok); ok && !now.Before(exp) {
		return fmt.Errorf("%w: the token from %s expired at %s", ErrExpired, src, exp.UTC().Format(time.RFC3339))
	}
	return nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it: the client
// only wants to avoid sending a token the server will refuse.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 8192 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	secs, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(secs), 0), true
}
