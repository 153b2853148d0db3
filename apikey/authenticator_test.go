package apikey_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 6, 7, 8, 9, 10, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// countingStore counts KeyByDigest calls; lookup, when set before use,
// replaces it.
type countingStore struct {
	store.KeyStore
	calls  atomic.Int64
	lookup func(ctx context.Context, d store.Digest) (*store.Key, error)
}

func (s *countingStore) KeyByDigest(ctx context.Context, d store.Digest) (*store.Key, error) {
	s.calls.Add(1)
	if s.lookup != nil {
		return s.lookup(ctx, d)
	}
	return s.KeyStore.KeyByDigest(ctx, d)
}

// env is an authenticator over a counting memory store, with or without a
// KeyCache, on one fake clock.
type env struct {
	clock *clock
	mem   *store.Memory
	probe *countingStore
	cache *store.KeyCache
	auth  *apikey.Authenticator
}

func newEnv(t testing.TB, cached bool, cfg apikey.Config) *env {
	t.Helper()
	e := &env{clock: newClock(), mem: store.NewMemory()}
	e.probe = &countingStore{KeyStore: e.mem}
	var ks store.KeyStore = e.probe
	if cached {
		var err error
		e.cache, err = store.NewKeyCache(e.probe, store.CacheConfig{Now: e.clock.Now})
		require.NoError(t, err)
		ks = e.cache
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	var err error
	e.auth, err = apikey.NewAuthenticator(testFormat, ks, cfg)
	require.NoError(t, err)
	return e
}

func (e *env) issue(t testing.TB, h *store.Hasher, p apikey.Params) (string, *store.Key) {
	t.Helper()
	if p.Name == "" {
		p.Name = "test"
	}
	p.Now = e.clock.Now()
	key, rec, err := apikey.Issue(context.Background(), e.mem, testFormat, h, p)
	require.NoError(t, err)
	return key, rec
}

func cacheModes(t *testing.T, run func(t *testing.T, cached bool)) {
	for _, cached := range []bool{true, false} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		t.Run(name, func(t *testing.T) { run(t, cached) })
	}
}

func TestNewAuthenticator(t *testing.T) {
	mem := store.NewMemory()
	tests := []struct {
		name   string
		format apikey.Format
		keys   store.KeyStore
		cfg    apikey.Config
	}{
		{name: "zero format", keys: mem},
		{name: "nil store", format: testFormat},
		{name: "invalid role scope", format: testFormat, keys: mem, cfg: apikey.Config{Roles: scopes.Roles{"r": {"a b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := apikey.NewAuthenticator(tt.format, tt.keys, tt.cfg)
			assert.Error(t, err)
			assert.Nil(t, a)
		})
	}
	a, err := apikey.NewAuthenticator(testFormat, mem, apikey.Config{})
	require.NoError(t, err)
	assert.Equal(t, testFormat, a.Format())
}

func TestAccepts(t *testing.T) {
	a, err := apikey.NewAuthenticator(testFormat, store.NewMemory(), apikey.Config{})
	require.NoError(t, err)
	key, err := testFormat.Generate()
	require.NoError(t, err)
	tests := []struct {
		name string
		c    gatehouse.Credential
		want bool
	}{
		{name: "bearer key", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: key}, want: true},
		{name: "prefix only", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: testPrefix}, want: true},
		{name: "message source", c: gatehouse.Credential{Source: gatehouse.SourceMessage, Scheme: gatehouse.SchemeBearer, Value: key}, want: true},
		{name: "basic", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBasic, Value: key}},
		{name: "cookie", c: gatehouse.Credential{Source: gatehouse.SourceCookie, Value: key}},
		{name: "non-canonical scheme", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: "bearer", Value: key}},
		{name: "other prefix", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: "ghp_" + key[len(testPrefix):]}},
		{name: "JWT", c: gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: "eyJ.eyJ.sig"}},
		{name: "empty", c: gatehouse.Credential{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, a.Accepts(tt.c))
		})
	}
}

