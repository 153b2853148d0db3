package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// BasicConfig holds the optional settings of a [Basic] authenticator. The
// zero value is usable.
type BasicConfig struct {
	// Hasher verifies password hashes. Default: a hasher with
	// [DefaultParams].
	Hasher *Hasher
	// Scopes returns the scopes a request authenticated as user gets.
	// Default: the user's Scopes (none when nil).
	Scopes func(user *store.User) []string
	// CacheTTL is how long a verified user and password are remembered,
	// so that a client sending the same credentials on every request does
	// not pay a full argon2id run each time. It also bounds how long a
	// changed password or deleted user keeps working in this process.
	// Default 1 minute; at most 10 minutes.
	CacheTTL time.Duration
	// CacheSize bounds the verification cache. Default 10,000.
	CacheSize int
	// APIKeys, when set, accepts an API key sent as the Basic password
	// (the user-id is then ignored): a password that APIKeys accepts as a
	// Bearer credential is verified by it instead. Default nil: Basic
	// passwords are only user passwords.
	APIKeys gatehouse.Authenticator
	// Throttle, when set, counts failures per user-id as the login
	// endpoint does, so that Basic cannot be used to guess passwords
	// faster than the login form. Pass the handler's AccountThrottle to
	// share the count. Default nil.
	Throttle Throttle
	// LoadTimeout bounds the store and throttle calls of one verification
	// (shared by the concurrent requests with the same credentials, so it
	// does not end when the first of them gives up): past it the request
	// is a 503. Default 5 seconds.
	LoadTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Basic is the HTTP Basic authenticator (RFC 7617). It is off unless the
// application builds one and hands it to the middleware, which then offers
// its challenge: Basic realm="...", charset="UTF-8".
//
// The user-id is the user's e-mail address, looked up in the user store;
// the password is verified with argon2id. A verified pair is remembered for
// CacheTTL under an HMAC-SHA-256 of user-id and password keyed by a random
// per-process secret: the password itself is never kept, and the digest is
// useless outside this process. Only successes are cached. A Basic is safe
// for concurrent use.
type Basic struct {
	users    store.UserStore
	hasher   *Hasher
	scopes   func(*store.User) []string
	ttl      time.Duration
	apiKeys  gatehouse.Authenticator
	throttle Throttle
	now      func() time.Time
	timeout  time.Duration
	cacheMAC *store.Hasher // HMAC-SHA-256 under a per-process secret
	group    singleflight.Group

	mu    sync.Mutex
	cache *simplelru.LRU[[32]byte, basicEntry]
}

type basicEntry struct {
	p       *gatehouse.Principal
	expires time.Time
}

var _ gatehouse.Authenticator = (*Basic)(nil)

// NewBasic returns a Basic authenticator of the users in users.
func NewBasic(users store.UserStore, cfg BasicConfig) (*Basic, error) {
	if users == nil {
		return nil, errors.New("session: nil user store")
	}
	b := &Basic{users: users, hasher: cfg.Hasher, scopes: cfg.Scopes, ttl: cfg.CacheTTL, apiKeys: cfg.APIKeys,
		throttle: cfg.Throttle, now: cfg.Now}
	if b.ttl < 0 || b.ttl > 10*time.Minute || cfg.CacheSize < 0 {
		return nil, errors.New("session: basic: CacheTTL must be 0 to 10 minutes and CacheSize not negative")
	}
	if b.ttl == 0 {
		b.ttl = time.Minute
	}
	size := cfg.CacheSize
	if size == 0 {
		size = 10_000
	}
	var err error
	if b.cache, err = simplelru.NewLRU[[32]byte, basicEntry](size, nil); err != nil {
		return nil, err
	}
	if b.hasher == nil {
		if b.hasher, err = NewHasher(DefaultParams); err != nil {
			return nil, err
		}
	}
	if b.scopes == nil {
		b.scopes = func(u *store.User) []string { return u.Scopes }
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.timeout = cfg.LoadTimeout; b.timeout <= 0 {
		b.timeout = middleware.DefaultStoreTimeout
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	if b.cacheMAC, err = store.NewHasher(secret[:]); err != nil {
		return nil, err
	}
	return b, nil
}

// Challenge implements the middleware's Challenger: the Basic challenge
// with realm and charset="UTF-8" (RFC 7617 section 2.1).
func (b *Basic) Challenge(realm string) string {
	return `Basic realm="` + realm + `", charset="UTF-8"`
}

// Accepts reports whether c is a Basic Authorization credential.
func (b *Basic) Accepts(c gatehouse.Credential) bool {
	return c.Source == gatehouse.SourceHeader && c.Scheme == gatehouse.SchemeBasic
}

// Basic refusals.
var (
	errBasicMalformed = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The Basic credentials must be base64 of user-id:password in UTF-8, without control characters"}
	errBasicInvalid = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown,
		Detail: "Incorrect user or password"}
)

// Authenticate decodes the Basic credentials in c.Value and verifies them.
// A pair verified within CacheTTL is answered from memory without
// allocating.
func (b *Basic) Authenticate(ctx context.Context, c gatehouse.Credential) (*gatehouse.Principal, error) {
	var buf [maxBasicDecoded]byte
	raw, colon, err := decodeBasic(c.Value, &buf)
	if err != nil {
		return nil, err
	}
	// The cache first: it holds only pairs verified as user passwords, so
	// a hit is never an API key, and a warm request allocates nothing.
	k := b.cacheKey(raw)
	now := b.now()
	if p, ok := b.cached(k, now); ok {
		return p, nil
	}
	if b.apiKeys != nil {
		kc := gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: string(raw[colon+1:])}
		if b.apiKeys.Accepts(kc) {
			return b.apiKeys.Authenticate(ctx, kc)
		}
	}
	return b.verify(ctx, k, string(raw[:colon]), string(raw[colon+1:]), now)
}

// Verify verifies a user-id (e-mail address) and password, for callers
// outside the middleware, through the same cache.
func (b *Basic) Verify(ctx context.Context, user, pass string) (*gatehouse.Principal, error) {
	if b.apiKeys != nil {
		kc := gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: pass}
		if b.apiKeys.Accepts(kc) {
			return b.apiKeys.Authenticate(ctx, kc)
		}
	}
	if len(user)+1+len(pass) > maxBasicDecoded {
		return nil, errBasicInvalid
	}
	k := b.cacheKey([]byte(user + ":" + pass))
	now := b.now()
	if p, ok := b.cached(k, now); ok {
		return p, nil
	}
	return b.verify(ctx, k, user, pass, now)
}

