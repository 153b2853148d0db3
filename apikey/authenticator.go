package apikey

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// DetailInvalid is the one sentence every refused API key gets: unknown,
// mistyped, revoked and expired keys are not told apart to the client (the
// audit log has the reason).
const DetailInvalid = "Invalid or expired API key"

// Config holds the optional settings of an [Authenticator]. The zero value
// is usable.
type Config struct {
	// Hasher computes the digests keys are stored under. Default: SHA-256
	// without a pepper.
	Hasher *store.Hasher
	// Roles maps a key's role to its scopes when the key has no explicit
	// scopes. Default [scopes.DefaultRoles].
	Roles scopes.Roles
	// Principal builds the principal of a key. Default [PrincipalOf] with
	// Roles. With a store.KeyCache it runs once per cached key. The key's
	// AllowedNetworks and Credits are set on (a copy of) what it returns,
	// so that it cannot drop them.
	Principal func(*store.Key) *gatehouse.Principal
	// Now is the clock used for expiry checks. Default: the KeyCache's
	// clock when keys is one, else time.Now.
	Now func() time.Time
	// Usage, when set, records when each key was last used, coalesced in
	// memory (at most once a second per key) and written in batches by the
	// recorder, never on the request path. Default: not recorded.
	Usage *store.UsageRecorder
}

// Authenticator verifies API keys of one [Format]. It is safe for
// concurrent use.
type Authenticator struct {
	format    Format
	keys      store.KeyStore
	cache     *store.KeyCache // keys, when it is a cache
	hasher    *store.Hasher
	principal func(*store.Key) *gatehouse.Principal
	now       func() time.Time
	usage     *store.UsageRecorder
}

var _ gatehouse.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator for keys of format f stored in
// keys. Pass a [*store.KeyCache] so that a known key costs no store call.
func NewAuthenticator(f Format, keys store.KeyStore, cfg Config) (*Authenticator, error) {
	if f.prefix == "" {
		return nil, errors.New("apikey: zero Format")
	}
	if keys == nil {
		return nil, errors.New("apikey: nil key store")
	}
	a := &Authenticator{format: f, keys: keys, hasher: cfg.Hasher, principal: cfg.Principal, now: cfg.Now, usage: cfg.Usage}
	a.cache, _ = keys.(*store.KeyCache)
	if a.hasher == nil {
		a.hasher, _ = store.NewHasher(nil)
	}
	if a.principal == nil {
		roles := cfg.Roles
		if roles == nil {
			roles = scopes.DefaultRoles()
		}
		if err := roles.Validate(); err != nil {
			return nil, err
		}
		roles = roles.Clone()
		a.principal = func(k *store.Key) *gatehouse.Principal { return PrincipalOf(k, roles) }
	} else {
		// PrincipalOf carries the key's controls; a custom Principal
		// cannot drop them (fail closed).
		build := a.principal
		a.principal = func(k *store.Key) *gatehouse.Principal { return withControls(build(k), k) }
	}
	if a.now == nil {
		if a.cache != nil {
			a.now = a.cache.Clock()
		} else {
			a.now = time.Now
		}
	}
	return a, nil
}

// Format returns the authenticator's key format.
func (a *Authenticator) Format() Format { return a.format }

// Accepts reports whether c is a Bearer credential with this format's
// prefix. It does not check the rest of the key.
func (a *Authenticator) Accepts(c gatehouse.Credential) bool {
	return c.Scheme == gatehouse.SchemeBearer && strings.HasPrefix(c.Value, a.format.prefix)
}

// StrictSyntax marks a as refusing every credential that is not a
// well-formed key, so that the middleware skips its own character check on
// accepted keys ([github.com/gatehouse-go/gatehouse/middleware.StrictSyntax]):
// Parse runs before a key is looked up, and a cache entry answers without
// it only once a key with its digest has passed it
// ([store.CachedKey.FormatChecked]).
func (a *Authenticator) StrictSyntax() {}

// Authenticate verifies c.Value as a key: format and checksum first (a bad
// one never reaches the store), then the digest lookup, then revocation and
// expiry against the clock. Errors wrap [gatehouse.ErrInvalidToken], or
// [gatehouse.ErrUnavailable] when the store fails (fail closed).
func (a *Authenticator) Authenticate(ctx context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	return a.Verify(ctx, c.Value)
}

