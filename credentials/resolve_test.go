package credentials_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/credentials"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// envOf returns a LookupEnv over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeProfiles(t *testing.T, dir string, f credentials.File, mode os.FileMode) {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	path := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(path, b, mode))
	require.NoError(t, os.Chmod(path, mode))
}

// TestResolutionOrder tries every combination of option, environment and
// profile for each setting: the first source in that order wins, and the
// setting reports it.
func TestResolutionOrder(t *testing.T) {
	type setting struct {
		name    string
		option  func(o *credentials.Options, v string)
		env     string
		profile func(p *credentials.Profile, v string)
		got     func(r *credentials.Resolved) (string, credentials.Source)
	}
	settings := []setting{
		{"token", func(o *credentials.Options, v string) { o.Token = v }, credentials.EnvToken,
			func(p *credentials.Profile, v string) { p.Token = v },
			func(r *credentials.Resolved) (string, credentials.Source) { return r.Token, r.CredentialSource }},
		{"uri", func(o *credentials.Options, v string) { o.URI = v }, credentials.EnvURI,
			func(p *credentials.Profile, v string) { p.URI = v },
			func(r *credentials.Resolved) (string, credentials.Source) { return r.URI, r.URISource }},
		{"project", func(o *credentials.Options, v string) { o.Project = v }, credentials.EnvProject,
			func(p *credentials.Profile, v string) { p.Project = v },
			func(r *credentials.Resolved) (string, credentials.Source) { return r.Project, r.ProjectSource }},
	}
	values := map[credentials.Source]string{
		credentials.FromOptions: "opt", credentials.FromEnv: "env", "profile work": "prof",
	}
	valueOf := func(s setting, src credentials.Source) string {
		v := s.name + "-" + values[src]
		if s.name == "uri" {
			v = "https://" + values[src] + ".example"
		}
		return v
	}
	for _, s := range settings {
		for mask := range 8 {
			inOpt, inEnv, inProf := mask&1 != 0, mask&2 != 0, mask&4 != 0
			t.Run(fmt.Sprintf("%s/opt=%v,env=%v,profile=%v", s.name, inOpt, inEnv, inProf), func(t *testing.T) {
				dir := t.TempDir()
				opts := credentials.Options{ConfigDir: dir, Now: func() time.Time { return now }}
				env := map[string]string{}
				prof := credentials.Profile{}
				// The other two settings always come from the profile, so
				// that resolution can succeed.
				for _, other := range settings {
					if other.name != s.name {
						other.profile(&prof, valueOf(other, "profile work"))
					}
				}
				if inOpt {
					s.option(&opts, valueOf(s, credentials.FromOptions))
				}
				if inEnv {
					env[s.env] = valueOf(s, credentials.FromEnv)
				}
				if inProf {
					s.profile(&prof, valueOf(s, "profile work"))
				}
				opts.LookupEnv = envOf(env)
				writeProfiles(t, dir, credentials.File{DefaultProfile: "work", Profiles: map[string]credentials.Profile{"work": prof}}, 0o600)

				r, err := credentials.Resolve(opts)
				var want credentials.Source
				switch {
				case inOpt:
					want = credentials.FromOptions
				case inEnv:
					want = credentials.FromEnv
				case inProf:
					want = "profile work"
				}
				if want == "" && s.name != "project" {
					require.ErrorIs(t, err, credentials.ErrNoCredentials, "a required setting found nowhere")
					return
				}
				require.NoError(t, err)
				v, src := s.got(r)
				if want == "" {
					assert.Empty(t, v, "project is optional")
					return
				}
				assert.Equal(t, want, src)
				assert.Equal(t, valueOf(s, want), v)
				assert.Equal(t, "work", r.Profile)
			})
		}
	}
}