func (b *Basic) cached(k [32]byte, now time.Time) (*gatehouse.Principal, bool) {
	b.mu.Lock()
	e, ok := b.cache.Get(k)
	b.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, true
	}
	return nil, false
}

func (b *Basic) verify(ctx context.Context, k [32]byte, user, pass string, now time.Time) (*gatehouse.Principal, error) {
	if len(pass) > MaxPasswordLength {
		return nil, errBasicInvalid
	}
	email := store.NormalizeEmail(user)
	// Concurrent requests with the same credentials share one argon2id run.
	v, err, _ := b.group.Do(string(k[:]), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
		defer cancel()
		return b.verifyStore(lctx, email, pass)
	})
	if err != nil {
		return nil, err
	}
	p := v.(*gatehouse.Principal)
	b.mu.Lock()
	b.cache.Add(k, basicEntry{p: p, expires: now.Add(b.ttl)})
	b.mu.Unlock()
	return p, nil
}

func (b *Basic) verifyStore(ctx context.Context, email, pass string) (*gatehouse.Principal, error) {
	if b.throttle != nil {
		if err := b.throttle.Attempt(ctx, email); err != nil {
			return nil, err
		}
	}
	u, err := b.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.hasher.VerifyDummy(pass)
		return nil, errBasicInvalid
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	case u.PasswordHash == "":
		b.hasher.VerifyDummy(pass)
		return nil, errBasicInvalid
	}
	if _, err := b.hasher.Verify(pass, u.PasswordHash); err != nil {
		if errors.Is(err, ErrHashFormat) {
			b.hasher.VerifyDummy(pass)
		}
		return nil, errBasicInvalid
	}
	if b.throttle != nil {
		_ = b.throttle.Succeeded(ctx, email)
	}
	return &gatehouse.Principal{ID: u.ID, Kind: gatehouse.KindBasic, TenantID: u.TenantID,
		Scopes: append([]string(nil), b.scopes(u)...)}, nil
}

// cacheKey is HMAC-SHA-256 under the per-process secret of the decoded
// "user-id:password" (the user-id has no colon, so no two pairs share a
// message). It does not allocate for credentials of up to 128 bytes.
func (b *Basic) cacheKey(msg []byte) [32]byte { return b.cacheMAC.SumBytes(msg) }

// Forget drops every cached verification, for example after passwords
// were changed.
func (b *Basic) Forget() {
	b.mu.Lock()
	b.cache.Purge()
	b.mu.Unlock()
}

// maxBasicDecoded bounds the decoded credentials, in bytes: a user-id, a
// colon and a password of MaxPasswordLength (an API key is shorter).
const maxBasicDecoded = maxEmail + 1 + MaxPasswordLength

// ParseBasic decodes the credentials of an Authorization: Basic header
// (RFC 7617): base64 (standard alphabet, padding optional) of
// user-id:password. The user-id must not be empty; neither part may hold
// control characters, and both must be UTF-8. Refusals wrap
// gatehouse.ErrInvalidRequest (400).
func ParseBasic(v string) (user, pass string, err error) {
	var buf [maxBasicDecoded]byte
	raw, colon, err := decodeBasic(v, &buf)
	if err != nil {
		return "", "", err
	}
	return string(raw[:colon]), string(raw[colon+1:]), nil
}

// decodeBasic decodes v into buf and returns the decoded bytes and the
// index of the first colon.
func decodeBasic(v string, buf *[maxBasicDecoded]byte) ([]byte, int, error) {
	enc := base64.StdEncoding
	if len(v)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	if v == "" || enc.DecodedLen(len(v)) > len(buf) {
		return nil, 0, errBasicMalformed
	}
	n, err := enc.Decode(buf[:], []byte(v))
	if err != nil {
		return nil, 0, errBasicMalformed
	}
	raw := buf[:n]
	colon := bytes.IndexByte(raw, ':')
	if colon <= 0 || !utf8.Valid(raw) || !noControl(raw) {
		return nil, 0, errBasicMalformed
	}
	return raw, colon, nil
}

// noControl reports whether s (valid UTF-8) has no C0 or C1 control
// character and no DEL.
func noControl(s []byte) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
		i += size
	}
	return true
}
