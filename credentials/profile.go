package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Profile is one named set of settings in the profile file.
type Profile struct {
	URI                  string `json:"uri,omitempty"`
	Token                string `json:"token,omitempty"`
	PersonalAccessConfig string `json:"personal_access_config,omitempty"`
	Project              string `json:"project,omitempty"`
	CAFile               string `json:"ca_file,omitempty"`
}

// File is the profile file: named profiles and the one used when none is
// asked for.
type File struct {
	DefaultProfile string             `json:"default_profile,omitempty"`
	Profiles       map[string]Profile `json:"profiles"`
}

// maxFileSize bounds the profile file Resolve reads.
const maxFileSize = 1 << 20

// ConfigDir returns the directory of the profile file: opts.ConfigDir,
// else $XDG_CONFIG_HOME/gatehouse, else ~/.config/gatehouse.
func ConfigDir(opts Options) (string, error) {
	if opts.ConfigDir != "" {
		return opts.ConfigDir, nil
	}
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup("XDG_CONFIG_HOME"); ok && filepath.IsAbs(v) {
		return filepath.Join(v, "gatehouse"), nil
	}
	home, ok := lookup("HOME")
	if !ok || home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: no home directory to find the profile file in: %v", ErrConfig, err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "gatehouse"), nil
}

// loadFile reads the profile file; a missing file is (nil, path, nil).
func loadFile(opts Options) (*File, string, error) {
	dir, err := ConfigDir(opts)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "config.json")
	f, err := readFile(path)
	return f, path, err
}

func readFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrConfig, path, maxFileSize)
	}
	var f File
	dec := json.NewDecoder(fh)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s is not a valid profile file: %v", ErrConfig, path, err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		for name, p := range f.Profiles {
			if p.Token != "" {
				return nil, fmt.Errorf("%w: %s holds a token (profile %q) but others may read it (mode %#o); chmod 600 it",
					ErrConfig, path, name, st.Mode().Perm())
			}
		}
	}
	return &f, nil
}

// SaveProfile writes p as profile name in the profile file under dir (see
// [ConfigDir]), creating the file with mode 0600 and keeping the other
// profiles. With makeDefault, or when it is the only profile, it becomes
// the default.
func SaveProfile(dir, name string, p Profile, makeDefault bool) error {
	if err := validName(name); err != nil {
		return err
	}
	if p.PersonalAccessConfig != "" {
		// A relative path would be read from wherever the client runs.
		abs, err := filepath.Abs(p.PersonalAccessConfig)
		if err != nil {
			return fmt.Errorf("%w: personal access config path: %v", ErrInvalid, err)
		}
		p.PersonalAccessConfig = abs
	}
	path := filepath.Join(dir, "config.json")
	f, err := readFile(path)
	if err != nil {
		return err
	}
	if f == nil {
		f = &File{}
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	f.Profiles[name] = p
	if makeDefault || len(f.Profiles) == 1 {
		f.DefaultProfile = name
	}
	return writeFile(dir, path, f)
}

// SetDefaultProfile makes name, which must exist, the default profile.
func SetDefaultProfile(dir, name string) error {
	path := filepath.Join(dir, "config.json")
	f, err := readFile(path)
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("%w: no profile file at %s; run gatehouse configure first", ErrConfig, path)
	}
	if _, ok := f.Profiles[name]; !ok {
		names := make([]string, 0, len(f.Profiles))
		for n := range f.Profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("%w: no profile %q in %s (have: %s)", ErrConfig, name, path, strings.Join(names, ", "))
	}
	f.DefaultProfile = name
	return writeFile(dir, path, f)
}

func validName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: a profile name is 1 to 64 characters", ErrInvalid)
	}
	for _, c := range name {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("%w: profile name %q: use letters, digits, '-', '_' and '.'", ErrInvalid, name)
		}
	}
	return nil
}

// writeFile replaces the file atomically: a temporary file in the same
// directory, mode 0600, renamed over it.
func writeFile(dir, path string, f *File) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}
