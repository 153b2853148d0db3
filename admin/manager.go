package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// Config holds the optional settings of a [Manager]. The zero value is
// usable.
type Config struct {
	// Hasher computes key digests; it must be the authenticator's.
	// Default: SHA-256 without a pepper.
	Hasher *store.Hasher
	// Roles maps role names to scopes. Default [scopes.DefaultRoles].
	Roles scopes.Roles
	// Matcher decides whether the creator's scopes cover a new key's.
	// Default [scopes.Plain].
	Matcher *scopes.Matcher
	// AdminScope is the scope needed to manage other users' keys.
	// Default "admin".
	AdminScope string
	// Policy is the expiry policy of keys whose organization has no
	// policy of its own (see [Manager.PolicyFor]). Default: none.
	Policy Policy
	// MaxGrace caps the rotation grace period. Default 30 days.
	MaxGrace time.Duration
	// Logger receives audit events. Default slog.Default().
	Logger *slog.Logger
	// Events receives every key event the manager causes (created,
	// updated, revoked, rotated), after the audit log line. Default none.
	Events EventSink
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Orgs holds the organizations: their records, the organizations API
	// and their own key policies need it. Default none: every key follows
	// Policy, GetOrg and the organization writes answer ErrNotFound,
	// CreateOrg ErrForbidden, and ListOrgs an empty page.
	Orgs store.OrgStore
	// Passwords hashes the passwords given to [Manager.CreateUser]
	// (a *session.Hasher fits). Default none: users are created without a
	// password, and a request with one is refused.
	Passwords PasswordHasher
	// Sessions ends a user's login sessions when [Manager.DeleteUser]
	// deletes the user and when [Manager.UpdateUser] changes their level
	// or scopes (a session keeps the scopes of its login). Pass the
	// store.SessionCache the session authenticator reads, so that this
	// process drops them at once. Default none: sessions last until they
	// time out.
	Sessions UserSessions
}

// UserSessions ends every login session of a user. *store.SessionCache
// and the SQL and memory stores implement it.
type UserSessions interface {
	DeleteUserSessions(ctx context.Context, userID string) ([]store.Digest, error)
}

// PasswordHasher hashes a password into a PHC string for
// [store.User.PasswordHash]. *session.Hasher implements it.
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// Manager creates, lists, updates, revokes and rotates API keys on behalf
// of an authenticated principal, and enforces who may do what: everyone
// manages their own keys; managing other users' keys needs the admin scope
// and the org admin level (own tenant) or super admin level (any tenant);
// other tenants' keys are reported missing; a key never gets scopes its
// creator lacks, and no one creates or rotates a key owned by a user of a
// higher level than theirs (the key would act at that level). It is safe
// for concurrent use.
type Manager struct {
	keys     store.KeyStore
	users    store.UserStore
	format   apikey.Format
	hasher   *store.Hasher
	roles    scopes.Roles
	matcher  *scopes.Matcher
	adminReq *scopes.Requirement
	policy   Policy
	maxGrace time.Duration
	log      *slog.Logger
	events   EventSink
	now      func() time.Time
	orgs     store.OrgStore
	pw       PasswordHasher
	sessions UserSessions
	taker    store.CreditTaker // nil: rotations move the count the record holds
}

