package admin

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// UserListRequest filters a listing of users.
type UserListRequest struct {
	TenantID string // super admins: any ("" for all); others: their own
	After    string // cursor: the last ID of the previous page
	Limit    int    // 0 means 100; capped at 1000
}

// NewUser describes a user to create.
type NewUser struct {
	Email    string
	Name     string // optional; at most 200 characters
	TenantID string // default: the actor's organization
	Level    store.Level
	// Scopes bounds the user's keys and sessions. nil, from a super
	// admin: no bound; from anyone else: bounded by the creator's (a copy
	// of the creating principal's scopes).
	Scopes   []string
	Password string // optional; needs Config.Passwords
}

// UserChange holds the changes [Manager.UpdateUser] makes; nil fields are
// left as they are.
type UserChange struct {
	Name   *string
	Level  *store.Level
	Scopes *[]string
}

// Password lengths CreateUser accepts, in bytes (the upper one is
// session.MaxPasswordLength).
const (
	minPassword = 8
	maxPassword = 1024
)

var (
	errUsersAdminOnly = &forbidden{"Managing users needs the admin scope and an admin level"}
	errLevelAbove     = &forbidden{"You cannot give a user a level above your own"}
	errUserOutranks   = &forbidden{"You cannot change or delete a user of a higher level than yours"}
	errUserScopes     = &forbidden{"A user cannot be given scopes you lack"}
)

// validEmail is a sanity check, not RFC 5322: one @ with something on
// both sides, no spaces (Unicode's too, such as U+00A0), control or
// format characters (such as the zero-width space U+200B), valid UTF-8, at
// most 254 bytes.
func validEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

func checkUserName(v *ValidationError, name string) {
	if len(name) > maxName || !validText(name) {
		v.Fields["name"] = "must be at most 200 characters without control characters"
	}
}

func checkLevel(v *ValidationError, l store.Level) {
	if !l.Valid() {
		v.Fields["level"] = "must be member, org_admin or super_admin"
	}
}

func checkUserScopes(v *ValidationError, sc []string) {
	if err := scopes.Validate(sc); err != nil {
		v.Fields["scopes"] = "each scope must be 1 to 128 visible ASCII characters without \" \\ or ,"
	}
}

// ListUsers returns a page of users the actor administers, in ID order,
// and the next cursor: an org admin's own organization, any for a super
// admin. It needs the admin scope and an admin level (members read their
// own record with [Manager.GetUser]); another organization's users are an
// empty page.
func (m *Manager) ListUsers(ctx context.Context, p *gatehouse.Principal, req UserListRequest) ([]*store.User, string, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if !m.isAdmin(a) {
		return nil, "", errUsersAdminOnly
	}
	f := store.UserFilter{TenantID: req.TenantID, After: req.After, Limit: req.Limit}
	var ok bool
	if f.TenantID, ok = tenantScope(a, f.TenantID); !ok {
		return []*store.User{}, "", nil // another organization's users are invisible
	}
	users, next, err := m.users.ListUsers(ctx, f)
	if err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	return ownTenant(a, users, func(u *store.User) string { return u.TenantID }), next, nil
}

// loadUser resolves p to an actor and returns the user id as that actor
// may see it: ErrNotFound for another organization's.
func (m *Manager) loadUser(ctx context.Context, p *gatehouse.Principal, id string) (Actor, *store.User, error) {
	a, self, err := m.actorOf(ctx, p)
	if err != nil {
		return Actor{}, nil, err
	}
	u := self
	if id != a.ID || self == nil {
		if u, err = m.users.UserByID(ctx, id); err != nil {
			return Actor{}, nil, storeError(err)
		}
	}
	if !canSee(a, u.TenantID) {
		return Actor{}, nil, ErrNotFound
	}
	return a, u, nil
}

// GetUser returns one user: anyone their own record; an admin (with the
// admin scope) those of their organization, a super admin any. Another
// organization's user is ErrNotFound; a colleague, for a member,
// ErrForbidden.
func (m *Manager) GetUser(ctx context.Context, p *gatehouse.Principal, id string) (*store.User, error) {
	a, u, err := m.loadUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if u.ID != a.ID && !m.isAdmin(a) {
		return nil, &forbidden{"Reading other users needs the admin scope and an admin level"}
	}
	return u, nil
}