func TestProfileSelection(t *testing.T) {
	dir := t.TempDir()
	writeProfiles(t, dir, credentials.File{DefaultProfile: "a", Profiles: map[string]credentials.Profile{
		"a":       {URI: "https://a.example", Token: "tok-a"},
		"b":       {URI: "https://b.example", Token: "tok-b"},
		"default": {URI: "https://d.example", Token: "tok-d"},
	}}, 0o600)
	tests := []struct {
		name    string
		opts    credentials.Options
		env     map[string]string
		want    string
		wantErr error
	}{
		{"the file's default", credentials.Options{}, nil, "tok-a", nil},
		{"GATEHOUSE_PROFILE", credentials.Options{}, map[string]string{credentials.EnvProfile: "b"}, "tok-b", nil},
		{"option beats GATEHOUSE_PROFILE", credentials.Options{Profile: "default"}, map[string]string{credentials.EnvProfile: "b"}, "tok-d", nil},
		{"unknown profile", credentials.Options{Profile: "nope"}, nil, "", credentials.ErrConfig},
		{"empty GATEHOUSE_PROFILE", credentials.Options{}, map[string]string{credentials.EnvProfile: " "}, "", credentials.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ConfigDir = dir
			tt.opts.LookupEnv = envOf(tt.env)
			r, err := credentials.Resolve(tt.opts)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Token)
		})
	}
}