// NewManager returns a manager of the keys in keys (pass the
// store.KeyCache the authenticator uses, so that changes reach it at once)
// owned by the users in users.
func NewManager(keys store.KeyStore, users store.UserStore, f apikey.Format, cfg Config) (*Manager, error) {
	if keys == nil || users == nil {
		return nil, errors.New("admin: nil store")
	}
	if f.Prefix() == "" {
		return nil, errors.New("admin: zero key format")
	}
	if err := cfg.Policy.validate(); err != nil {
		return nil, err
	}
	m := &Manager{keys: keys, users: users, format: f, hasher: cfg.Hasher, roles: cfg.Roles,
		matcher: cfg.Matcher, policy: cfg.Policy, maxGrace: cfg.MaxGrace, log: cfg.Logger, events: cfg.Events, now: cfg.Now,
		orgs: cfg.Orgs, pw: cfg.Passwords, sessions: cfg.Sessions}
	if m.roles == nil {
		m.roles = scopes.DefaultRoles()
	}
	if err := m.roles.Validate(); err != nil {
		return nil, err
	}
	m.roles = m.roles.Clone()
	if m.matcher == nil {
		m.matcher = scopes.Plain
	}
	adminScope := cfg.AdminScope
	if adminScope == "" {
		adminScope = "admin"
	}
	req, err := m.matcher.AllOf(adminScope)
	if err != nil {
		return nil, err
	}
	m.adminReq = req
	if m.maxGrace == 0 {
		m.maxGrace = 30 * 24 * time.Hour
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.taker = creditTaker(keys)
	return m, nil
}

// creditTaker returns the first [store.CreditTaker] among s and the
// stores it wraps (Unwrap, as store.KeyCache has), or nil.
func creditTaker(s store.KeyStore) store.CreditTaker {
	for s != nil {
		if t, ok := s.(store.CreditTaker); ok {
			return t
		}
		u, ok := s.(interface{ Unwrap() store.KeyStore })
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
	return nil
}

// Policy returns the manager's default expiry policy: Config.Policy, the
// policy of keys whose organization has none of its own.
func (m *Manager) Policy() Policy { return m.policy }

// Actor is who is acting, as the manager sees them.
type Actor struct {
	ID       string
	TenantID string
	Level    store.Level
	Scopes   []string
}

// ActorOf resolves p to an actor: the level and tenant come from the user
// record with p's ID; a principal without one (a service key) is a member
// of p's tenant.
func (m *Manager) ActorOf(ctx context.Context, p *gatehouse.Principal) (Actor, error) {
	a, _, err := m.actorOf(ctx, p)
	return a, err
}

// Self is [Manager.ActorOf] that also returns the caller's own user
// record (nil for a principal without one, such as a service key), from
// the same single read: for pages that show who is signed in.
func (m *Manager) Self(ctx context.Context, p *gatehouse.Principal) (Actor, *store.User, error) {
	a, u, err := m.actorOf(ctx, p)
	if u != nil {
		u = u.Clone()
	}
	return a, u, err
}

// actorOf is ActorOf that also returns the caller's user record it read,
// nil when there is none, so that callers need not read it again.
func (m *Manager) actorOf(ctx context.Context, p *gatehouse.Principal) (Actor, *store.User, error) {
	if p == nil {
		return Actor{}, nil, gatehouse.ErrNoCredentials
	}
	a := Actor{ID: p.ID, TenantID: p.TenantID, Level: store.LevelMember, Scopes: p.Scopes}
	u, err := m.users.UserByID(ctx, p.ID)
	switch {
	case err == nil:
		a.TenantID, a.Level = u.TenantID, u.Level
	case errors.Is(err, store.ErrNotFound):
		u = nil
	default:
		return Actor{}, nil, gatehouse.Unavailable(err)
	}
	return a, u, nil
}

func (m *Manager) isAdmin(a Actor) bool {
	return a.Level != store.LevelMember && a.Level.Valid() && m.adminReq.SatisfiedBy(a.Scopes)
}

// canSee reports whether records of tenant are visible to a.
func canSee(a Actor, tenant string) bool {
	return a.Level == store.LevelSuperAdmin || tenant == a.TenantID
}

// authorize says whether a may act on a record of owner in tenant:
// ErrNotFound when it is invisible, ErrForbidden when a may see but not
// act.
func (m *Manager) authorize(a Actor, owner, tenant string) error {
	if !canSee(a, tenant) {
		return ErrNotFound
	}
	if owner == a.ID || m.isAdmin(a) {
		return nil
	}
	return &forbidden{"Managing other users' keys needs the admin scope and an admin level"}
}

// errOutranked refuses to mint a key for a user of a higher level than the
// actor's: the key would act with the owner's level (an org admin could
// otherwise get a super admin's key and reach every tenant).
var errOutranked = &forbidden{"A key cannot be issued for a user of a higher level than yours"}

// outranks reports whether owner's level is above a's.
func outranks(owner *store.User, a Actor) bool {
	return owner != nil && levelRank(owner.Level) > levelRank(a.Level)
}

func levelRank(l store.Level) int {
	switch l {
	case store.LevelSuperAdmin:
		return 2
	case store.LevelOrgAdmin:
		return 1
	}
	return 0
}

// CreateRequest describes a key to create.
type CreateRequest struct {
	Name        string
	Description string
	Scopes      []string
	Role        string
	Expiry      Expiry
	OwnerID     string // default: the actor
	TenantID    string // default: the owner's tenant; must match it
	Metadata    map[string]string
	// Controls are the key's allowed networks and credits; none by
	// default.
	Controls Controls
}

// Created is a new key: Key is shown once and never again.
type Created struct {
	Key    string
	Record *store.Key
}

const (
	maxName        = 200
	maxDescription = 1000
)

func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func checkName(v *ValidationError, name string) {
	switch {
	case name == "":
		v.Fields["name"] = "is required"
	case len(name) > maxName || !validText(name):
		v.Fields["name"] = "must be 1 to 200 characters without control characters"
	}
}

func checkDescription(v *ValidationError, d string) {
	if len(d) > maxDescription || !validText(d) {
		v.Fields["description"] = "must be at most 1000 characters without control characters"
	}
}

// effectiveScopes returns the scopes a key with these scopes or role has.
func (m *Manager) effectiveScopes(sc []string, role string) []string {
	if len(sc) > 0 {
		return sc
	}
	r, _ := m.roles.Scopes(role)
	return r
}

// Create issues a key for req.OwnerID (default the actor).
func (m *Manager) Create(ctx context.Context, p *gatehouse.Principal, req CreateRequest) (*Created, error) {
	a, self, err := m.actorOf(ctx, p)
	if err != nil {
		return nil, err
	}
	v := &ValidationError{Fields: map[string]string{}}
	checkName(v, req.Name)
	checkDescription(v, req.Description)
	switch {
	case len(req.Scopes) > 0 && req.Role != "":
		v.Fields["scopes"] = "give scopes or role, not both"
	case len(req.Scopes) == 0 && req.Role == "":
		v.Fields["scopes"] = "give scopes or a role"
	case req.Role != "":
		if _, ok := m.roles.Scopes(req.Role); !ok {
			v.Fields["role"] = "is not a known role"
		}
	default:
		if err := scopes.Validate(req.Scopes); err != nil {
			v.Fields["scopes"] = "each scope must be 1 to 128 visible ASCII characters without \" \\ or ,"
		}
	}
	owner := req.OwnerID
	if owner == "" {
		owner = a.ID
	}
	tenant := a.TenantID
	var ownerUser *store.User
	if owner != a.ID {
		u, err := m.users.UserByID(ctx, owner)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, ErrNotFound
		case err != nil:
			return nil, gatehouse.Unavailable(err)
		}
		ownerUser, tenant = u, u.TenantID
	} else {
		ownerUser = self // read by actorOf; nil when the caller has no record
	}
	if err := m.authorize(a, owner, tenant); err != nil {
		return nil, err
	}
	if outranks(ownerUser, a) {
		return nil, errOutranked
	}
	if req.TenantID != "" && req.TenantID != tenant {
		v.Fields["tenant_id"] = "must be the owner's tenant"
	}
	pol, err := m.PolicyFor(ctx, tenant)
	if err != nil {
		return nil, err
	}
	now := m.now()
	exp, verr := pol.resolve(req.Expiry, now, now, true)
	if verr != nil {
		maps.Copy(v.Fields, verr.Fields)
	}
	if req.Controls.Credits != nil && req.Controls.RemoveCredits {
		v.Fields["credits"] = msgCreditsBoth
	}
	if len(v.Fields) > 0 {
		return nil, v
	}
	want := m.effectiveScopes(scopes.Normalize(req.Scopes), req.Role)
	if !m.matcher.Covers(a.Scopes, want) {
		return nil, &forbidden{"A key cannot have scopes its creator lacks"}
	}
	if ownerUser != nil && ownerUser.Scopes != nil && !m.matcher.Covers(ownerUser.Scopes, want) {
		return nil, &forbidden{"A key cannot have scopes its owner may not hold"}
	}
	params := apikey.Params{
		Name: req.Name, Description: req.Description, OwnerID: owner, TenantID: tenant,
		Scopes: req.Scopes, Role: req.Role, ExpiresAt: exp, CreatedBy: a.ID, Metadata: req.Metadata, Now: now,
	}
	if c := req.Controls; c.AllowedNetworks != nil {
		params.AllowedNetworks = *c.AllowedNetworks
	}
	if c := req.Controls.Credits; c != nil {
		params.Credits = c // Remaining 0: no use left
	}
	key, rec, err := apikey.Issue(ctx, m.keys, m.format, m.hasher, params)
	if err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	m.audit(ctx, Event{Type: EventKeyCreated, Key: rec, ActorID: a.ID})
	return &Created{Key: key, Record: rec}, nil
}

// ListRequest filters a listing. Members see their own keys; admins see
// their tenant's (super admins, any tenant's).
type ListRequest struct {
	OwnerID        string
	TenantID       string
	IncludeRevoked bool
	After          string
	Limit          int
}

// List returns a page of keys the actor may see, and the next cursor.
func (m *Manager) List(ctx context.Context, p *gatehouse.Principal, req ListRequest) ([]*store.Key, string, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return nil, "", err
	}
	f := store.KeyFilter{OwnerID: req.OwnerID, TenantID: req.TenantID, IncludeRevoked: req.IncludeRevoked,
		After: req.After, Limit: req.Limit}
	if !m.isAdmin(a) {
		if f.OwnerID != "" && f.OwnerID != a.ID {
			return nil, "", &forbidden{"Listing other users' keys needs the admin scope and an admin level"}
		}
		f.OwnerID = a.ID
	}
	var ok bool
	if f.TenantID, ok = tenantScope(a, f.TenantID); !ok {
		return []*store.Key{}, "", nil // another tenant's keys are invisible
	}
	keys, next, err := m.keys.ListKeys(ctx, f)
	if err != nil {
		return nil, "", gatehouse.Unavailable(err)
	}
	return ownTenant(a, keys, func(k *store.Key) string { return k.TenantID }), next, nil
}