func TestVerify(t *testing.T) {
	cacheModes(t, func(t *testing.T, cached bool) {
		e := newEnv(t, cached, apikey.Config{})
		expiry := e.clock.Now().Add(time.Hour)
		valid, _ := e.issue(t, nil, apikey.Params{OwnerID: "usr_1", TenantID: "org_1", Scopes: []string{"read", "write"}})
		expiring, expiringRec := e.issue(t, nil, apikey.Params{OwnerID: "usr_2", TenantID: "org_2", ExpiresAt: expiry})
		revoked, revokedRec := e.issue(t, nil, apikey.Params{OwnerID: "usr_3", TenantID: "org_3"})
		_, err := e.mem.RevokeKey(context.Background(), revokedRec.ID, e.clock.Now())
		require.NoError(t, err)
		unknown, err := testFormat.Generate()
		require.NoError(t, err)
		start := e.clock.Now()

		tests := []struct {
			name   string
			key    string
			at     time.Time // zero: start
			reason gatehouse.Reason
			keyID  string // on a found key's refusal
			calls  int64
			id     string // principal ID on success
		}{
			{name: "valid", key: valid, calls: 1, id: "usr_1"},
			{name: "expiring, an hour before", key: expiring, calls: 1, id: "usr_2"},
			{name: "expiring, 1s before", key: expiring, at: expiry.Add(-time.Second), calls: 1, id: "usr_2"},
			{name: "expired at expiry", key: expiring, at: expiry, reason: gatehouse.ReasonExpired, keyID: expiringRec.ID, calls: 1},
			{name: "expired 1s after", key: expiring, at: expiry.Add(time.Second), reason: gatehouse.ReasonExpired, keyID: expiringRec.ID, calls: 1},
			{name: "revoked", key: revoked, reason: gatehouse.ReasonRevoked, keyID: revokedRec.ID, calls: 1},
			{name: "unknown", key: unknown, reason: gatehouse.ReasonUnknown, calls: 1},
			{name: "bad checksum", key: flip(valid, len(valid)-1), reason: gatehouse.ReasonBadChecksum},
			{name: "typo", key: flip(valid, len(testPrefix)), reason: gatehouse.ReasonBadChecksum},
			{name: "charset", key: valid[:len(valid)-1] + "-", reason: gatehouse.ReasonMalformed},
			{name: "NUL", key: valid[:len(valid)-1] + "\x00", reason: gatehouse.ReasonMalformed},
			{name: "trailing newline", key: valid + "\n", reason: gatehouse.ReasonMalformed},
			{name: "truncated", key: valid[:len(valid)-1], reason: gatehouse.ReasonMalformed},
			{name: "extended", key: valid + "a", reason: gatehouse.ReasonMalformed},
			{name: "wrong prefix", key: "cpx_test." + valid[len(testPrefix):], reason: gatehouse.ReasonMalformed},
			{name: "empty", key: "", reason: gatehouse.ReasonMalformed},
			{name: "long", key: testPrefix + strings.Repeat("a", 10_000), reason: gatehouse.ReasonMalformed},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if e.cache != nil {
					e.cache.InvalidateAll()
				}
				at := tt.at
				if at.IsZero() {
					at = start
				}
				e.clock.Set(at)
				before := e.probe.calls.Load()
				p, err := e.auth.Verify(context.Background(), tt.key)
				assert.Equal(t, tt.calls, e.probe.calls.Load()-before, "store calls")
				if tt.reason == "" {
					require.NoError(t, err)
					assert.Equal(t, tt.id, p.ID)
					assert.Equal(t, gatehouse.KindAPIKey, p.Kind)
					// Authenticate is Verify on the credential's value.
					p2, err := e.auth.Authenticate(context.Background(), gatehouse.Credential{Scheme: gatehouse.SchemeBearer, Value: tt.key})
					require.NoError(t, err)
					assert.Equal(t, p, p2)
					return
				}
				assert.Nil(t, p)
				require.ErrorIs(t, err, gatehouse.ErrInvalidToken)
				var ge *gatehouse.Error
				require.ErrorAs(t, err, &ge)
				assert.Equal(t, tt.reason, ge.Reason)
				assert.Equal(t, apikey.DetailInvalid, ge.Detail)
				assert.Equal(t, tt.keyID, ge.KeyID)
				if len(tt.key) >= 12 {
					assert.NotContains(t, err.Error(), tt.key[len(tt.key)-12:], "errors never carry the key")
				}
			})
		}
	})
}

