// Package admin manages the lifecycle of API keys: creation (the key shown
// once), listing by last 4, updates of name, description and expiry,
// revocation, rotation with an optional grace period, an expiry policy,
// reminders before expiry, and the management HTTP API.
//
// Who may do what is enforced by the [Manager], not only by the handler:
// every authenticated principal manages their own keys; managing other
// users' keys needs the admin scope and the org admin level (inside the
// admin's own tenant) or the super admin level (any tenant); another
// tenant's keys are reported missing (404), never forbidden; a key never
// gets scopes its creator lacks; and no one creates or rotates a key owned
// by a user of a higher level than theirs (an org admin cannot mint a super
// admin's key).
//
// The Manager also administers users (ListUsers, GetUser, CreateUser,
// UpdateUser, DeleteUser) and, with Config.Orgs, organizations (ListOrgs,
// GetOrg, CreateOrg, RenameOrg) and each organization's own key policy
// (SetOrgPolicy, PolicyFor), under the same rules: an org admin with the
// admin scope acts only inside their own organization and never creates a
// user, or sets a level, above their own, nor grants scopes they lack;
// members read only their own user record; another organization's records
// are ErrNotFound; listing and creating organizations is for super admins.
// Keys follow their organization's policy when it has one, and
// Config.Policy otherwise, on every path that creates, extends or rotates
// them; when the policy cannot be read, no key is written (503). These
// changes are audited too (gatehouse.user.created, .updated, .deleted,
// gatehouse.org.created, .updated, gatehouse.policy.updated), never with a
// password or its hash. [NewUsersHandler] (/api/auth/users) and
// [NewOrgsHandler] (/api/auth/orgs, with each organization's /policy) serve
// them over HTTP, mounted as the keys API below.
//
//	keys, _ := store.NewKeyCache(db, store.CacheConfig{})
//	mgr, err := admin.NewManager(keys, db, format, admin.Config{
//		Policy: admin.Policy{RequireExpiry: true, MaxLifetimeDays: 90, DefaultLifetimeDays: 30},
//	})
//	api, err := admin.NewHandler(mgr, authMiddleware, admin.HandlerConfig{})
//	mux.Handle("/api/auth/api-keys", api)
//	mux.Handle("/api/auth/api-keys/", api)
//
// Audit events (gatehouse.key.created, .updated, .rotated, .revoked, and
// gatehouse.auth.refused from [NewAuditObserver]) go to log/slog and never
// carry a key, a digest or a token.
package admin