// tenantScope is the tenant a listing by a is limited to: the one asked
// for by a super admin, a's own for anyone else. ok is false when someone
// else asks for another tenant, whose records are invisible to them.
func tenantScope(a Actor, tenant string) (scope string, ok bool) {
	if a.Level == store.LevelSuperAdmin {
		return tenant, true
	}
	if tenant != "" && tenant != a.TenantID {
		return "", false
	}
	return a.TenantID, true
}

// ownTenant keeps, for all but a super admin, the records xs of a's own
// tenant: a store that matches "" to every tenant must not widen the view.
func ownTenant[T any](a Actor, xs []T, tenant func(T) string) []T {
	if a.Level == store.LevelSuperAdmin {
		return xs
	}
	out := xs[:0]
	for _, x := range xs {
		if tenant(x) == a.TenantID {
			out = append(out, x)
		}
	}
	return out
}

// Get returns one key the actor may manage.
func (m *Manager) Get(ctx context.Context, p *gatehouse.Principal, id string) (*store.Key, error) {
	_, k, err := m.load(ctx, p, id)
	return k, err
}

func (m *Manager) load(ctx context.Context, p *gatehouse.Principal, id string) (Actor, *store.Key, error) {
	a, err := m.ActorOf(ctx, p)
	if err != nil {
		return Actor{}, nil, err
	}
	k, err := m.keys.KeyByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Actor{}, nil, ErrNotFound
	case err != nil:
		return Actor{}, nil, gatehouse.Unavailable(err)
	}
	if err := m.authorize(a, k.OwnerID, k.TenantID); err != nil {
		return Actor{}, nil, err
	}
	return a, k, nil
}