// CreateUser creates a user: an org admin (with the admin scope) in their
// own organization, a super admin in any. No one creates a user of a
// level above their own, or with scopes they lack. The e-mail address is
// required and stored normalised; a taken address is a *ValidationError
// on "email". A super admin placing a user in another tenant than their
// own needs an organization record for it once any organization exists
// (tenants are free-form until organizations are used).
func (m *Manager) CreateUser(ctx context.Context, p *gatehouse.Principal, nu NewUser) (*store.User, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if !m.isAdmin(a) {
		return nil, errUsersAdminOnly
	}
	tenant := nu.TenantID
	if tenant == "" {
		tenant = a.TenantID
	}
	if !canSee(a, tenant) {
		return nil, ErrNotFound
	}
	v := &ValidationError{Fields: map[string]string{}}
	email := store.NormalizeEmail(nu.Email)
	switch {
	case nu.Email == "":
		v.Fields["email"] = "is required"
	case !validEmail(email):
		v.Fields["email"] = "must be an address like ada@example.com"
	}
	checkUserName(v, nu.Name)
	level := nu.Level
	if level == "" {
		level = store.LevelMember
	}
	checkLevel(v, level)
	if nu.Scopes != nil {
		checkUserScopes(v, nu.Scopes)
	}
	var hash string
	switch {
	case nu.Password == "":
	case m.pw == nil:
		v.Fields["password"] = "this server does not set passwords: leave it out"
	case len(nu.Password) < minPassword || len(nu.Password) > maxPassword || !utf8.ValidString(nu.Password):
		v.Fields["password"] = "must be 8 to 1024 bytes of UTF-8"
	}
	if tenant != a.TenantID {
		ok, err := m.tenantOnRecord(ctx, tenant)
		if err != nil {
			return nil, err
		}
		if !ok {
			v.Fields["tenant_id"] = "is not an organization"
		}
	}
	if len(v.Fields) > 0 {
		return nil, v
	}
	if levelRank(level) > levelRank(a.Level) {
		return nil, errLevelAbove
	}
	if nu.Scopes == nil && a.Level != store.LevelSuperAdmin {
		// No scopes given would mean "unbounded": bounded by the creator's.
		nu.Scopes = boundedBy(a)
	}
	sc := scopes.Normalize(nu.Scopes)
	if nu.Scopes != nil && !m.matcher.Covers(a.Scopes, sc) {
		return nil, errUserScopes
	}
	if nu.Password != "" {
		if hash, err = m.pw.Hash(nu.Password); err != nil {
			return nil, err
		}
	}
	u := &store.User{ID: store.NewID("usr"), TenantID: tenant, Email: email, Name: nu.Name, Level: level,
		Scopes: sc, PasswordHash: hash, CreatedAt: m.stamp()}
	if nu.Scopes != nil && u.Scopes == nil {
		u.Scopes = []string{}
	}
	switch err := m.users.CreateUser(ctx, u); {
	case errors.Is(err, store.ErrConflict):
		return nil, invalid("email", "another user has this address")
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	}
	m.auditUser(ctx, "gatehouse.user.created", a, u)
	return u, nil
}

// tenantOnRecord reports whether users may be placed in tenant: it has
// an organization record, or no organization exists at all.
func (m *Manager) tenantOnRecord(ctx context.Context, tenant string) (bool, error) {
	if m.orgs == nil {
		return true, nil
	}
	_, err := m.orgs.OrgByID(ctx, tenant)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, gatehouse.Unavailable(err)
	}
	some, _, err := m.orgs.ListOrgs(ctx, store.OrgFilter{Limit: 1})
	if err != nil {
		return false, gatehouse.Unavailable(err)
	}
	return len(some) == 0, nil
}

// boundedBy returns a copy of a's scopes, never nil: the bound of a user
// created or promoted by a without a scopes list.
func boundedBy(a Actor) []string {
	sc := scopes.Normalize(append([]string(nil), a.Scopes...))
	if sc == nil {
		sc = []string{}
	}
	return sc
}