func TestVerifyPrincipal(t *testing.T) {
	cacheModes(t, func(t *testing.T, cached bool) {
		e := newEnv(t, cached, apikey.Config{})
		expiry := e.clock.Now().Add(24 * time.Hour)
		key, rec := e.issue(t, nil, apikey.Params{OwnerID: "usr_1", TenantID: "org_1", Scopes: []string{"write", "read"},
			ExpiresAt: expiry, Metadata: map[string]string{"env": "ci"}})
		p, err := e.auth.Verify(context.Background(), key)
		require.NoError(t, err)
		assert.Equal(t, &gatehouse.Principal{ID: "usr_1", Kind: gatehouse.KindAPIKey, TenantID: "org_1",
			Scopes: []string{"read", "write"}, KeyID: rec.ID, ExpiresAt: expiry, Metadata: map[string]string{"env": "ci"}}, p)

		p2, err := e.auth.Verify(context.Background(), key)
		require.NoError(t, err)
		if cached {
			assert.Same(t, p, p2, "a cached key shares one principal")
			assert.Equal(t, int64(1), e.probe.calls.Load())
		} else {
			assert.Equal(t, int64(2), e.probe.calls.Load())
		}
	})
}

func TestPrincipalOf(t *testing.T) {
	roles := scopes.Roles{"viewer": {"read"}, "editor": {"read", "write"}}
	tests := []struct {
		name   string
		key    store.Key
		id     string
		scopes []string
	}{
		{name: "owner", key: store.Key{ID: "key_1", OwnerID: "usr_1", Scopes: []string{"a"}}, id: "usr_1", scopes: []string{"a"}},
		{name: "no owner", key: store.Key{ID: "key_1", Scopes: []string{"a"}}, id: "key_1", scopes: []string{"a"}},
		{name: "role", key: store.Key{ID: "key_1", Role: "editor"}, id: "key_1", scopes: []string{"read", "write"}},
		{name: "scopes win over role", key: store.Key{ID: "key_1", Role: "editor", Scopes: []string{"a"}}, id: "key_1", scopes: []string{"a"}},
		{name: "unknown role", key: store.Key{ID: "key_1", Role: "ghost"}, id: "key_1"},
		{name: "nothing", key: store.Key{ID: "key_1"}, id: "key_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := apikey.PrincipalOf(&tt.key, roles)
			assert.Equal(t, tt.id, p.ID)
			assert.Equal(t, tt.key.ID, p.KeyID)
			assert.ElementsMatch(t, tt.scopes, p.Scopes)
		})
	}

	t.Run("copies", func(t *testing.T) {
		k := &store.Key{ID: "key_1", Scopes: []string{"a"}, Metadata: map[string]string{"x": "1"}}
		p := apikey.PrincipalOf(k, roles)
		p.Scopes[0] = "changed"
		p.Metadata["x"] = "changed"
		assert.Equal(t, []string{"a"}, k.Scopes)
		assert.Equal(t, "1", k.Metadata["x"])
		r := apikey.PrincipalOf(&store.Key{ID: "key_2", Role: "viewer"}, roles)
		r.Scopes[0] = "changed"
		assert.Equal(t, []string{"read"}, roles["viewer"])
	})
}