// UpdateRequest changes a key's name, description or expiry; nil or unset
// fields are left as they are. A key's value, scopes, owner and tenant
// never change: rotate it instead.
type UpdateRequest struct {
	Name        *string
	Description *string
	Expiry      Expiry
	// Controls change the key's allowed networks and credits (only an
	// admin changes credits).
	Controls Controls
}

// Update applies req to the key.
func (m *Manager) Update(ctx context.Context, p *gatehouse.Principal, id string, req UpdateRequest) (*store.Key, error) {
	a, k, err := m.load(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if k.Revoked() {
		return nil, &ValidationError{Fields: map[string]string{"id": "the key is revoked"}}
	}
	v := &ValidationError{Fields: map[string]string{}}
	u := store.KeyUpdate{Name: req.Name, Description: req.Description}
	if req.Name != nil {
		checkName(v, *req.Name)
	}
	if req.Description != nil {
		checkDescription(v, *req.Description)
	}
	if req.Expiry.Set || req.Expiry.InDays {
		pol, err := m.PolicyFor(ctx, k.TenantID)
		if err != nil {
			return nil, err
		}
		exp, verr := pol.resolve(req.Expiry, k.CreatedAt, m.now(), false)
		if verr != nil {
			maps.Copy(v.Fields, verr.Fields)
		}
		u.ExpiresAt = &exp
	}
	if len(v.Fields) > 0 {
		return nil, v
	}
	if err := m.applyControls(a, req.Controls, &u, m.now()); err != nil {
		return nil, err
	}
	out, err := m.keys.UpdateKey(ctx, id, u)
	if err != nil {
		return nil, storeError(err)
	}
	m.audit(ctx, Event{Type: EventKeyUpdated, Key: out, ActorID: a.ID})
	return out, nil
}

// Revoke revokes the key; it is refused from the next request on.
// Revoking a revoked key changes nothing and returns it as it is: the
// audit event and the key.revoked event are written only by the call that
// revoked it.
func (m *Manager) Revoke(ctx context.Context, p *gatehouse.Principal, id string) (*store.Key, error) {
	a, k, err := m.load(ctx, p, id)
	if err != nil {
		return nil, err
	}
	out, _, err := m.revokeOnce(ctx, a, k)
	if err != nil {
		return nil, storeError(err)
	}
	return out, nil
}

// revokeOnce revokes k and, when this call is the one that revoked it,
// writes the audit line and emits key.revoked (with extra in the log
// line). won reports whether it did; err is the store's, unwrapped.
func (m *Manager) revokeOnce(ctx context.Context, a Actor, k *store.Key, extra ...slog.Attr) (out *store.Key, won bool, err error) {
	out, won, err = m.revokeKey(ctx, k)
	if err == nil && won {
		m.audit(ctx, Event{Type: EventKeyRevoked, Key: out, ActorID: a.ID}, extra...)
	}
	return out, won, err
}

// revokeKey revokes k and reports whether this call revoked it: the
// store keeps the first revocation time, so another time (or a key
// already revoked when loaded) means another call revoked it first. It
// writes no event: [Manager.revokeOnce] does, and a rotation reports its
// own.
func (m *Manager) revokeKey(ctx context.Context, k *store.Key) (*store.Key, bool, error) {
	// At the stores' precision (SQL keeps microseconds), so that the time
	// the store answers with says whether this call set it.
	now := m.now().Truncate(time.Microsecond)
	out, err := m.keys.RevokeKey(ctx, k.ID, now)
	if err != nil {
		return nil, false, err
	}
	return out, !k.Revoked() && out.RevokedAt.Equal(now), nil
}

// Rotated is the result of a rotation: the new key, shown once, and the
// old key's record as it now is.
type Rotated struct {
	Key    string
	Record *store.Key
	Old    *store.Key
}

// Rotate creates a new key with the old one's name, description, scopes or
// role, owner, tenant, metadata and allowed networks, and a lifetime as
// long as the old one's (within the policy of the key's organization, see
// [Manager.PolicyFor]). The old key is revoked at once, or, with a grace
// period, expires when it ends, so that both work meanwhile.
//
// Credits move: the new key gets what is left of the old key's (and its
// refill), and the old key keeps none, without refill, for its grace
// period (its requests are refused as credits_exhausted), so that no
// rotation, of the old key again or of the new one, adds uses. What is
// left is taken atomically when the key store, or a store it wraps
// (Unwrap), is a [store.CreditTaker] (the memory and SQL stores, and
// store.LiveCredits for counts in Redis); otherwise it is the count the
// loaded record holds, exact when nothing spends the key meanwhile. If
// the new key cannot be stored, the credits go back to the old key.
func (m *Manager) Rotate(ctx context.Context, p *gatehouse.Principal, id string, grace time.Duration) (*Rotated, error) {
	a, k, err := m.load(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !m.matcher.Covers(a.Scopes, m.effectiveScopes(k.Scopes, k.Role)) {
		return nil, &forbidden{"A key cannot have scopes its creator lacks"}
	}
	if k.OwnerID != a.ID {
		u, err := m.users.UserByID(ctx, k.OwnerID)
		switch {
		case err == nil && outranks(u, a):
			return nil, errOutranked
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, gatehouse.Unavailable(err)
		}
	}
	return m.RotateKey(ctx, k, grace, a.ID)
}

// RotateKey rotates k as [Manager.Rotate] does, without any permission
// check: it is for operators with direct access to the store, such as the
// CLI. by is recorded as the new key's creator.
func (m *Manager) RotateKey(ctx context.Context, k *store.Key, grace time.Duration, by string) (*Rotated, error) {
	if k.Revoked() {
		return nil, &ValidationError{Fields: map[string]string{"id": "the key is revoked"}}
	}
	if grace < 0 || grace > m.maxGrace {
		return nil, &ValidationError{Fields: map[string]string{"grace_seconds": fmt.Sprintf("must be 0 to %d", int64(m.maxGrace/time.Second))}}
	}
	pol, err := m.PolicyFor(ctx, k.TenantID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	var req Expiry
	if !k.ExpiresAt.IsZero() {
		life := k.ExpiresAt.Sub(k.CreatedAt)
		req = Expiry{Set: true, At: now.Add(life)}
	}
	if max := pol.MaxLifetimeDays; max > 0 {
		// A longer lifetime, or none (a key issued before the policy) when
		// there is no default, becomes the longest the policy allows.
		limit := pol.EndOfDay(now, max)
		if req.At.After(limit) || (!req.Set && pol.DefaultLifetimeDays == 0) {
			req = Expiry{Set: true, At: limit}
		}
	}
	exp, verr := pol.resolve(req, now, now, true)
	if verr != nil {
		return nil, verr
	}
	moved, err := m.takeCredits(ctx, k, now)
	if err != nil {
		return nil, storeError(err)
	}
	key, rec, err := apikey.Issue(ctx, m.keys, m.format, m.hasher, apikey.Params{
		Name: k.Name, Description: k.Description, OwnerID: k.OwnerID, TenantID: k.TenantID,
		Scopes: k.Scopes, Role: k.Role, ExpiresAt: exp, CreatedBy: by, Metadata: k.Metadata, Now: now,
		AllowedNetworks: k.AllowedNetworks, Credits: moved,
	})
	if err != nil {
		m.giveBackCredits(ctx, k.ID, moved)
		return nil, gatehouse.Unavailable(err)
	}
	var old *store.Key
	if grace == 0 {
		// The rotation is reported as key.rotated, not key.revoked.
		old, _, err = m.revokeKey(ctx, k)
	} else {
		end := now.Add(grace)
		if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(end) {
			end = k.ExpiresAt
		}
		u := store.KeyUpdate{ExpiresAt: &end}
		if k.Credits != nil {
			// None left and no refill: the uses are on the new key. (A
			// taker that keeps the count in the record has set this
			// already; a count in Redis starts again from it.)
			u.Credits = &gatehouse.Credits{Since: now}
		}
		old, err = m.keys.UpdateKey(ctx, k.ID, u)
	}
	if err != nil {
		return nil, storeError(err)
	}
	m.audit(ctx, Event{Type: EventKeyRotated, Key: rec, ActorID: by, OldKeyID: k.ID}, slog.Duration("grace", grace))
	return &Rotated{Key: key, Record: rec, Old: old}, nil
}

// takeCredits takes what is left of k's credits at now and returns them as
// the new key's: that count, k's refill, counted from now; nil when k has
// none.
func (m *Manager) takeCredits(ctx context.Context, k *store.Key, now time.Time) (*gatehouse.Credits, error) {
	if k.Credits == nil {
		return nil, nil
	}
	left := k.Credits.At(now)
	if m.taker != nil {
		var err error
		if left, err = m.taker.TakeCredits(ctx, k.ID, k.Credits, now); err != nil {
			return nil, err
		}
	}
	if left < 0 {
		return nil, nil // removed meanwhile
	}
	return &gatehouse.Credits{Remaining: left, Refill: k.Credits.Refill, Interval: k.Credits.Interval, Since: now}, nil
}

// giveBackCredits sets the credits taken for a rotation that failed back
// on the old key, even when the request was abandoned meanwhile: it
// undoes the take. A failure is logged; the old key is then left with
// none (fail closed) until an admin sets its credits again.
func (m *Manager) giveBackCredits(ctx context.Context, id string, c *gatehouse.Credits) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), middleware.DefaultStoreTimeout)
	defer cancel()
	if _, err := m.keys.UpdateKey(ctx, id, store.KeyUpdate{Credits: c}); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse.key.credits_not_restored", slog.String("key_id", id),
			slog.Int64("remaining", c.Remaining), slog.String("error", err.Error()))
	}
}