var (
	errMalformed = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonMalformed, Detail: DetailInvalid}
	errChecksum  = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonBadChecksum, Detail: DetailInvalid}
	errUnknown   = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown, Detail: DetailInvalid}
	errRevoked   = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonRevoked, Detail: DetailInvalid}
	errExpired   = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonExpired, Detail: DetailInvalid}
)

// Verify verifies a plaintext key, for callers outside HTTP (a worker that
// received a key in a message).
func (a *Authenticator) Verify(ctx context.Context, key string) (*gatehouse.Principal, error) {
	if !a.format.shapeOK(key) {
		return nil, errMalformed
	}
	d := a.hasher.Sum(key)
	now := a.now()
	if a.cache != nil {
		// The format and checksum are checked on a miss, before the
		// negative cache and the store, and the entry is marked: a later
		// hit on it is byte for byte the same well-formed key, so the
		// check (and the middleware's character check, see StrictSyntax)
		// is skipped. An entry loaded some other way is checked once.
		ck, ok := a.cache.PeekAt(d, now)
		if !ok || !ck.FormatChecked() {
			if err := a.parse(key); err != nil {
				return nil, err
			}
			if !ok {
				var err error
				if ck, err = a.cache.LookupAt(ctx, d, now); err != nil {
					return nil, lookupError(err)
				}
			}
			ck.MarkFormatChecked()
		}
		if err := check(ck.Key, now); err != nil {
			return nil, err
		}
		if a.usage != nil {
			ck.Touch(now, a.usage)
		}
		return ck.Principal(a.principal), nil
	}
	if err := a.parse(key); err != nil {
		return nil, err
	}
	k, err := a.keys.KeyByDigest(ctx, d)
	if err != nil {
		return nil, lookupError(err)
	}
	if k == nil || k.Digest != d {
		return nil, gatehouse.Unavailable(store.ErrCorrupt)
	}
	if err := check(k, now); err != nil {
		return nil, err
	}
	if a.usage != nil {
		a.usage.Record(k.ID, now)
	}
	return a.principal(k), nil
}

func (a *Authenticator) parse(key string) error {
	switch err := a.format.Parse(key); {
	case err == nil:
		return nil
	case errors.Is(err, ErrChecksum):
		return errChecksum
	default:
		return errMalformed
	}
}

func lookupError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errUnknown
	}
	return gatehouse.Unavailable(err)
}

// check refuses a revoked or expired key. The refusal names the key and
// its tenant for the audit log (never for the client).
func check(k *store.Key, now time.Time) error {
	var base *gatehouse.Error
	switch {
	case k.Revoked():
		base = errRevoked
	case k.ExpiredAt(now):
		base = errExpired
	default:
		return nil
	}
	e := *base
	e.KeyID, e.TenantID = k.ID, k.TenantID
	return &e
}

// withControls returns p with k's allowed networks and credits: p itself
// when k has none (or p already carries them), else a copy. With a
// store.KeyCache it runs once per cached key.
func withControls(p *gatehouse.Principal, k *store.Key) *gatehouse.Principal {
	if p == nil || (p.Credits == k.Credits && slices.Equal(p.AllowedNetworks, k.AllowedNetworks)) {
		return p
	}
	c := *p
	c.AllowedNetworks = k.AllowedNetworks
	c.Credits = k.Credits
	return &c
}

// PrincipalOf is the default mapping of a key to a principal: the owner is
// the subject (the key ID when there is no owner), scopes are the key's own
// or, when it has none, its role's from roles (none for an unknown role).
func PrincipalOf(k *store.Key, roles scopes.Roles) *gatehouse.Principal {
	id := k.OwnerID
	if id == "" {
		id = k.ID
	}
	sc := k.Scopes
	if len(sc) == 0 && k.Role != "" {
		sc, _ = roles.Scopes(k.Role)
	}
	return &gatehouse.Principal{
		ID:        id,
		Kind:      gatehouse.KindAPIKey,
		TenantID:  k.TenantID,
		Scopes:    append([]string(nil), sc...),
		KeyID:     k.ID,
		ExpiresAt: k.ExpiresAt,
		Metadata:  k.Clone().Metadata,
		// The key's controls, checked by the middleware on every request.
		AllowedNetworks: k.AllowedNetworks,
		Credits:         k.Credits,
	}
}
