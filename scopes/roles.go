package scopes

import "maps"

// Roles maps a role name to the scopes it grants. Applications configure
// their own; [DefaultRoles] is a starting point.
type Roles map[string][]string

// DefaultRoles returns the roles Gatehouse uses when the application sets
// none: viewer reads, editor reads and writes, admin also administers. The
// map is a fresh copy the caller may change.
func DefaultRoles() Roles {
	return Roles{
		"viewer": {"read"},
		"editor": {"read", "write"},
		"admin":  {"admin", "read", "write"},
	}
}

// Scopes returns the scopes of role and whether the role exists.
func (r Roles) Scopes(role string) ([]string, bool) {
	s, ok := r[role]
	return s, ok
}

// Validate checks every role's scopes.
func (r Roles) Validate() error {
	for _, s := range r {
		if err := Validate(s); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a deep copy of r.
func (r Roles) Clone() Roles {
	out := maps.Clone(r)
	for k, v := range out {
		out[k] = append([]string(nil), v...)
	}
	return out
}