// jwt returns an unsigned token shape with the given exp, enough for the
// client's expiry check (the client never verifies signatures).
func jwt(exp time.Time) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"u","exp":%d}`, exp.Unix()))) + ".c2ln"
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.MkdirAll(bad, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "config.json"), []byte("{not json"), 0o600))
	unknown := filepath.Join(dir, "unknown")
	require.NoError(t, os.MkdirAll(unknown, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(unknown, "config.json"), []byte(`{"profiles":{},"colour":"red"}`), 0o600))
	open := filepath.Join(dir, "open")
	writeProfiles(t, open, credentials.File{Profiles: map[string]credentials.Profile{"default": {URI: "https://x.example", Token: "t"}}}, 0o644)
	both := filepath.Join(dir, "both")
	writeProfiles(t, both, credentials.File{Profiles: map[string]credentials.Profile{"default": {URI: "https://x.example", Token: "t", PersonalAccessConfig: "/p"}}}, 0o600)
	empty := filepath.Join(dir, "empty")

	uri := map[string]string{credentials.EnvURI: "https://api.example"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	tests := []struct {
		name    string
		dir     string
		opts    credentials.Options
		env     map[string]string
		wantErr error
		wantMsg string
	}{
		{"nothing anywhere", empty, credentials.Options{}, uri, credentials.ErrNoCredentials, "tried options, GATEHOUSE_TOKEN"},
		{"token set but empty", empty, credentials.Options{}, with(uri, credentials.EnvToken, ""), credentials.ErrInvalid, "GATEHOUSE_TOKEN is set but empty"},
		{"token set to whitespace", empty, credentials.Options{}, with(uri, credentials.EnvToken, " \t"), credentials.ErrInvalid, "GATEHOUSE_TOKEN is set but empty"},
		{"config path set but empty", empty, credentials.Options{}, with(uri, credentials.EnvPersonalConfig, ""), credentials.ErrInvalid, "GATEHOUSE_PERSONAL_ACCESS_CONFIG is set but empty"},
		{"URI set but empty", empty, credentials.Options{Token: "t"}, map[string]string{credentials.EnvURI: ""}, credentials.ErrInvalid, "GATEHOUSE_URI is set but empty"},
		{"token with a space", empty, credentials.Options{Token: "ab cd"}, uri, credentials.ErrInvalid, "whitespace"},
		{"token with a newline", empty, credentials.Options{}, with(uri, credentials.EnvToken, "abc\n"), credentials.ErrInvalid, "whitespace"},
		{"expired JWT", empty, credentials.Options{Token: jwt(now.Add(-time.Minute))}, uri, credentials.ErrExpired, "expired at 2026-11-23T11:59:00Z"},
		{"unreadable profile file", bad, credentials.Options{}, uri, credentials.ErrConfig, "not a valid profile file"},
		{"unknown member in the profile file", unknown, credentials.Options{}, uri, credentials.ErrConfig, "colour"},
		{"token in a world-readable file", open, credentials.Options{}, nil, credentials.ErrConfig, "chmod 600"},
		{"token and config in one source", both, credentials.Options{}, nil, credentials.ErrInvalid, "both a token and a personal access config"},
		{"missing config file", empty, credentials.Options{PersonalAccessConfig: filepath.Join(dir, "nope.json")}, uri, credentials.ErrConfig, "nope.json"},
		{"no URI", empty, credentials.Options{Token: "t"}, nil, credentials.ErrNoCredentials, "no API URI"},
		{"not an http URL", empty, credentials.Options{Token: "t", URI: "ftp://x.example"}, nil, credentials.ErrInvalid, "not an http(s) URL"},
		{"URL with user info", empty, credentials.Options{Token: "t", URI: "https://u:p@x.example"}, nil, credentials.ErrInvalid, "without user info"},
		{"unknown profile asked for, no file", empty, credentials.Options{Token: "t", Profile: "work"}, uri, credentials.ErrConfig, "no profile file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ConfigDir = tt.dir
			tt.opts.LookupEnv = envOf(tt.env)
			tt.opts.Now = func() time.Time { return now }
			_, err := credentials.Resolve(tt.opts)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), "p@x", "errors never repeat secrets")
		})
	}
}

func TestResolvedNeverPrintsTheToken(t *testing.T) {
	r, err := credentials.Resolve(credentials.Options{Token: "sekrit_token_value", URI: "https://api.example", ConfigDir: t.TempDir(), LookupEnv: envOf(nil)})
	require.NoError(t, err)
	for _, s := range []string{r.String(), fmt.Sprintf("%v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%+v", r),
		fmt.Sprintf("%v", *r), fmt.Sprintf("%+v", *r), fmt.Sprintf("%#v", *r)} {
		assert.NotContains(t, s, "sekrit")
	}
}

func TestSaveProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gatehouse")
	require.NoError(t, credentials.SaveProfile(dir, "work", credentials.Profile{URI: "https://w.example", Token: "tw"}, false))
	require.NoError(t, credentials.SaveProfile(dir, "home", credentials.Profile{URI: "https://h.example", Token: "th"}, false))
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	resolve := func() string {
		r, err := credentials.Resolve(credentials.Options{ConfigDir: dir, LookupEnv: envOf(nil)})
		require.NoError(t, err)
		return r.Token
	}
	assert.Equal(t, "tw", resolve(), "the first profile saved becomes the default")
	require.NoError(t, credentials.SetDefaultProfile(dir, "home"))
	assert.Equal(t, "th", resolve())
	err = credentials.SetDefaultProfile(dir, "gone")
	require.ErrorIs(t, err, credentials.ErrConfig)
	assert.Contains(t, err.Error(), "have: home, work")
	assert.ErrorIs(t, credentials.SaveProfile(dir, "bad name", credentials.Profile{}, false), credentials.ErrInvalid)
	assert.ErrorIs(t, credentials.SetDefaultProfile(t.TempDir(), "x"), credentials.ErrConfig)
}

func TestConfigDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/gatehouse"},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/u"}, "/home/u/.config/gatehouse"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.config/gatehouse"},
	}
	for _, tt := range tests {
		got, err := credentials.ConfigDir(credentials.Options{LookupEnv: envOf(tt.env)})
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
	got, err := credentials.ConfigDir(credentials.Options{ConfigDir: "/explicit"})
	require.NoError(t, err)
	assert.Equal(t, "/explicit", got)
	assert.False(t, strings.HasSuffix(got, "gatehouse"))
}

// TestSaveProfileMakesConfigPathAbsolute: a relative personal access
// config path would be read from wherever the client later runs.
func TestSaveProfileMakesConfigPathAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, credentials.SaveProfile(filepath.Join(dir, "cfg"), "p", credentials.Profile{URI: "https://x.example", PersonalAccessConfig: "pat.json"}, false))
	raw, err := os.ReadFile(filepath.Join(dir, "cfg", "config.json"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"personal_access_config": "`+filepath.Join(dir, "pat.json")+`"`)
}
