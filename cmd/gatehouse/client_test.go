package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigureAndWhoami walks the client side end to end against a
// running server: a profile with the bootstrap key, then one with a
// personal access config, chosen with set-profile, each checked with
// whoami.
func TestConfigureAndWhoami(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"GATEHOUSE_DSN": filepath.Join(dir, "g.db"), "XDG_CONFIG_HOME": filepath.Join(dir, "xdg")}
	base, out := startServer(t, vars)
	m := regexp.MustCompile(`KEY=(gh_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2, out.String())
	key := m[1]

	code, _, stderr := cliStdin(t, vars, key+"\n", "configure", "--uri", base, "--token-stdin")
	require.Equal(t, 0, code, stderr)
	cfgPath := filepath.Join(dir, "xdg", "gatehouse", "config.json")
	fi, err := os.Stat(cfgPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, stdout, stderr := cli(t, vars, "whoami")
	require.Equal(t, 0, code, stderr)
	var me struct{ ID, Kind string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &me))
	assert.Equal(t, "admin", me.ID)
	assert.Equal(t, "api_key", me.Kind)
	assert.Contains(t, stderr, "token from profile default")
	assert.NotContains(t, stderr, key)

	// A personal access config for a new user, in a second profile.
	code, _, stderr = cli(t, vars, "users", "create", "--id", "alice", "--email", "alice@example.com")
	require.Equal(t, 0, code, stderr)
	pac := filepath.Join(dir, "alice.json")
	code, _, stderr = cli(t, vars, "pat", "create", "--owner", "alice", "--scopes", "read", "--url", base, "--out", pac)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, vars, "configure", "--profile", "alice", "--uri", base, "--personal-access-config", pac)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, vars, "configure", "set-profile", "alice")
	require.Equal(t, 0, code, stderr)

	code, stdout, stderr = cli(t, vars, "whoami")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &me))
	assert.Equal(t, "alice", me.ID, "the minted token acts as the config's owner")
	assert.Equal(t, "jwt", me.Kind)

	// The environment beats the profile.
	withToken := map[string]string{"GATEHOUSE_DSN": vars["GATEHOUSE_DSN"], "XDG_CONFIG_HOME": vars["XDG_CONFIG_HOME"], "GATEHOUSE_TOKEN": key}
	code, stdout, _ = cli(t, withToken, "whoami")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(stdout), &me))
	assert.Equal(t, "admin", me.ID)

	code, _, stderr = cli(t, vars, "whoami", "--profile", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `no profile "nope"`)
}

func TestConfigureInteractive(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": dir}
	code, _, stderr := cliStdin(t, vars, "https://api.example.com\ncpx_live.abc\nproj-7\n", "configure", "--profile", "work")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "API URI [http://127.0.0.1:8080]: ")
	raw, err := os.ReadFile(filepath.Join(dir, "gatehouse", "config.json"))
	require.NoError(t, err)
	var f struct {
		DefaultProfile string `json:"default_profile"`
		Profiles       map[string]map[string]string
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	assert.Equal(t, "work", f.DefaultProfile)
	assert.Equal(t, map[string]string{"uri": "https://api.example.com", "token": "cpx_live.abc", "project": "proj-7"}, f.Profiles["work"])
}

func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": dir, "HOME": dir}
	tests := []struct {
		name     string
		vars     map[string]string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"whoami without credentials", vars, "", []string{"whoami"}, 1, "run gatehouse configure"},
		{"empty GATEHOUSE_TOKEN", map[string]string{"XDG_CONFIG_HOME": dir, "GATEHOUSE_TOKEN": " "}, "", []string{"whoami"}, 1, "GATEHOUSE_TOKEN is set but empty"},
		{"plain HTTP to a remote host", map[string]string{"XDG_CONFIG_HOME": dir, "GATEHOUSE_TOKEN": "t", "GATEHOUSE_URI": "http://api.example.com"}, "", []string{"whoami"}, 1, "use https"},
		{"configure without a credential", vars, "", []string{"configure", "--uri", "https://x.example"}, 2, "needs a token"},
		{"configure with both", vars, "tok\n", []string{"configure", "--uri", "https://x.example", "--token-stdin", "--personal-access-config", "p.json"}, 2, "not both"},
		{"configure with a bad URI", vars, "tok\n", []string{"configure", "--uri", "ftp://x", "--token-stdin"}, 1, "not an http(s) URL"},
		{"configure with an unreadable config", vars, "", []string{"configure", "--uri", "https://x.example", "--personal-access-config", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
		{"token-stdin with nothing", vars, "", []string{"configure", "--uri", "https://x.example", "--token-stdin"}, 1, "nothing to read"},
		{"set-profile without a file", vars, "", []string{"configure", "set-profile", "x"}, 1, "run gatehouse configure first"},
		{"set-profile without a name", vars, "", []string{"configure", "set-profile"}, 2, "one profile name"},
		{"bad profile name", vars, "tok\n", []string{"configure", "--profile", "a b", "--uri", "https://x.example", "--token-stdin"}, 1, "profile name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cliStdin(t, tt.vars, tt.stdin, tt.args...)
			assert.Equal(t, tt.wantCode, code, stderr)
			assert.Contains(t, stderr, tt.wantErr)
			assert.Equal(t, 1, strings.Count(stderr, "gatehouse: "), "one error line: %q", stderr)
		})
	}
}
