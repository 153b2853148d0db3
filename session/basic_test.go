package session

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		user     string
		pass     string
		wantFail bool
	}{
		{"plain", b64("ada@example.com:secret"), "ada@example.com", "secret", false},
		{"padding left out", strings.TrimRight(b64("ada@example.com:secre"), "="), "ada@example.com", "secre", false},
		{"colon in the password", b64("ada:a:b:c"), "ada", "a:b:c", false},
		{"empty password", b64("ada:"), "ada", "", false},
		{"UTF-8", b64("zoë:pässwörd"), "zoë", "pässwörd", false},
		{"no colon", b64("adasecret"), "", "", true},
		{"empty user", b64(":secret"), "", "", true},
		{"empty", "", "", "", true},
		{"bad base64", "!!!!", "", "", true},
		{"base64url alphabet", base64.URLEncoding.EncodeToString([]byte("a?>:?>?>")), "", "", true},
		{"not UTF-8", b64("ada:\xff\xfe"), "", "", true},
		{"NUL in user", b64("ad\x00a:secret"), "", "", true},
		{"newline in password", b64("ada:sec\nret"), "", "", true},
		{"DEL in password", b64("ada:sec\x7fret"), "", "", true},
		{"C1 control", b64("ada:sec\u0085ret"), "", "", true},
		{"too long", b64("ada:" + strings.Repeat("p", maxBasicDecoded)), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, pass, err := ParseBasic(tt.in)
			if tt.wantFail {
				assert.ErrorIs(t, err, gatehouse.ErrInvalidRequest)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.user, user)
			assert.Equal(t, tt.pass, pass)
		})
	}
}

type basicEnv struct {
	clk   *clock
	mem   *store.Memory
	basic *Basic
	user  *store.User
}

func newBasicEnv(t *testing.T, cfg BasicConfig) *basicEnv {
	t.Helper()
	be := &basicEnv{clk: newClock(), mem: store.NewMemory()}
	if cfg.Hasher == nil {
		cfg.Hasher = testHasher(t, fastParams)
	}
	cfg.Now = be.clk.Now
	hash, err := cfg.Hasher.Hash(testPassword)
	require.NoError(t, err)
	be.user = &store.User{ID: "usr_ada", TenantID: "t1", Email: testEmail, Level: store.LevelMember, Scopes: []string{"read"}, PasswordHash: hash}
	require.NoError(t, be.mem.CreateUser(context.Background(), be.user))
	be.basic, err = NewBasic(be.mem, cfg)
	require.NoError(t, err)
	return be
}

func basicCred(user, pass string) gatehouse.Credential {
	return gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBasic, Value: b64(user + ":" + pass)}
}

func TestBasicAuthenticate(t *testing.T) {
	ctx := context.Background()
	calls := countArgon(t)
	be := newBasicEnv(t, BasicConfig{CacheTTL: time.Minute})
	calls.Store(0)

	p, err := be.basic.Authenticate(ctx, basicCred("Ada@Example.com", testPassword))
	require.NoError(t, err)
	assert.Equal(t, &gatehouse.Principal{ID: "usr_ada", Kind: gatehouse.KindBasic, TenantID: "t1", Scopes: []string{"read"}}, p)
	assert.EqualValues(t, 1, calls.Load())

	// Warm: no argon2id run.
	for range 10 {
		again, err := be.basic.Authenticate(ctx, basicCred("Ada@Example.com", testPassword))
		require.NoError(t, err)
		assert.Same(t, p, again)
	}
	assert.EqualValues(t, 1, calls.Load(), "served from the verification cache")

	// Wrong password and unknown user: same refusal, same work, not cached.
	for _, c := range []gatehouse.Credential{basicCred(testEmail, "wrong"), basicCred("nobody@example.com", "wrong"), basicCred(testEmail, "wrong")} {
		calls.Store(0)
		_, err := be.basic.Authenticate(ctx, c)
		assert.Equal(t, errBasicInvalid, err)
		assert.EqualValues(t, 1, calls.Load())
	}

	// A changed password stops working when the cache entry ends.
	newHash, err := testHasher(t, fastParams).Hash("another one")
	require.NoError(t, err)
	_, err = be.mem.UpdateUser(ctx, "usr_ada", store.UserUpdate{PasswordHash: &newHash})
	require.NoError(t, err)
	be.clk.Advance(59 * time.Second)
	_, err = be.basic.Authenticate(ctx, basicCred("Ada@Example.com", testPassword))
	require.NoError(t, err, "still cached")
	be.clk.Advance(time.Second)
	_, err = be.basic.Authenticate(ctx, basicCred("Ada@Example.com", testPassword))
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "expired from the cache, verified again")
	_, err = be.basic.Verify(ctx, testEmail, "another one")
	assert.NoError(t, err)

	// Malformed is a 400, before any work.
	calls.Store(0)
	_, err = be.basic.Authenticate(ctx, gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBasic, Value: b64("no colon")})
	assert.ErrorIs(t, err, gatehouse.ErrInvalidRequest)
	_, err = be.basic.Authenticate(ctx, basicCred(testEmail, strings.Repeat("p", MaxPasswordLength+1)))
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	assert.Zero(t, calls.Load())
}

func TestBasicCacheKeyNeverHoldsThePassword(t *testing.T) {
	be := newBasicEnv(t, BasicConfig{})
	k1 := be.basic.cacheKey([]byte("ada:pw"))
	assert.Equal(t, k1, be.basic.cacheKey([]byte("ada:pw")))
	assert.NotEqual(t, k1, be.basic.cacheKey([]byte("ada:pW")))
	other, err := NewBasic(be.mem, BasicConfig{Hasher: testHasher(t, fastParams)})
	require.NoError(t, err)
	assert.NotEqual(t, k1, other.cacheKey([]byte("ada:pw")), "keyed by a per-process secret")
	assert.NotEqual(t, sha256Of("ada:pw"), k1)
}

