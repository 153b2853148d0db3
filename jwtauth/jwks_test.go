package jwtauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/internal/testsync"
)

// jwksServer is an identity provider's key set endpoint whose behaviour a
// test switches at will. It counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	block   chan struct{} // when set, requests wait for it to close
	entered chan struct{} // told of each request that waits on block
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status, block, entered := s.body, s.status, s.block, s.entered
		s.mu.Unlock()
		if block != nil {
			entered <- struct{}{}
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(status int, body []byte) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

func (s *jwksServer) serveKeys(t *testing.T, keys ...*Key) {
	s.serve(http.StatusOK, jwksBody(t, keys...))
}

// hold makes requests wait until the returned function is called.
func (s *jwksServer) hold() (entered <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	block, ent := make(chan struct{}), make(chan struct{}, 1000)
	s.block, s.entered = block, ent
	return ent, func() {
		s.mu.Lock()
		s.block = nil
		s.mu.Unlock()
		close(block)
	}
}

func jwksBody(t *testing.T, keys ...*Key) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"keys":[`)
	for i, k := range keys {
		j, err := MarshalJWK(k)
		require.NoError(t, err)
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(j)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

const (
	testTTL      = 10 * time.Minute
	testRefetch  = 30 * time.Second
	testRetry    = 5 * time.Second
	testMaxBytes = 64 << 10
)

// jwksFixture is a JWKS source over a test server and an authenticator on
// it, sharing one clock.
type jwksFixture struct {
	srv    *jwksServer
	clk    *clock
	jwks   *JWKS
	auth   *Authenticator
	errs   atomic.Int64
	k1, k2 *Key // RS256 "k1" (testKeys.rsa), EdDSA "k2" (testKeys.ed)
}

func newJWKSFixture(t *testing.T) *jwksFixture {
	t.Helper()
	k := keys(t)
	f := &jwksFixture{srv: newJWKSServer(t), clk: newClock()}
	var err error
	f.k1, err = NewPublicKey("k1", RS256, &k.rsa.PublicKey)
	require.NoError(t, err)
	f.k2, err = NewPublicKey("k2", EdDSA, k.ed.Public())
	require.NoError(t, err)
	f.srv.serveKeys(t, f.k1)
	f.jwks, err = NewJWKS(f.srv.URL+"/jwks.json", JWKSConfig{
		Client:          f.srv.Client(),
		TTL:             testTTL,
		RefetchInterval: testRefetch,
		RetryInterval:   testRetry,
		MaxSize:         testMaxBytes,
		Now:             f.clk.Now,
		OnError:         func(error) { f.errs.Add(1) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.jwks.Close() })
	f.auth, err = New(Config{Now: f.clk.Now}, Issuer{Issuer: idpIssuer, Audience: []string{apiAudience}, Keys: f.jwks})
	require.NoError(t, err)
	return f
}

func (f *jwksFixture) token(t *testing.T, kid string) string {
	t.Helper()
	k := keys(t)
	if kid == "k2" {
		return sign(t, jwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": kid}, claimsAt(f.clk.Now()))
	}
	return sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": kid}, claimsAt(f.clk.Now()))
}

func (f *jwksFixture) verify(t *testing.T, token string) error {
	t.Helper()
	_, err := f.auth.Verify(context.Background(), token)
	return err
}

func TestJWKSFetchAndCache(t *testing.T) {
	f := newJWKSFixture(t)
	tok := f.token(t, "k1")
	require.NoError(t, f.verify(t, tok))
	assert.EqualValues(t, 1, f.srv.fetches.Load())
	f.auth.Forget()
	// Fresh: the set is not fetched again before its TTL.
	f.clk.Add(testTTL - time.Second)
	require.NoError(t, f.verify(t, f.token(t, "k1")))
	assert.EqualValues(t, 1, f.srv.fetches.Load())
	// Stale: the next lookup fetches.
	f.clk.Add(2 * time.Second)
	require.NoError(t, f.verify(t, f.token(t, "k1")))
	assert.EqualValues(t, 2, f.srv.fetches.Load())
}

func TestJWKSRotation(t *testing.T) {
	f := newJWKSFixture(t)
	old := f.token(t, "k1")
	require.NoError(t, f.verify(t, old))
	require.Equal(t, 1, f.auth.Len())

	// The issuer adds k2 and drops k1.
	f.srv.serveKeys(t, f.k2)
	fresh := f.token(t, "k2")
	// Within RefetchInterval of the last fetch, an unknown kid is
	// refused without a fetch.
	assertRefused(t, f.verify(t, fresh), DetailUnknownKey)
	assert.EqualValues(t, 1, f.srv.fetches.Load())

	f.clk.Add(testRefetch)
	require.NoError(t, f.verify(t, fresh), "a new kid is fetched once the interval has passed")
	assert.EqualValues(t, 2, f.srv.fetches.Load())

	// k1 left the set: the token it verified leaves the cache at once.
	assertRefused(t, f.verify(t, old), DetailUnknownKey)
	assert.EqualValues(t, 2, f.srv.fetches.Load())

	t.Run("an unchanged key keeps its cached tokens", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.srv.serveKeys(t, f.k1, f.k2)
		tok := f.token(t, "k1")
		f.clk.Add(testRefetch)
		require.NoError(t, f.verify(t, f.token(t, "k2")))
		require.NoError(t, f.verify(t, tok))
		n := f.srv.fetches.Load()
		require.NoError(t, f.jwks.Refresh(context.Background()))
		assert.Equal(t, n+1, f.srv.fetches.Load())
		k, err := f.jwks.Key(context.Background(), "k1")
		require.NoError(t, err)
		assert.False(t, k.Revoked())
	})

	t.Run("a key whose material changes under the same kid is revoked", func(t *testing.T) {
		f := newJWKSFixture(t)
		require.NoError(t, f.verify(t, f.token(t, "k1")))
		before, err := f.jwks.Key(context.Background(), "k1")
		require.NoError(t, err)
		other, err := NewPublicKey("k1", RS256, &keys(t).rsa2.PublicKey)
		require.NoError(t, err)
		f.srv.serveKeys(t, other)
		require.NoError(t, f.jwks.Refresh(context.Background()))
		assert.True(t, before.Revoked())
		assertRefused(t, f.verify(t, f.token(t, "k1")), DetailBadSignature)
	})
}

func TestJWKSUnknownKidFlood(t *testing.T) {
	f := newJWKSFixture(t)
	require.NoError(t, f.verify(t, f.token(t, "k1")))
	require.EqualValues(t, 1, f.srv.fetches.Load())

	flood := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assertRefused(t, f.verify(t, f.token(t, fmt.Sprintf("made-up-%d", i))), DetailUnknownKey)
			}()
		}
		wg.Wait()
	}
	// Right after a fetch: no refetch at all.
	flood(200)
	assert.EqualValues(t, 1, f.srv.fetches.Load())
	// Once per interval, however many unknown kids arrive together.
	for round := 2; round <= 4; round++ {
		f.clk.Add(testRefetch)
		flood(200)
		assert.EqualValues(t, round, f.srv.fetches.Load(), "round %d", round)
	}
	// Half an interval later: still none.
	f.clk.Add(testRefetch / 2)
	flood(50)
	assert.EqualValues(t, 4, f.srv.fetches.Load())
	// Real tokens keep working throughout.
	require.NoError(t, f.verify(t, f.token(t, "k1")))
}

func TestJWKSDown(t *testing.T) {
	bad := map[string]func(s *jwksServer){
		"500":        func(s *jwksServer) { s.serve(http.StatusInternalServerError, []byte("oops")) },
		"404":        func(s *jwksServer) { s.serve(http.StatusNotFound, nil) },
		"garbage":    func(s *jwksServer) { s.serve(http.StatusOK, []byte("<html>gateway error</html>")) },
		"empty set":  func(s *jwksServer) { s.serve(http.StatusOK, []byte(`{"keys":[]}`)) },
		"wrong json": func(s *jwksServer) { s.serve(http.StatusOK, []byte(`{"keys":{"kty":"RSA"}}`)) },
		"oversized": func(s *jwksServer) {
			s.serve(http.StatusOK, []byte(`{"keys":[],"pad":"`+strings.Repeat("x", testMaxBytes)+`"}`))
		},
		"no usable key": func(s *jwksServer) {
			s.serve(http.StatusOK, []byte(`{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}`))
		},
		"unreachable": func(s *jwksServer) { s.Close() },
	}
	for name, breakIt := range bad {
		t.Run(name+"/old set kept", func(t *testing.T) {
			f := newJWKSFixture(t)
			require.NoError(t, f.verify(t, f.token(t, "k1")))
			f.auth.Forget()
			breakIt(f.srv)

			// Stale: a refresh is tried, fails, and the old set answers.
			f.clk.Add(testTTL + time.Second)
			require.NoError(t, f.verify(t, f.token(t, "k1")))
			fetches := f.srv.fetches.Load()
			assert.EqualValues(t, 1, f.errs.Load())
			// Within RetryInterval: no new attempt.
			f.auth.Forget()
			f.clk.Add(testRetry - time.Second)
			require.NoError(t, f.verify(t, f.token(t, "k1")))
			assert.Equal(t, fetches, f.srv.fetches.Load())
			assert.EqualValues(t, 1, f.errs.Load())
			// After it: one more attempt, still the old set.
			f.auth.Forget()
			f.clk.Add(2 * time.Second)
			require.NoError(t, f.verify(t, f.token(t, "k1")))
			assert.EqualValues(t, 2, f.errs.Load())
			k, err := f.jwks.Key(context.Background(), "k1")
			require.NoError(t, err)
			assert.False(t, k.Revoked(), "a failed refresh revokes nothing")
		})
		t.Run(name+"/no keys gives 503", func(t *testing.T) {
			f := newJWKSFixture(t)
			breakIt(f.srv)
			tok := f.token(t, "k1")
			err := f.verify(t, tok)
			require.ErrorIs(t, err, gatehouse.ErrUnavailable)
			assert.NotErrorIs(t, err, gatehouse.ErrInvalidToken)
			w := serveToken(t, tok, f.auth)
			assertProblem(t, w, http.StatusServiceUnavailable, "unavailable", "", tok)
			// Failing fast until RetryInterval has passed: one attempt
			// for both requests.
			assert.EqualValues(t, 1, f.errs.Load())
			f.clk.Add(testRetry)
			require.ErrorIs(t, f.verify(t, tok), gatehouse.ErrUnavailable)
			assert.EqualValues(t, 2, f.errs.Load())
		})
	}

	t.Run("recovers when the server comes back", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.srv.serve(http.StatusBadGateway, nil)
		tok := f.token(t, "k1")
		require.ErrorIs(t, f.verify(t, tok), gatehouse.ErrUnavailable)
		f.srv.serveKeys(t, f.k1)
		f.clk.Add(testRetry)
		require.NoError(t, f.verify(t, tok))
	})

	t.Run("oversized body is refused", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.srv.serve(http.StatusOK, append(jwksBody(t, f.k1)[:len(`{"keys":[`)], []byte(strings.Repeat(" ", testMaxBytes)+`]}`)...))
		err := f.jwks.Refresh(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "larger than")
	})
}

func TestJWKSCoalescing(t *testing.T) {
	run := func(t *testing.T, f *jwksFixture, n int) {
		t.Helper()
		entered, release := f.srv.hold()
		before := f.srv.fetches.Load()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.jwks.Key(context.Background(), "k1")
				errs <- err
			}()
		}
		<-entered // one fetch is under way; the others join it
		release()
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		assert.Equal(t, before+1, f.srv.fetches.Load())
	}
	t.Run("first fetch", func(t *testing.T) {
		run(t, newJWKSFixture(t), 100)
	})
	t.Run("stale set", func(t *testing.T) {
		f := newJWKSFixture(t)
		_, err := f.jwks.Key(context.Background(), "k1")
		require.NoError(t, err)
		f.clk.Add(testTTL)
		run(t, f, 100)
	})
	t.Run("explicit refreshes join", func(t *testing.T) {
		// The first caller starts a fetch, held by the server; 19 more call
		// Refresh while it is under way, and are released only once every
		// one of them waits for it (a waiter's context is asked for Done
		// only then): exactly one fetch answers all 20.
		f := newJWKSFixture(t)
		before := f.srv.fetches.Load()
		entered, release := f.srv.hold()
		var wg sync.WaitGroup
		wg.Go(func() { assert.NoError(t, f.jwks.Refresh(context.Background())) })
		<-entered
		var waiting atomic.Int64
		for range 19 {
			wg.Go(func() {
				ctx := testsync.WaitCountingCtx{Context: context.Background(), Waiting: &waiting}
				assert.NoError(t, f.jwks.Refresh(ctx))
			})
		}
		testsync.Until(t, "19 refreshes wait for the fetch under way", func() bool { return waiting.Load() >= 19 })
		release()
		wg.Wait()
		assert.Equal(t, before+1, f.srv.fetches.Load())
	})
	t.Run("a waiter whose context ends stops waiting", func(t *testing.T) {
		f := newJWKSFixture(t)
		entered, release := f.srv.hold()
		defer release()
		go func() { _, _ = f.jwks.Key(context.Background(), "k1") }()
		<-entered
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.jwks.Key(ctx, "k1")
		assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
	})
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	f := newJWKSFixture(t)
	waits := make(chan time.Duration, 1)
	ticks := make(chan time.Time)
	f.jwks.after = func(d time.Duration) <-chan time.Time {
		waits <- d
		return ticks
	}
	require.NoError(t, f.jwks.Start(context.Background()))
	assert.Error(t, f.jwks.Start(context.Background()), "started twice")

	assert.Equal(t, time.Duration(0), <-waits, "no set yet: fetch at once")
	ticks <- f.clk.Now()
	assert.Equal(t, testTTL*3/4, <-waits, "then when three quarters of the TTL have passed")
	assert.EqualValues(t, 1, f.srv.fetches.Load())

	// The refresh happens before the set goes stale: requests never wait.
	f.clk.Add(testTTL * 3 / 4)
	ticks <- f.clk.Now()
	assert.Equal(t, testTTL*3/4, <-waits)
	assert.EqualValues(t, 2, f.srv.fetches.Load())
	require.NoError(t, f.verify(t, f.token(t, "k1")))
	assert.EqualValues(t, 2, f.srv.fetches.Load())

	// A failed refresh is retried after RetryInterval, the set kept.
	f.srv.serve(http.StatusServiceUnavailable, nil)
	f.clk.Add(testTTL * 3 / 4)
	ticks <- f.clk.Now()
	assert.Equal(t, testRetry, <-waits)
	assert.EqualValues(t, 3, f.srv.fetches.Load())
	require.NoError(t, f.verify(t, f.token(t, "k1")))

	require.NoError(t, f.jwks.Close())
	require.NoError(t, f.jwks.Close(), "Close is idempotent")
	assert.Error(t, f.jwks.Start(context.Background()), "closed")

	t.Run("ends with its context", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.jwks.after = func(time.Duration) <-chan time.Time { return nil }
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, f.jwks.Start(ctx))
		cancel()
		require.NoError(t, f.jwks.Close()) // returns only once the loop ended
	})
}

func TestJWKSTimeout(t *testing.T) {
	f := newJWKSFixture(t)
	entered, release := f.srv.hold()
	defer release()
	j, err := NewJWKS(f.srv.URL, JWKSConfig{Client: f.srv.Client(), Timeout: 50 * time.Millisecond, Now: f.clk.Now})
	require.NoError(t, err)
	go func() { <-entered }()
	_, err = j.Key(context.Background(), "k1")
	assert.ErrorIs(t, err, gatehouse.ErrUnavailable)
}

func TestNewJWKSErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		cfg  JWKSConfig
	}{
		{"http", "http://idp.example/jwks", JWKSConfig{}},
		{"no host", "https:///jwks", JWKSConfig{}},
		{"not a URL", "::", JWKSConfig{}},
		{"file", "file:///etc/passwd", JWKSConfig{InsecureAllowHTTP: true}},
		{"negative ttl", "https://idp.example/jwks", JWKSConfig{TTL: -1}},
		{"hmac algorithm", "https://idp.example/jwks", JWKSConfig{Algorithms: []string{HS256}}},
		{"none algorithm", "https://idp.example/jwks", JWKSConfig{Algorithms: []string{"none"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewJWKS(tt.url, tt.cfg)
			assert.Error(t, err)
		})
	}
	_, err := NewJWKS("http://127.0.0.1/jwks", JWKSConfig{InsecureAllowHTTP: true})
	assert.NoError(t, err)
}

func TestJWKSRedirectToHTTPRefused(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the plain-http target must not be fetched")
	}))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	defer tls.Close()
	j, err := NewJWKS(tls.URL, JWKSConfig{})
	require.NoError(t, err)
	// Use the default client's redirect policy with the test server's
	// certificate pool.
	j.client.Transport = tls.Client().Transport
	err = j.Refresh(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not https")
}
