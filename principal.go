package gatehouse

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Kind says which kind of credential authenticated a [Principal].
type Kind string

// The kinds of credential Gatehouse authenticates.
const (
	KindAPIKey  Kind = "api_key"
	KindJWT     Kind = "jwt"
	KindSession Kind = "session"
	KindBasic   Kind = "basic"
)

// Principal is who a request is authenticated as. A Principal is immutable
// once built: authenticators share one value between requests (often straight
// from a cache), so callers must not modify it or the slices and maps it
// holds. It is safe for concurrent use by any number of readers.
type Principal struct {
	// ID is the stable subject identifier: the user ID that owns a key, the
	// JWT "sub" claim, the user of a session.
	ID string
	// Kind is the kind of credential that was presented.
	Kind Kind
	// TenantID is the organization the principal acts in; empty when the
	// application has no tenants.
	TenantID string
	// Scopes are the scopes granted to this credential, as written in the
	// record or token (no implication applied).
	Scopes []string
	// KeyID is the record ID of the API key (or session, or registered JWT
	// key) that authenticated the request; empty when there is none.
	KeyID string
	// ExpiresAt is when the credential stops being valid; zero if never.
	ExpiresAt time.Time
	// Metadata carries application-defined attributes copied from the
	// credential's record. Read-only.
	Metadata map[string]string
	// Claims holds the verified claims of a JWT, nil for other kinds.
	// Read-only.
	Claims map[string]any
	// AllowedNetworks, when not empty, are the only networks the
	// credential may be used from: the middleware refuses a request from
	// any other client address with 403 before any handler runs. Empty:
	// any address. Read-only.
	AllowedNetworks []netip.Prefix
	// Credits, when set, is the credential's allowance of uses as its
	// record held it when loaded: the middleware spends one for each
	// request it serves (see the middleware's Config.Credits). Nil: no
	// allowance. Read-only.
	Credits *Credits
}

// AllowsAddr reports whether a request from a may use the credential: true
// when AllowedNetworks is empty or holds a. An invalid a is allowed only
// when AllowedNetworks is empty.
func (p *Principal) AllowsAddr(a netip.Addr) bool {
	if len(p.AllowedNetworks) == 0 {
		return true
	}
	a = a.Unmap().WithZone("")
	for _, n := range p.AllowedNetworks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// HasScope reports whether s is one of the principal's scopes, by exact
// match. Use the scopes package for wildcard and implication-aware checks.
func (p *Principal) HasScope(s string) bool {
	return p != nil && slices.Contains(p.Scopes, s)
}

// contextKey is the unexported type of the key under which the principal is
// stored, so that no other package can read or overwrite it.
type contextKey struct{}

// principalContext is a context carrying a principal. It is what
// context.WithValue would build, in half the memory (24 bytes rather than
// 48): one is allocated for every authenticated request.
type principalContext struct {
	context.Context
	p *Principal
}

func (c *principalContext) Value(key any) any {
	if _, ok := key.(contextKey); ok {
		return c.p
	}
	return c.Context.Value(key)
}

func (c *principalContext) String() string {
	if s, ok := c.Context.(fmt.Stringer); ok {
		return s.String() + ".WithPrincipal"
	}
	return fmt.Sprintf("%T.WithPrincipal", c.Context)
}

// NewContext returns a copy of ctx that carries p. It panics if ctx is nil,
// as context.WithValue does.
func NewContext(ctx context.Context, p *Principal) context.Context {
	if ctx == nil {
		panic("gatehouse: NewContext with a nil context")
	}
	return &principalContext{Context: ctx, p: p}
}

// FromContext returns the principal stored in ctx by [NewContext] and whether
// there was one.
func FromContext(ctx context.Context) (*Principal, bool) {
	if c, ok := ctx.(*principalContext); ok {
		return c.p, c.p != nil
	}
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}