func TestRoles(t *testing.T) {
	cacheModes(t, func(t *testing.T, cached bool) {
		roles := scopes.Roles{"auditor": {"audit:read"}}
		e := newEnv(t, cached, apikey.Config{Roles: roles})
		key, _ := e.issue(t, nil, apikey.Params{Role: "auditor"})
		roles["auditor"][0] = "changed after construction"
		p, err := e.auth.Verify(context.Background(), key)
		require.NoError(t, err)
		assert.Equal(t, []string{"audit:read"}, p.Scopes, "the authenticator keeps its own copy of the roles")

		d := newEnv(t, cached, apikey.Config{})
		key, _ = d.issue(t, nil, apikey.Params{Role: "editor"})
		p, err = d.auth.Verify(context.Background(), key)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"read", "write"}, p.Scopes, "default roles")
	})
}

func TestPrincipalBuilder(t *testing.T) {
	cacheModes(t, func(t *testing.T, cached bool) {
		var built atomic.Int64
		e := newEnv(t, cached, apikey.Config{Principal: func(k *store.Key) *gatehouse.Principal {
			built.Add(1)
			return &gatehouse.Principal{ID: "svc:" + k.Name, Kind: gatehouse.KindAPIKey, KeyID: k.ID}
		}})
		key, _ := e.issue(t, nil, apikey.Params{Name: "deployer"})
		for range 5 {
			p, err := e.auth.Verify(context.Background(), key)
			require.NoError(t, err)
			assert.Equal(t, "svc:deployer", p.ID)
		}
		if cached {
			assert.Equal(t, int64(1), built.Load(), "built once per cached key")
		} else {
			assert.Equal(t, int64(5), built.Load())
		}
	})
}

func TestPepper(t *testing.T) {
	pepper := []byte("0123456789abcdef0123456789abcdef")
	peppered, err := store.NewHasher(pepper)
	require.NoError(t, err)
	other, err := store.NewHasher([]byte("another pepper, also 16+ bytes"))
	require.NoError(t, err)
	tests := []struct {
		name   string
		issue  *store.Hasher
		verify *store.Hasher
		ok     bool
	}{
		{name: "same pepper", issue: peppered, verify: peppered, ok: true},
		{name: "no pepper either side", ok: true},
		{name: "issued peppered, verified plain", issue: peppered},
		{name: "issued plain, verified peppered", verify: peppered},
		{name: "another pepper", issue: peppered, verify: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, true, apikey.Config{Hasher: tt.verify})
			key, rec := e.issue(t, tt.issue, apikey.Params{})
			assert.Equal(t, tt.issue.Sum(key), rec.Digest)
			_, err := e.auth.Verify(context.Background(), key)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
			}
		})
	}
}

// TestClock checks which clock judges expiry: apikey.Config.Now when set,
// else the KeyCache's clock.
func TestClock(t *testing.T) {
	cacheClock, authClock := newClock(), newClock()
	mem := store.NewMemory()
	expiry := cacheClock.Now().Add(time.Hour)
	key, _, err := apikey.Issue(context.Background(), mem, testFormat, nil,
		apikey.Params{Name: "k", ExpiresAt: expiry, Now: cacheClock.Now()})
	require.NoError(t, err)
	cache, err := store.NewKeyCache(mem, store.CacheConfig{Now: cacheClock.Now, TTL: 10 * time.Hour})
	require.NoError(t, err)

	own, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{Now: authClock.Now})
	require.NoError(t, err)
	inherited, err := apikey.NewAuthenticator(testFormat, cache, apikey.Config{})
	require.NoError(t, err)

	cacheClock.Set(expiry)
	_, err = inherited.Verify(context.Background(), key)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "the cache's clock says expired")
	_, err = own.Verify(context.Background(), key)
	assert.NoError(t, err, "the authenticator's own clock says an hour left")
	authClock.Set(expiry.Add(-time.Nanosecond))
	_, err = own.Verify(context.Background(), key)
	assert.NoError(t, err)
	authClock.Set(expiry)
	_, err = own.Verify(context.Background(), key)
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
}

