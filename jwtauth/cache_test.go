package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

// cachedAuth returns an authenticator over one HS256 key whose lookups are
// counted: a lookup is a verification that the cache did not answer.
func cachedAuth(t *testing.T, clk *clock, mod func(*Config)) (*Authenticator, *countingSource) {
	t.Helper()
	src := &countingSource{KeySource: MustStaticKeys(mustHMAC(t))}
	cfg := Config{Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, Issuer{Issuer: loginIssuer, Keys: src})
	require.NoError(t, err)
	return a, src
}

func hsToken(t *testing.T, now time.Time, f func(c jwt.MapClaims)) string {
	t.Helper()
	c := loginClaims(now)
	if f != nil {
		f(c)
	}
	return sign(t, jwt.SigningMethodHS256, keys(t).hmac[:32], nil, c)
}

func TestCacheHit(t *testing.T) {
	clk := newClock()
	a, src := cachedAuth(t, clk, nil)
	ctx := context.Background()
	tok := hsToken(t, clk.Now(), nil)
	p1, err := a.Verify(ctx, tok)
	require.NoError(t, err)
	for range 100 {
		p, err := a.Verify(ctx, tok)
		require.NoError(t, err)
		assert.Same(t, p1, p, "a cache hit shares the principal")
	}
	assert.EqualValues(t, 1, src.n.Load(), "a repeated token is verified once")
	assert.Equal(t, 1, a.Len())

	allocs := testing.AllocsPerRun(100, func() { _, _ = a.Verify(ctx, tok) })
	assert.Zero(t, allocs, "a cache hit does not allocate")

	a.Forget()
	assert.Zero(t, a.Len())
	_, err = a.Verify(ctx, tok)
	require.NoError(t, err)
	assert.EqualValues(t, 2, src.n.Load())
}

func TestCacheNeverPastExp(t *testing.T) {
	ctx := context.Background()
	for _, leeway := range []time.Duration{0, 30 * time.Second} {
		t.Run("leeway "+leeway.String(), func(t *testing.T) {
			clk := newClock()
			a, src := cachedAuth(t, clk, func(c *Config) { c.Leeway = leeway })
			tok := hsToken(t, clk.Now(), nil) // exp = now + 1h
			_, err := a.Verify(ctx, tok)
			require.NoError(t, err)

			clk.Add(time.Hour - time.Second)
			_, err = a.Verify(ctx, tok)
			require.NoError(t, err)
			assert.EqualValues(t, 1, src.n.Load(), "served from the cache before exp")

			clk.Add(time.Second) // at exp
			_, err = a.Verify(ctx, tok)
			if leeway == 0 {
				assertRefused(t, err, DetailExpired)
			} else {
				require.NoError(t, err, "within the leeway, verified again")
			}
			assert.EqualValues(t, 2, src.n.Load(), "at exp the cache does not answer")

			clk.Add(leeway + time.Second)
			_, err = a.Verify(ctx, tok)
			assertRefused(t, err, DetailExpired)
		})
	}
}

func TestCacheBound(t *testing.T) {
	clk := newClock()
	a, _ := cachedAuth(t, clk, func(c *Config) { c.CacheSize = 16 })
	for i := range 200 {
		_, err := a.Verify(context.Background(), hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["jti"] = fmt.Sprint(i) }))
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, a.Len(), 16)

	t.Run("disabled", func(t *testing.T) {
		a, src := cachedAuth(t, clk, func(c *Config) { c.CacheSize = -1 })
		tok := hsToken(t, clk.Now(), nil)
		for range 5 {
			_, err := a.Verify(context.Background(), tok)
			require.NoError(t, err)
		}
		assert.EqualValues(t, 5, src.n.Load())
		assert.Zero(t, a.Len())
	})
}

func TestCacheConcurrent(t *testing.T) {
	clk := newClock()
	a, _ := cachedAuth(t, clk, func(c *Config) { c.CacheSize = 8 })
	toks := make([]string, 32)
	for i := range toks {
		toks[i] = hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["jti"] = fmt.Sprint(i) })
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				p, err := a.Verify(context.Background(), toks[(g+i)%len(toks)])
				if assert.NoError(t, err) {
					assert.Equal(t, "user-1", p.ID)
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, a.Len(), 8)
}