// UpdateUser changes a user's name, level or scopes: an admin (with the
// admin scope) of the user's organization, or a super admin. No one
// changes a user of a higher level than theirs, sets a level above their
// own, or gives scopes they lack. A change of level by anyone but a super
// admin, of a user without a scopes list (unbounded) and without new
// scopes in c, also sets the user's scopes to the actor's: a promotion
// never unlocks scopes the promoter lacks. A change of level or scopes ends the
// user's login sessions (with Config.Sessions): they log in again with
// the new ones.
func (m *Manager) UpdateUser(ctx context.Context, p *gatehouse.Principal, id string, c UserChange) (*store.User, error) {
	a, u, err := m.loadUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !m.isAdmin(a) {
		return nil, errUsersAdminOnly
	}
	v := &ValidationError{Fields: map[string]string{}}
	if c.Name != nil {
		checkUserName(v, *c.Name)
	}
	if c.Level != nil {
		checkLevel(v, *c.Level)
	}
	up := store.UserUpdate{Name: c.Name, Level: c.Level}
	if c.Scopes != nil {
		if *c.Scopes == nil {
			v.Fields["scopes"] = "must be a list of scopes"
		} else {
			checkUserScopes(v, *c.Scopes)
			sc := scopes.Normalize(*c.Scopes)
			if sc == nil {
				sc = []string{}
			}
			up.Scopes = &sc
		}
	}
	if len(v.Fields) > 0 {
		return nil, v
	}
	if c.Level != nil && *c.Level != u.Level && u.Scopes == nil && up.Scopes == nil && a.Level != store.LevelSuperAdmin {
		sc := boundedBy(a)
		up.Scopes = &sc
	}
	switch {
	case levelRank(u.Level) > levelRank(a.Level):
		return nil, errUserOutranks
	case c.Level != nil && levelRank(*c.Level) > levelRank(a.Level):
		return nil, errLevelAbove
	case up.Scopes != nil && !m.matcher.Covers(a.Scopes, *up.Scopes):
		return nil, errUserScopes
	}
	out, err := m.users.UpdateUser(ctx, id, up)
	if err != nil {
		return nil, storeError(err)
	}
	m.auditUser(ctx, "gatehouse.user.updated", a, out)
	if up.Level != nil || up.Scopes != nil {
		// A session keeps the scopes of its login: the user logs in again.
		if err := m.endSessions(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// endSessions ends the user's login sessions, when the manager has them.
func (m *Manager) endSessions(ctx context.Context, userID string) error {
	if m.sessions == nil {
		return nil
	}
	if _, err := m.sessions.DeleteUserSessions(ctx, userID); err != nil {
		return gatehouse.Unavailable(err)
	}
	return nil
}

// DeleteUser revokes the user's keys, ends their login sessions (with
// Config.Sessions) and deletes the user: an admin (with the admin scope)
// of the user's organization, or a super admin; not a user of a higher
// level, and not oneself.
func (m *Manager) DeleteUser(ctx context.Context, p *gatehouse.Principal, id string) error {
	a, u, err := m.loadUser(ctx, p, id)
	if err != nil {
		return err
	}
	switch {
	case !m.isAdmin(a):
		return errUsersAdminOnly
	case u.ID == a.ID:
		return &forbidden{"You cannot delete your own user"}
	case levelRank(u.Level) > levelRank(a.Level):
		return errUserOutranks
	}
	// Revoke first: a failure leaves the user, whose keys can be revoked
	// again, never keys without an owner.
	f := store.KeyFilter{OwnerID: u.ID, Limit: 1000}
	for {
		keys, next, err := m.keys.ListKeys(ctx, f)
		if err != nil {
			return gatehouse.Unavailable(err)
		}
		for _, k := range keys {
			_, _, err := m.revokeOnce(ctx, a, k, slog.String("reason", "owner deleted"))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return gatehouse.Unavailable(err)
			}
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if err := m.endSessions(ctx, u.ID); err != nil {
		return err
	}
	if err := m.users.DeleteUser(ctx, u.ID); err != nil {
		return gatehouse.Unavailable(err)
	}
	m.auditUser(ctx, "gatehouse.user.deleted", a, u)
	return nil
}

// auditUser logs a user event. It never logs a password or its hash.
func (m *Manager) auditUser(ctx context.Context, event string, a Actor, u *store.User) {
	m.log.LogAttrs(ctx, slog.LevelInfo, event,
		slog.String("user_id", u.ID),
		slog.String("tenant_id", u.TenantID),
		slog.String("level", string(u.Level)),
		slog.String("actor_id", a.ID))
}