func TestVerifyStoreFaults(t *testing.T) {
	backendErr := errors.New("sql: connection refused to 10.0.0.9")
	tests := []struct {
		name   string
		lookup func(ctx context.Context, d store.Digest, k *store.Key) (*store.Key, error)
		cause  error
		ctx    func() context.Context
	}{
		{name: "error", cause: backendErr, lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			return nil, backendErr
		}},
		{name: "nil record", cause: store.ErrCorrupt, lookup: func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
			return nil, nil
		}},
		{name: "record of another digest", cause: store.ErrCorrupt, lookup: func(_ context.Context, _ store.Digest, k *store.Key) (*store.Key, error) {
			c := k.Clone()
			c.Digest[31] ^= 0xff
			return c, nil
		}},
		{name: "cancelled context", cause: context.Canceled, lookup: func(ctx context.Context, _ store.Digest, _ *store.Key) (*store.Key, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tt := range tests {
		cacheModes(t, func(t *testing.T, cached bool) {
			t.Run(tt.name, func(t *testing.T) {
				lookup := tt.lookup
				if cached && tt.ctx != nil {
					// The cache's shared load outlives the caller's
					// context (it must not wait for it here); the caller
					// still gets the context's error.
					lookup = func(context.Context, store.Digest, *store.Key) (*store.Key, error) {
						return nil, context.Canceled
					}
				}
				e := newEnv(t, cached, apikey.Config{})
				key, rec := e.issue(t, nil, apikey.Params{})
				e.probe.lookup = func(ctx context.Context, d store.Digest) (*store.Key, error) { return lookup(ctx, d, rec) }
				ctx := context.Background()
				if tt.ctx != nil {
					ctx = tt.ctx()
				}
				p, err := e.auth.Verify(ctx, key)
				assert.Nil(t, p)
				require.ErrorIs(t, err, gatehouse.ErrUnavailable)
				assert.ErrorIs(t, err, tt.cause, "the cause is kept for logs")
				assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken, "a store failure is never an invalid key")
				var ge *gatehouse.Error
				require.ErrorAs(t, err, &ge)
				assert.Empty(t, ge.Detail, "the client gets the default unavailable detail")
			})
		})
	}
}

// memUsage is a UsageStore that records what it is given.
type memUsage struct {
	mu  sync.Mutex
	got map[string]time.Time
}

func (m *memUsage) TouchKeys(_ context.Context, usage []store.KeyUsage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range usage {
		m.got[u.KeyID] = u.At
	}
	return nil
}

func TestUsage(t *testing.T) {
	cacheModes(t, func(t *testing.T, cached bool) {
		us := &memUsage{got: map[string]time.Time{}}
		rec, err := store.NewUsageRecorder(us)
		require.NoError(t, err)
		e := newEnv(t, cached, apikey.Config{Usage: rec})
		key, k := e.issue(t, nil, apikey.Params{})
		start := e.clock.Now()
		for i := range 5 {
			e.clock.Set(start.Add(time.Duration(i) * 100 * time.Millisecond))
			_, err := e.auth.Verify(context.Background(), key)
			require.NoError(t, err)
		}
		_, err = e.auth.Verify(context.Background(), flip(key, len(key)-1))
		require.Error(t, err)
		assert.Equal(t, 1, rec.Pending())
		require.NoError(t, rec.Flush(context.Background()))
		if cached {
			assert.Equal(t, start, us.got[k.ID], "coalesced to one use a second")
		} else {
			assert.Equal(t, start.Add(400*time.Millisecond), us.got[k.ID])
		}
		assert.Len(t, us.got, 1)
	})
}

// TestVerifyCachedDoesNotAllocate guards the hot path: a cached key costs
// no allocation in the authenticator (the middleware adds the two of the
// request context).
func TestVerifyCachedDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	e := newEnv(t, true, apikey.Config{})
	key, _ := e.issue(t, nil, apikey.Params{Scopes: []string{"read"}})
	bad := flip(key, len(key)-1)
	_, err := e.auth.Verify(context.Background(), key)
	require.NoError(t, err)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := e.auth.Verify(ctx, key); err != nil {
			panic(err)
		}
		if _, err := e.auth.Verify(ctx, bad); err == nil {
			panic("bad checksum accepted")
		}
	})
	assert.Zero(t, allocs)
}