func TestBasicConcurrentMissesShareOneRun(t *testing.T) {
	calls := countArgon(t)
	be := newBasicEnv(t, BasicConfig{Hasher: testHasher(t, Params{MemoryKiB: 4096, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32})})
	calls.Store(0)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := be.basic.Authenticate(context.Background(), basicCred(testEmail, testPassword))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Less(t, calls.Load(), int64(50), "concurrent misses are coalesced")
}

func TestBasicThrottle(t *testing.T) {
	clk := newClock()
	th, err := NewMemoryThrottle(ThrottleConfig{Now: clk.Now})
	require.NoError(t, err)
	be := newBasicEnv(t, BasicConfig{Throttle: th})
	for range 5 {
		_, err := be.basic.Authenticate(context.Background(), basicCred(testEmail, "guess"))
		require.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	}
	_, err = be.basic.Authenticate(context.Background(), basicCred(testEmail, testPassword))
	assert.ErrorIs(t, err, gatehouse.ErrRateLimited)
}

func TestBasicAPIKeyAsPassword(t *testing.T) {
	ctx := context.Background()
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("cpx_live.")
	key, _, err := apikey.Issue(ctx, keys, format, nil, apikey.Params{Name: "ci", OwnerID: "usr_ci", Scopes: []string{"predict"}})
	require.NoError(t, err)
	keyAuth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	require.NoError(t, err)

	with := newBasicEnv(t, BasicConfig{APIKeys: keyAuth})
	p, err := with.basic.Authenticate(ctx, basicCred("anything", key))
	require.NoError(t, err)
	assert.Equal(t, gatehouse.KindAPIKey, p.Kind)
	assert.Equal(t, "usr_ci", p.ID)
	_, err = with.basic.Authenticate(ctx, basicCred("anything", key[:len(key)-1]+"x"))
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "a bad checksum")

	without := newBasicEnv(t, BasicConfig{})
	_, err = without.basic.Authenticate(ctx, basicCred("anything", key))
	assert.ErrorIs(t, err, gatehouse.ErrInvalidToken, "off unless configured")
}

func TestBasicThroughMiddleware(t *testing.T) {
	be := newBasicEnv(t, BasicConfig{})
	mw, err := middleware.New(middleware.Config{Realm: "gatehouse"}, be.basic)
	require.NoError(t, err)
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		_, _ = w.Write([]byte(p.ID))
	}))
	tests := []struct {
		name      string
		auth      []string
		want      int
		challenge string
	}{
		{"right password", []string{"Basic " + b64(testEmail+":"+testPassword)}, 200, ""},
		{"lower-case scheme", []string{"basic " + b64(testEmail+":"+testPassword)}, 200, ""},
		{"no credentials", nil, 401, `Basic realm="gatehouse", charset="UTF-8"`},
		{"wrong password", []string{"Basic " + b64(testEmail+":nope")}, 401, `Basic realm="gatehouse", charset="UTF-8"`},
		{"no colon", []string{"Basic " + b64("adasecret")}, 400, ""},
		{"bad base64", []string{"Basic ****"}, 401, ""},
		{"not UTF-8", []string{"Basic " + b64("ada:\xff")}, 400, ""},
		{"two headers", []string{"Basic " + b64(testEmail+":"+testPassword), "Basic " + b64(testEmail+":"+testPassword)}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []reqOpt{}
			for _, a := range tt.auth {
				opts = append(opts, withHeader("Authorization", a))
			}
			w := do(h, "GET", "/", "", opts...)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.challenge != "" {
				assert.Contains(t, w.Header().Values("WWW-Authenticate"), tt.challenge)
			}
			if w.Code != 200 {
				assert.NotContains(t, w.Body.String(), testPassword)
				problemOf(t, w)
			}
		})
	}
}

func TestNewBasicConfig(t *testing.T) {
	_, err := NewBasic(nil, BasicConfig{})
	assert.Error(t, err)
	_, err = NewBasic(store.NewMemory(), BasicConfig{CacheTTL: time.Hour})
	assert.Error(t, err)
	_, err = NewBasic(store.NewMemory(), BasicConfig{CacheSize: -1})
	assert.Error(t, err)
}

func TestBasicStoreDownAndForget(t *testing.T) {
	ctx := context.Background()
	calls := countArgon(t)
	down, err := NewBasic(failingUsers{}, BasicConfig{Hasher: testHasher(t, fastParams)})
	require.NoError(t, err)
	_, err = down.Authenticate(ctx, basicCred(testEmail, testPassword))
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken)

	be := newBasicEnv(t, BasicConfig{})
	_, err = be.basic.Verify(ctx, testEmail, testPassword)
	require.NoError(t, err)
	calls.Store(0)
	_, err = be.basic.Authenticate(ctx, basicCred(testEmail, testPassword))
	require.NoError(t, err)
	assert.Zero(t, calls.Load(), "Verify and Authenticate share the cache")
	be.basic.Forget()
	_, err = be.basic.Authenticate(ctx, basicCred(testEmail, testPassword))
	require.NoError(t, err)
	assert.EqualValues(t, 1, calls.Load(), "forgotten")
}

// TestBasicWarmDoesNotAllocate holds the warm Basic path (decode, HMAC
// cache key, cache hit) to no allocation.
func TestBasicWarmDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; make test runs this without it")
	}
	be := newBasicEnv(t, BasicConfig{CacheTTL: time.Minute})
	ctx := context.Background()
	c := basicCred(testEmail, testPassword)
	_, err := be.basic.Authenticate(ctx, c)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = be.basic.Authenticate(ctx, c) })
	assert.Zero(t, allocs)
}