func TestDenylist(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	deny := NewMemoryDenylist(clk.Now)
	a, src := cachedAuth(t, clk, func(c *Config) { c.Denylist = deny })

	t.Run("by jti, on a cache hit", func(t *testing.T) {
		tok := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["jti"] = "revoke-me" })
		other := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["jti"] = "keep-me" })
		_, err := a.Verify(ctx, tok)
		require.NoError(t, err)
		_, err = a.Verify(ctx, other)
		require.NoError(t, err)
		n := src.n.Load()

		deny.RevokeID("revoke-me", clk.Now().Add(time.Hour))
		_, err = a.Verify(ctx, tok)
		assertRefused(t, err, DetailRevoked)
		_, err = a.Verify(ctx, other)
		require.NoError(t, err)
		assert.Equal(t, n, src.n.Load(), "both answered from the cache; the denylist still ran")

		w := serveToken(t, tok, a)
		assertProblem(t, w, http.StatusUnauthorized, "invalid_token", DetailRevoked, tok)
	})

	t.Run("by subject, tokens issued before", func(t *testing.T) {
		old := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["sub"] = "mallory"; c["jti"] = "m1" })
		noIat := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["sub"] = "mallory"; c["jti"] = "m2"; delete(c, "iat") })
		_, err := a.Verify(ctx, old)
		require.NoError(t, err)
		clk.Add(time.Minute)
		deny.RevokeSubject("mallory", clk.Now(), clk.Now().Add(2*time.Hour))
		_, err = a.Verify(ctx, old)
		assertRefused(t, err, DetailRevoked)
		_, err = a.Verify(ctx, noIat)
		assertRefused(t, err, DetailRevoked)
		fresh := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["sub"] = "mallory"; c["jti"] = "m3" })
		_, err = a.Verify(ctx, fresh)
		require.NoError(t, err, "a token issued after the revocation passes")
	})

	t.Run("denylist down fails closed", func(t *testing.T) {
		a, _ := cachedAuth(t, clk, func(c *Config) { c.Denylist = brokenDenylist{} })
		tok := hsToken(t, clk.Now(), nil)
		_, err := a.Verify(ctx, tok)
		assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
		w := serveToken(t, tok, a)
		assertProblem(t, w, http.StatusServiceUnavailable, "unavailable", "", tok)
	})

	t.Run("entries are dropped after until", func(t *testing.T) {
		d := NewMemoryDenylist(clk.Now)
		for i := range 63 {
			d.RevokeID(fmt.Sprint(i), clk.Now().Add(time.Minute))
		}
		d.RevokeSubject("s", clk.Now(), clk.Now().Add(time.Minute))
		ids, subs := d.Len()
		assert.Equal(t, 63, ids)
		assert.Equal(t, 1, subs)
		clk.Add(2 * time.Minute)
		for i := range 64 {
			d.RevokeID(fmt.Sprint("new", i), clk.Now().Add(time.Hour))
		}
		ids, subs = d.Len()
		assert.LessOrEqual(t, ids, 64)
		assert.Zero(t, subs)
		denied, err := d.Denied(ctx, TokenRef{ID: "new1"})
		require.NoError(t, err)
		assert.True(t, denied)
	})
}

type brokenDenylist struct{}

func (brokenDenylist) Denied(context.Context, TokenRef) (bool, error) {
	return false, errors.New("redis: connection refused")
}

// TestCacheAnswersOnlyItsToken: a cached token's signature with another
// header or payload is verified, and refused, not served from the cache.
func TestCacheAnswersOnlyItsToken(t *testing.T) {
	clk := newClock()
	a, _ := cachedAuth(t, clk, nil)
	ctx := context.Background()
	good := hsToken(t, clk.Now(), nil)
	_, err := a.Verify(ctx, good)
	require.NoError(t, err)

	admin := hsToken(t, clk.Now(), func(c jwt.MapClaims) { c["sub"] = "admin"; c["scope"] = "admin" })
	gp, ap := strings.Split(good, "."), strings.Split(admin, ".")
	for name, forged := range map[string]string{
		"payload swapped": gp[0] + "." + ap[1] + "." + gp[2],
		"header swapped":  b64url([]byte(`{"alg":"HS256","typ":"JWT","x":1}`)) + "." + gp[1] + "." + gp[2],
	} {
		t.Run(name, func(t *testing.T) {
			p, err := a.Verify(ctx, forged)
			assertRefused(t, err, DetailBadSignature)
			assert.Nil(t, p)
		})
	}
	// The genuine token is still served.
	p, err := a.Verify(ctx, good)
	require.NoError(t, err)
	assert.Equal(t, "user-1", p.ID)
}