func storeError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return gatehouse.Unavailable(err)
}

// audit logs a key event (as "gatehouse." and its type, with extra) and
// emits it. It sets e.At when it is zero. It never logs a key, a digest or
// a token.
func (m *Manager) audit(ctx context.Context, e Event, extra ...slog.Attr) {
	k := e.Key
	attrs := []slog.Attr{
		slog.String("key_id", k.ID),
		slog.String("key_name", k.Name),
		slog.String("owner_id", k.OwnerID),
		slog.String("tenant_id", k.TenantID),
		slog.String("actor_id", e.ActorID),
	}
	if e.OldKeyID != "" {
		attrs = append(attrs, slog.String("old_key_id", e.OldKeyID))
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "gatehouse."+e.Type, append(attrs, extra...)...)
	if e.At.IsZero() {
		e.At = m.now()
	}
	m.emit(ctx, e)
}

// emit hands e to the event sink, if any; a failure is logged
// (gatehouse.event.failed, at ERROR) and does not undo the change.
func (m *Manager) emit(ctx context.Context, e Event) {
	if m.events == nil {
		return
	}
	if err := m.events.Emit(ctx, e); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "gatehouse.event.failed", slog.String("event", e.Type),
			slog.String("key_id", e.Key.ID), slog.String("error", err.Error()))
	}
}
