// Package scopes parses, formats and matches OAuth-style scope sets.
//
// A scope is a token of visible ASCII characters without '"' or '\' (RFC 6749
// section 3.3). Sets are parsed from space- or comma-separated strings or JSON
// arrays. A granted scope satisfies a required one when it is the same, when
// it is a wildcard "resource:*" and the required scope starts with
// "resource:", or when the configured [Implications] say it implies the
// required one (for example admin implies write implies read).
//
// Requirements are compiled once, at start-up, so that checking them on the
// request path does not allocate:
//
//	m, err := scopes.NewMatcher(scopes.Implications{"admin": {"write"}, "write": {"read"}})
//	req, err := m.AllOf("read", "projects:list")
//	if req.SatisfiedBy(principal.Scopes) { ... }
package scopes
