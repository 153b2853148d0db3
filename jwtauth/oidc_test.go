package jwtauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

// marker is planted in documents the tests refuse: no error may quote it.
const marker = "MARKER-d0c-c0ntent"

// idpServer is an OpenID Connect identity provider on plain http over
// loopback (which Discover allows): a discovery document under any path
// ending in /.well-known/openid-configuration, and key sets under other
// paths. A test switches its answers at will; it counts requests per path.
type idpServer struct {
	*httptest.Server
	mu        sync.Mutex
	doc       []byte
	docStatus int
	sets      map[string][]byte // key sets by path
	setStatus int
	block     chan struct{} // when set, document requests wait for it
	entered   chan struct{} // told of each request that waits on block
	hits      map[string]int
}

func newIDPServer(t *testing.T) *idpServer {
	t.Helper()
	s := &idpServer{docStatus: http.StatusOK, setStatus: http.StatusOK, sets: map[string][]byte{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		doc, docStatus, set, setStatus := s.doc, s.docStatus, s.sets[r.URL.Path], s.setStatus
		block, entered := s.block, s.entered
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, discoveryPath) {
			if set == nil {
				setStatus = http.StatusNotFound
			}
			w.WriteHeader(setStatus)
			_, _ = w.Write(set)
			return
		}
		if block != nil {
			entered <- struct{}{}
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(docStatus)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// serveDocument makes the server answer the discovery document with body.
func (s *idpServer) serveDocument(status int, body []byte) {
	s.mu.Lock()
	s.docStatus, s.doc = status, body
	s.mu.Unlock()
}

// serveMetadata makes the document name issuer and jwksURI.
func (s *idpServer) serveMetadata(t *testing.T, issuer, jwksURI string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              jwksURI,
		"authorization_endpoint":                s.URL + "/authorize",
		"token_endpoint":                        s.URL + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	})
	require.NoError(t, err)
	s.serveDocument(http.StatusOK, body)
}

func (s *idpServer) serveSet(path string, status int, body []byte) {
	s.mu.Lock()
	s.sets[path], s.setStatus = body, status
	s.mu.Unlock()
}

func (s *idpServer) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *idpServer) totalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		n += h
	}
	return n
}

// hold makes document requests wait until the returned function is called.
func (s *idpServer) hold() (entered <-chan struct{}, release func()) {
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

// oidcFixture is an identity provider, the keys discovered from it and an
// authenticator on them, sharing one clock. The provider's issuer is its
// URL, without a trailing slash; its document names /jwks, which holds k1
// (RS256) and k2 (ES256).
type oidcFixture struct {
	idp    *idpServer
	issuer string
	docAt  string // the document's path
	clk    *clock
	keys   *DiscoveredKeys
	auth   *Authenticator
	errs   atomic.Int64
	mu     sync.Mutex
	errMsg []string
	k1, k2 *Key
}

func newOIDCFixture(t *testing.T) *oidcFixture {
	t.Helper()
	f := newIDPFixture(t)
	f.discover(t)
	return f
}

// newIDPFixture sets up the provider, not the discovered keys.
func newIDPFixture(t *testing.T) *oidcFixture {
	t.Helper()
	k := keys(t)
	f := &oidcFixture{idp: newIDPServer(t), clk: newClock()}
	f.issuer, f.docAt = f.idp.URL, discoveryPath
	var err error
	f.k1, err = NewPublicKey("k1", RS256, &k.rsa.PublicKey)
	require.NoError(t, err)
	f.k2, err = NewPublicKey("k2", ES256, &k.ec256.PublicKey)
	require.NoError(t, err)
	f.idp.serveSet("/jwks", http.StatusOK, jwksBody(t, f.k1, f.k2))
	f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks")
	return f
}

func (f *oidcFixture) config() DiscoveryConfig {
	return DiscoveryConfig{
		TTL:             testTTL,
		RefetchInterval: testRefetch,
		RetryInterval:   testRetry,
		MaxSize:         testMaxBytes,
		Now:             f.clk.Now,
		OnError: func(err error) {
			f.errs.Add(1)
			f.mu.Lock()
			f.errMsg = append(f.errMsg, err.Error())
			f.mu.Unlock()
		},
	}
}

func (f *oidcFixture) discover(t *testing.T) {
	t.Helper()
	var err error
	f.keys, err = Discover(context.Background(), f.issuer, f.config())
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.keys.Close() })
	f.auth, err = New(Config{Now: f.clk.Now}, Issuer{Issuer: f.keys.Issuer(), Audience: []string{apiAudience}, Keys: f.keys})
	require.NoError(t, err)
}

// token returns a token of the provider signed with kid: "k1" RS256, "k2"
// ES256, any other kid RS256 with k1's private key.
func (f *oidcFixture) token(t *testing.T, kid string) string {
	t.Helper()
	k := keys(t)
	claims := claimsAt(f.clk.Now())
	claims["iss"] = f.issuer
	if kid == "k2" {
		return sign(t, jwt.SigningMethodES256, k.ec256, map[string]any{"kid": kid}, claims)
	}
	return sign(t, jwt.SigningMethodRS256, k.rsa, map[string]any{"kid": kid}, claims)
}

func (f *oidcFixture) verify(t *testing.T, token string) error {
	t.Helper()
	_, err := f.auth.Verify(context.Background(), token)
	return err
}

func (f *oidcFixture) docHits() int { return f.idp.hitsOf(f.docAt) }

func TestDiscoverVerifiesTokens(t *testing.T) {
	f := newOIDCFixture(t)
	assert.Equal(t, f.idp.URL, f.keys.Issuer())
	assert.Equal(t, f.idp.URL+"/jwks", f.keys.JWKSURL())
	assert.Equal(t, 1, f.docHits(), "the document at <issuer>/.well-known/openid-configuration")
	assert.Equal(t, 1, f.idp.hitsOf("/jwks"), "Discover fetches the key set too")

	for _, kid := range []string{"k1", "k2"} {
		t.Run(kid+" via Verify", func(t *testing.T) {
			p, err := f.auth.Verify(context.Background(), f.token(t, kid))
			require.NoError(t, err)
			assert.Equal(t, "user-1", p.ID)
			assert.Equal(t, gatehouse.KindJWT, p.Kind)
		})
		t.Run(kid+" via the middleware", func(t *testing.T) {
			f.auth.Forget()
			w := serveToken(t, f.token(t, kid), f.auth)
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			assert.Equal(t, "user-1", w.Header().Get("X-Subject"))
		})
	}
	t.Run("another issuer's token is refused", func(t *testing.T) {
		tok := sign(t, jwt.SigningMethodRS256, keys(t).rsa, map[string]any{"kid": "k1"}, claimsAt(f.clk.Now()))
		assertRefused(t, f.verify(t, tok), DetailBadIssuer)
		w := serveToken(t, tok, f.auth)
		assertProblem(t, w, http.StatusUnauthorized, "invalid_token", DetailBadIssuer, tok)
	})
	t.Run("a token signed by another key is refused", func(t *testing.T) {
		claims := claimsAt(f.clk.Now())
		claims["iss"] = f.issuer
		tok := sign(t, jwt.SigningMethodRS256, keys(t).rsa2, map[string]any{"kid": "k1"}, claims)
		assertRefused(t, f.verify(t, tok), DetailBadSignature)
	})
	assert.Equal(t, 1, f.docHits(), "a fresh set: nothing fetched again")
	assert.Equal(t, 1, f.idp.hitsOf("/jwks"))
	assert.Zero(t, f.errs.Load())
}

func TestDiscoverIssuerWithPath(t *testing.T) {
	for _, slash := range []string{"", "/"} {
		t.Run(fmt.Sprintf("trailing slash %q", slash), func(t *testing.T) {
			f := newIDPFixture(t)
			// The document is at the issuer without its trailing slash,
			// plus the well-known path (section 4.1).
			f.issuer, f.docAt = f.idp.URL+"/realms/acme"+slash, "/realms/acme"+discoveryPath
			f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks")
			f.discover(t)
			assert.Equal(t, 1, f.docHits())
			require.NoError(t, f.verify(t, f.token(t, "k1")))
		})
	}
}

func TestDiscoverRefusesDocuments(t *testing.T) {
	doc := func(members map[string]any) func(f *oidcFixture) []byte {
		return func(f *oidcFixture) []byte {
			m := map[string]any{"issuer": f.issuer, "jwks_uri": f.idp.URL + "/jwks", "note": marker}
			for k, v := range members {
				if v == nil {
					delete(m, k)
					continue
				}
				m[k] = v
			}
			b, err := json.Marshal(m)
			if err != nil {
				panic(err)
			}
			return b
		}
	}
	raw := func(s string) func(*oidcFixture) []byte {
		return func(f *oidcFixture) []byte {
			return []byte(strings.NewReplacer("ISS", f.issuer, "URL", f.idp.URL).Replace(s))
		}
	}
	tests := []struct {
		name   string
		issuer func(f *oidcFixture) string // the configured issuer; default the server's URL
		status int                         // default 200
		body   func(f *oidcFixture) []byte
		want   string // in the error
	}{
		{name: "issuer mismatch", body: doc(map[string]any{"issuer": "https://evil.example/" + marker}), want: "is not the configured issuer"},
		{name: "issuer mismatch: the document's has a trailing slash",
			body: func(f *oidcFixture) []byte { return doc(map[string]any{"issuer": f.issuer + "/"})(f) }, want: "trailing slash"},
		{name: "issuer mismatch: the configured one has a trailing slash",
			issuer: func(f *oidcFixture) string { return f.idp.URL + "/" },
			body:   func(f *oidcFixture) []byte { return doc(map[string]any{"issuer": f.idp.URL})(f) }, want: "trailing slash"},
		{name: "issuer mismatch: case of the path",
			issuer: func(f *oidcFixture) string { return f.idp.URL + "/Realm" },
			body:   func(f *oidcFixture) []byte { return doc(map[string]any{"issuer": f.idp.URL + "/realm"})(f) }, want: "is not the configured issuer"},
		{name: "issuer mismatch: a prefix of it",
			issuer: func(f *oidcFixture) string { return f.idp.URL + "/realm" },
			body:   func(f *oidcFixture) []byte { return doc(map[string]any{"issuer": f.idp.URL})(f) }, want: "is not the configured issuer"},
		{name: "issuer missing", body: doc(map[string]any{"issuer": nil}), want: "no issuer"},
		{name: "issuer null", body: raw(`{"issuer":null,"jwks_uri":"URL/jwks"}`), want: "no issuer"},
		{name: "issuer a number", body: raw(`{"issuer":42,"jwks_uri":"URL/jwks"}`), want: "no issuer"},
		{name: "issuer an array", body: raw(`{"issuer":["ISS"],"jwks_uri":"URL/jwks"}`), want: "no issuer"},
		{name: "member names in upper case", body: raw(`{"ISSUER":"ISS","JWKS_URI":"URL/jwks"}`), want: "no issuer"},
		{name: "jwks_uri missing", body: doc(map[string]any{"jwks_uri": nil}), want: "no jwks_uri"},
		{name: "jwks_uri null", body: raw(`{"issuer":"ISS","jwks_uri":null}`), want: "no jwks_uri"},
		{name: "jwks_uri empty", body: doc(map[string]any{"jwks_uri": ""}), want: "no jwks_uri"},
		{name: "jwks_uri an object", body: doc(map[string]any{"jwks_uri": map[string]any{"url": marker}}), want: "no jwks_uri"},
		{name: "jwks_uri http on a non-loopback host", body: doc(map[string]any{"jwks_uri": "http://idp.example/jwks"}), want: "not https"},
		{name: "jwks_uri http on a private address", body: doc(map[string]any{"jwks_uri": "http://10.0.0.1/jwks"}), want: "not https"},
		{name: "jwks_uri http on a name beginning with localhost", body: doc(map[string]any{"jwks_uri": "http://localhost.evil.example/jwks"}), want: "not https"},
		{name: "jwks_uri ftp", body: doc(map[string]any{"jwks_uri": "ftp://idp.example/jwks"}), want: "not https"},
		{name: "jwks_uri file", body: doc(map[string]any{"jwks_uri": "file:///etc/passwd"}), want: "not an absolute URL"},
		{name: "jwks_uri relative", body: doc(map[string]any{"jwks_uri": "/jwks"}), want: "not an absolute URL"},
		{name: "jwks_uri without a host", body: doc(map[string]any{"jwks_uri": "https:///jwks"}), want: "not an absolute URL"},
		{name: "jwks_uri not a URL", body: doc(map[string]any{"jwks_uri": "https://[::1/" + marker}), want: "not an absolute URL"},
		{name: "not JSON", body: raw(`<html>` + marker + `</html>`), want: "not a JSON object"},
		{name: "JSON array", body: raw(`[{"issuer":"ISS","jwks_uri":"URL/jwks"}]`), want: "not a JSON object"},
		{name: "JSON string", body: raw(`"ISS"`), want: "not a JSON object"},
		{name: "JSON null", body: raw(`null`), want: "not a JSON object"},
		{name: "JSON number", body: raw(`42`), want: "not a JSON object"},
		{name: "truncated", body: raw(`{"issuer":"ISS","jwks_uri":"URL/jw`), want: "not a JSON object"},
		{name: "trailing garbage", body: raw(`{"issuer":"ISS","jwks_uri":"URL/jwks"}{}`), want: "not a JSON object"},
		{name: "empty", body: raw(``), want: "not a JSON object"},
		{name: "not UTF-8", body: raw("{\"issuer\":\"ISS\",\"jwks_uri\":\"URL/jwks\",\"name\":\"\xff" + marker + "\"}"), want: "not UTF-8"},
		{name: "oversized", body: func(f *oidcFixture) []byte {
			b := doc(nil)(f)
			return append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", testMaxBytes)+`"}`)...)
		}, want: "larger than"},
		{name: "one byte over the cap", body: func(f *oidcFixture) []byte {
			b := doc(nil)(f)
			return append(b, []byte(strings.Repeat(" ", testMaxBytes-len(b)+1))...)
		}, want: "larger than"},
		{name: "status 404", status: http.StatusNotFound, body: doc(nil), want: "status 404"},
		{name: "status 500", status: http.StatusInternalServerError, body: raw(marker), want: "status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIDPFixture(t)
			if tt.issuer != nil {
				f.issuer = tt.issuer(f)
			}
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			f.idp.serveDocument(status, tt.body(f))
			_, err := Discover(context.Background(), f.issuer, f.config())
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "jwtauth: oidc: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), marker, "the document is never quoted")
			assert.NotContains(t, err.Error(), "evil")
			assert.Equal(t, 1, f.idp.totalHits(), "one document fetch, no key set fetch")
			assert.Zero(t, f.errs.Load(), "Discover returns its errors; OnError is not told")
		})
	}

	t.Run("exactly the cap is read", func(t *testing.T) {
		f := newIDPFixture(t)
		b := doc(nil)(f)
		f.idp.serveDocument(http.StatusOK, append(b, []byte(strings.Repeat(" ", testMaxBytes-len(b)))...))
		_, err := Discover(context.Background(), f.issuer, f.config())
		require.NoError(t, err)
	})
	t.Run("whitespace and unknown members", func(t *testing.T) {
		f := newIDPFixture(t)
		f.idp.serveDocument(http.StatusOK, raw("\n{ \"issuer\" :\t\"ISS\" ,\n \"jwks_uri\": \"URL/jwks\", \"x\": {\"issuer\": 1}}\n")(f))
		_, err := Discover(context.Background(), f.issuer, f.config())
		require.NoError(t, err)
	})
}

func TestDiscoverRefusesKeySets(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"status 500", http.StatusInternalServerError, "oops", "status 500"},
		{"garbage", http.StatusOK, "<html>" + marker + "</html>", "not a JSON key set"},
		{"empty set", http.StatusOK, `{"keys":[]}`, "no usable key"},
		{"oversized", http.StatusOK, `{"keys":[],"pad":"` + strings.Repeat("x", testMaxBytes) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIDPFixture(t)
			f.idp.serveSet("/jwks", tt.status, []byte(tt.body))
			_, err := Discover(context.Background(), f.issuer, f.config())
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "jwtauth: jwks: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), marker)
			assert.Zero(t, f.errs.Load())
		})
	}
}

func TestDiscoverConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		cfg    DiscoveryConfig
		want   string
	}{
		{"empty", "", DiscoveryConfig{}, "not an absolute URL"},
		{"no scheme", "idp.example", DiscoveryConfig{}, "not an absolute URL"},
		{"relative", "/realms/acme", DiscoveryConfig{}, "not an absolute URL"},
		{"no host", "https:///realms/acme", DiscoveryConfig{}, "not an absolute URL"},
		{"opaque", "https:idp.example", DiscoveryConfig{}, "not an absolute URL"},
		{"not a URL", "https://[::1", DiscoveryConfig{}, "not an absolute URL"},
		{"http on a non-loopback host", "http://idp.example", DiscoveryConfig{}, "must be https"},
		{"http on a private address", "http://192.168.1.1", DiscoveryConfig{}, "must be https"},
		{"http on a name beginning with localhost", "http://localhost.example", DiscoveryConfig{}, "must be https"},
		{"ftp", "ftp://idp.example", DiscoveryConfig{}, "must be https"},
		{"query", "https://idp.example?tenant=a", DiscoveryConfig{}, "query or a fragment"},
		{"empty query", "https://idp.example/?", DiscoveryConfig{}, "query or a fragment"},
		{"fragment", "https://idp.example/#a", DiscoveryConfig{}, "query or a fragment"},
		{"empty fragment", "https://idp.example/#", DiscoveryConfig{}, "query or a fragment"},
		{"user information", "https://user:pw@idp.example", DiscoveryConfig{}, "user information"},
		{"negative timeout", "https://idp.example", DiscoveryConfig{Timeout: -1}, "must not be negative"},
		{"negative size", "https://idp.example", DiscoveryConfig{MaxSize: -1}, "must not be negative"},
		{"HMAC algorithm", "https://idp.example", DiscoveryConfig{Algorithms: []string{HS256}}, "not allowed"},
		{"none algorithm", "https://idp.example", DiscoveryConfig{Algorithms: []string{"none"}}, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetched := false
			tt.cfg.Client = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				fetched = true
				return nil, fmt.Errorf("no network in this test")
			})}
			_, err := Discover(context.Background(), tt.issuer, tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "jwtauth: "), err.Error())
			assert.False(t, fetched, "the configuration is checked before any fetch")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSecureURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://idp.example/jwks", true},
		{"HTTPS://idp.example/jwks", true},
		{"https://10.0.0.1/jwks", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://127.1.2.3/jwks", true},
		{"http://[::1]:8080/jwks", true},
		{"http://[::ffff:127.0.0.1]/jwks", true},
		{"http://localhost:8080/jwks", true},
		{"http://LocalHost/jwks", true},
		{"http://idp.example/jwks", false},
		{"http://10.0.0.1/jwks", false},
		{"http://0.0.0.0/jwks", false},
		{"http://[::]/jwks", false},
		{"http://localhost.idp.example/jwks", false},
		{"http://127.0.0.1.nip.io/jwks", false},
		{"http://2130706433/jwks", false},
		{"ftp://127.0.0.1/jwks", false},
		{"ws://127.0.0.1/jwks", false},
		{"https:///jwks", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			assert.Equal(t, tt.want, secureURL(u))
		})
	}
}

func TestDiscoverRedirects(t *testing.T) {
	t.Run("to a non-loopback http URL is refused", func(t *testing.T) {
		f := newIDPFixture(t)
		redirector := httptest.NewServer(http.RedirectHandler("http://idp.example"+discoveryPath, http.StatusFound))
		defer redirector.Close()
		_, err := Discover(context.Background(), redirector.URL, f.config())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not https")
	})
	t.Run("to a loopback URL is followed", func(t *testing.T) {
		f := newIDPFixture(t)
		redirector := httptest.NewServer(http.RedirectHandler(f.idp.URL+discoveryPath, http.StatusFound))
		defer redirector.Close()
		// The document found through the redirect still has to name the
		// configured issuer: the redirector's URL.
		f.idp.serveMetadata(t, redirector.URL, f.idp.URL+"/jwks")
		_, err := Discover(context.Background(), redirector.URL, f.config())
		require.NoError(t, err)
	})
}

func TestDiscoverTimeoutAndContext(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		f := newIDPFixture(t)
		entered, release := f.idp.hold()
		defer release()
		go func() { <-entered }()
		cfg := f.config()
		cfg.Timeout = 50 * time.Millisecond
		_, err := Discover(context.Background(), f.issuer, cfg)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("context", func(t *testing.T) {
		f := newIDPFixture(t)
		entered, release := f.idp.hold()
		defer release()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-entered
			cancel()
		}()
		_, err := Discover(ctx, f.issuer, f.config())
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestDiscoveryProviderDown: once discovered, the last good document and
// key set keep verifying tokens while the provider is down, for as long
// as a JWKS keeps its set (until a fetch succeeds). A token naming a kid
// they lack is refused as a JWKS refuses it when its set is held: 401
// unknown key, at most one fetch attempt per RefetchInterval.
func TestDiscoveryProviderDown(t *testing.T) {
	down := map[string]func(f *oidcFixture){
		"unreachable": func(f *oidcFixture) { f.idp.Close() },
		"500 everywhere": func(f *oidcFixture) {
			f.idp.serveDocument(http.StatusInternalServerError, []byte(marker))
			f.idp.serveSet("/jwks", http.StatusInternalServerError, []byte(marker))
		},
		"garbage everywhere": func(f *oidcFixture) {
			f.idp.serveDocument(http.StatusOK, []byte("<html>"+marker))
			f.idp.serveSet("/jwks", http.StatusOK, []byte("<html>"+marker))
		},
		"oversized everywhere": func(f *oidcFixture) {
			big := []byte(`{"pad":"` + strings.Repeat("x", testMaxBytes) + `"}`)
			f.idp.serveDocument(http.StatusOK, big)
			f.idp.serveSet("/jwks", http.StatusOK, big)
		},
	}
	for name, breakIt := range down {
		t.Run(name, func(t *testing.T) {
			f := newOIDCFixture(t)
			known := f.token(t, "k1")
			require.NoError(t, f.verify(t, known))
			breakIt(f)

			// Stale: a refresh is tried (document and key set), fails,
			// and the old set answers.
			f.auth.Forget()
			f.clk.Add(testTTL + time.Second)
			require.NoError(t, f.verify(t, known))
			assert.EqualValues(t, 2, f.errs.Load(), "the document's failure and the key set's")
			require.NoError(t, f.verify(t, f.token(t, "k2")))
			w := serveToken(t, f.token(t, "k2"), f.auth)
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())

			// An unknown kid: one refetch per interval, then refused as
			// unknown (the set is held), never accepted.
			f.clk.Add(testRefetch)
			unknown := f.token(t, "k9")
			assertRefused(t, f.verify(t, unknown), DetailUnknownKey)
			assert.EqualValues(t, 4, f.errs.Load())
			assertRefused(t, f.verify(t, f.token(t, "k8")), DetailUnknownKey)
			assert.EqualValues(t, 4, f.errs.Load(), "no second attempt within the interval")
			w = serveToken(t, unknown, f.auth)
			assertProblem(t, w, http.StatusUnauthorized, "invalid_token", DetailUnknownKey, unknown)

			// A day later, still the last good document and keys.
			f.clk.Add(24 * time.Hour)
			require.NoError(t, f.verify(t, f.token(t, "k1")))
			k, err := f.keys.Key(context.Background(), "k1")
			require.NoError(t, err)
			assert.False(t, k.Revoked(), "a failed refresh revokes nothing")
			assert.Equal(t, f.idp.URL+"/jwks", f.keys.JWKSURL())

			f.mu.Lock()
			defer f.mu.Unlock()
			for _, msg := range f.errMsg {
				assert.True(t, strings.HasPrefix(msg, "jwtauth: oidc: ") || strings.HasPrefix(msg, "jwtauth: jwks: "), msg)
				assert.NotContains(t, msg, marker)
			}
		})
	}

	t.Run("recovers when the provider comes back", func(t *testing.T) {
		f := newOIDCFixture(t)
		require.NoError(t, f.verify(t, f.token(t, "k1")))
		f.idp.serveDocument(http.StatusBadGateway, nil)
		f.idp.serveSet("/jwks", http.StatusBadGateway, nil)
		f.clk.Add(testTTL)
		require.Error(t, f.keys.Refresh(context.Background()))

		// Back, with a new key k3.
		k3, err := NewPublicKey("k3", RS256, &keys(t).rsa2.PublicKey)
		require.NoError(t, err)
		f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks")
		f.idp.serveSet("/jwks", http.StatusOK, jwksBody(t, f.k1, k3))
		f.clk.Add(testRetry)
		claims := claimsAt(f.clk.Now())
		claims["iss"] = f.issuer
		require.NoError(t, f.verify(t, sign(t, jwt.SigningMethodRS256, keys(t).rsa2, map[string]any{"kid": "k3"}, claims)))
		require.NoError(t, f.keys.Refresh(context.Background()))
	})
}

func TestDiscoveryDocumentChanges(t *testing.T) {
	t.Run("a new jwks_uri is used from the next fetch", func(t *testing.T) {
		f := newOIDCFixture(t)
		old := f.token(t, "k1")
		require.NoError(t, f.verify(t, old))

		// The provider moves its keys to /jwks2, which holds k2 and a new
		// k1 (the old k1 is gone).
		k1b, err := NewPublicKey("k1", RS256, &keys(t).rsa2.PublicKey)
		require.NoError(t, err)
		f.idp.serveSet("/jwks2", http.StatusOK, jwksBody(t, k1b, f.k2))
		f.idp.serveSet("/jwks", http.StatusOK, jwksBody(t, f.k1, f.k2))
		f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks2")
		// Nothing is fetched while the set is fresh.
		require.NoError(t, f.verify(t, old))
		assert.Equal(t, 1, f.docHits())

		f.clk.Add(testTTL)
		require.NoError(t, f.verify(t, f.token(t, "k2")), "k2 is in the new set too")
		assert.Equal(t, 2, f.docHits())
		assert.Equal(t, 1, f.idp.hitsOf("/jwks"), "the old jwks_uri is not fetched again")
		assert.Equal(t, 1, f.idp.hitsOf("/jwks2"))
		assert.Equal(t, f.idp.URL+"/jwks2", f.keys.JWKSURL())
		// k1's material changed: the token it verified leaves the cache.
		assertRefused(t, f.verify(t, old), DetailBadSignature)
		assert.Zero(t, f.errs.Load())
	})

	t.Run("an unknown kid refetches the document too", func(t *testing.T) {
		f := newOIDCFixture(t)
		k3, err := NewPublicKey("k3", RS256, &keys(t).rsa2.PublicKey)
		require.NoError(t, err)
		f.idp.serveSet("/jwks2", http.StatusOK, jwksBody(t, k3))
		f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks2")
		claims := claimsAt(f.clk.Now())
		claims["iss"] = f.issuer
		tok := sign(t, jwt.SigningMethodRS256, keys(t).rsa2, map[string]any{"kid": "k3"}, claims)
		assertRefused(t, f.verify(t, tok), DetailUnknownKey)
		f.clk.Add(testRefetch)
		require.NoError(t, f.verify(t, tok))
		assert.Equal(t, 2, f.docHits())
		// k1 and k2 left with the old set.
		assertRefused(t, f.verify(t, f.token(t, "k1")), DetailUnknownKey)
	})

	refused := []struct {
		name string
		doc  func(f *oidcFixture) []byte
		want string
	}{
		{"http jwks_uri on a non-loopback host", func(f *oidcFixture) []byte {
			return []byte(`{"issuer":"` + f.issuer + `","jwks_uri":"http://idp.example/jwks"}`)
		}, "not https"},
		{"another issuer", func(f *oidcFixture) []byte {
			return []byte(`{"issuer":"https://evil.example","jwks_uri":"` + f.idp.URL + `/jwks2"}`)
		}, "not the configured issuer"},
		{"no jwks_uri", func(f *oidcFixture) []byte { return []byte(`{"issuer":"` + f.issuer + `"}`) }, "no jwks_uri"},
		{"garbage", func(*oidcFixture) []byte { return []byte(`[1,2,3]`) }, "not a JSON object"},
	}
	for _, tt := range refused {
		t.Run("a refreshed document is refused: "+tt.name, func(t *testing.T) {
			f := newOIDCFixture(t)
			f.idp.serveSet("/jwks2", http.StatusOK, jwksBody(t, f.k2))
			f.idp.serveDocument(http.StatusOK, tt.doc(f))
			err := f.keys.Refresh(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "evil")
			assert.EqualValues(t, 1, f.errs.Load())
			// The last good document is kept: its key set is still
			// fetched, and its keys verify.
			assert.Equal(t, f.idp.URL+"/jwks", f.keys.JWKSURL())
			assert.Equal(t, 2, f.idp.hitsOf("/jwks"))
			assert.Zero(t, f.idp.hitsOf("/jwks2"))
			require.NoError(t, f.verify(t, f.token(t, "k1")))

			// A good document again: Refresh reports no error.
			f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks")
			require.NoError(t, f.keys.Refresh(context.Background()))
		})
	}
}

func TestDiscoveryBackgroundRefresh(t *testing.T) {
	f := newOIDCFixture(t)
	waits := make(chan time.Duration, 1)
	ticks := make(chan time.Time)
	f.keys.jwks.after = func(d time.Duration) <-chan time.Time {
		waits <- d
		return ticks
	}
	require.NoError(t, f.keys.Start(context.Background()))
	err := f.keys.Start(context.Background())
	require.Error(t, err, "started twice")
	assert.Equal(t, "jwtauth: oidc: already started", err.Error())

	assert.Equal(t, testTTL*3/4, <-waits, "Discover fetched the set: the first refresh is due at three quarters of the TTL")
	f.clk.Add(testTTL * 3 / 4)
	ticks <- f.clk.Now()
	assert.Equal(t, testTTL*3/4, <-waits)
	assert.Equal(t, 2, f.docHits(), "the document is refreshed with the key set")
	assert.Equal(t, 2, f.idp.hitsOf("/jwks"))

	// The document moves the keys; the next background refresh follows.
	f.idp.serveSet("/jwks2", http.StatusOK, jwksBody(t, f.k2))
	f.idp.serveMetadata(t, f.issuer, f.idp.URL+"/jwks2")
	f.clk.Add(testTTL * 3 / 4)
	ticks <- f.clk.Now()
	assert.Equal(t, testTTL*3/4, <-waits)
	assert.Equal(t, f.idp.URL+"/jwks2", f.keys.JWKSURL())
	require.NoError(t, f.verify(t, f.token(t, "k2")))
	assertRefused(t, f.verify(t, f.token(t, "k1")), DetailUnknownKey)

	// A failed refresh is retried after RetryInterval.
	f.idp.serveDocument(http.StatusServiceUnavailable, nil)
	f.idp.serveSet("/jwks2", http.StatusServiceUnavailable, nil)
	f.clk.Add(testTTL * 3 / 4)
	ticks <- f.clk.Now()
	assert.Equal(t, testRetry, <-waits)
	require.NoError(t, f.verify(t, f.token(t, "k2")))

	require.NoError(t, f.keys.Close())
	require.NoError(t, f.keys.Close(), "Close is idempotent")
	assert.Error(t, f.keys.Start(context.Background()), "closed")

	t.Run("ends with its context", func(t *testing.T) {
		f := newOIDCFixture(t)
		f.keys.jwks.after = func(time.Duration) <-chan time.Time { return nil }
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, f.keys.Start(ctx))
		cancel()
		require.NoError(t, f.keys.Close()) // returns only once the loop ended
	})
}

func TestDiscoveryCoalescing(t *testing.T) {
	t.Run("stale set", func(t *testing.T) {
		f := newOIDCFixture(t)
		f.clk.Add(testTTL)
		entered, release := f.idp.hold()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_, err := f.keys.Key(context.Background(), "k1")
				assert.NoError(t, err)
			})
		}
		<-entered // one document fetch is under way; the others join it
		release()
		wg.Wait()
		assert.Equal(t, 2, f.docHits())
		assert.Equal(t, 2, f.idp.hitsOf("/jwks"))
	})
	t.Run("unknown kid flood", func(t *testing.T) {
		f := newOIDCFixture(t)
		flood := func() {
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					assertRefused(t, f.verify(t, f.token(t, fmt.Sprintf("made-up-%d", i))), DetailUnknownKey)
				})
			}
			wg.Wait()
		}
		flood()
		assert.Equal(t, 1, f.docHits(), "right after Discover: no refetch")
		for round := 2; round <= 3; round++ {
			f.clk.Add(testRefetch)
			flood()
			assert.Equal(t, round, f.docHits(), "round %d", round)
			assert.Equal(t, round, f.idp.hitsOf("/jwks"), "round %d", round)
		}
	})
}

// FuzzDiscoveryDocument feeds arbitrary documents to the document check:
// it never panics, accepts a document only when its issuer is the
// configured one byte for byte and its jwks_uri may be fetched, and never
// quotes the document in its errors.
func FuzzDiscoveryDocument(f *testing.F) {
	const iss = "https://idp.example"
	for _, s := range []string{
		`{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks"}`,
		`{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/jwks"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://127.0.0.1:8080/jwks"}`,
		`{"issuer":"https://idp.example","jwks_uri":"http://idp.example/jwks"}`,
		`{"issuer":"https://idp.example","jwks_uri":null}`,
		`{"issuer":"https://idp.\u0065xample","jwks_uri":"https://[::1]/jwks"}`,
		`[{"issuer":"https://idp.example"}]`,
		`{"ISSUER":"https://idp.example","jwks_uri":"https://idp.example/jwks"}`,
		"{\"issuer\":\"https://idp.example\",\"jwks_uri\":\"https://idp.example/\xff\"}",
		`null`, ``, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := parseDiscovery(body, iss)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "jwtauth: oidc: ") {
				t.Fatalf("error %q lacks the prefix", msg)
			}
			for i := 0; i < len(msg); i++ {
				if msg[i] < 0x20 || msg[i] > 0x7e {
					t.Fatalf("error %q holds byte %#x", msg, msg[i])
				}
			}
			if len(body) >= 12 && strings.Contains(msg, string(body)) {
				t.Fatalf("error %q quotes the document", msg)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatal("accepted a document that is not UTF-8")
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("accepted a document that is not a JSON object: %v", err)
		}
		var got string
		if err := json.Unmarshal(doc["issuer"], &got); err != nil || got != iss {
			t.Fatalf("accepted issuer %q", got)
		}
		parsed, err := url.Parse(u)
		if err != nil || !secureURL(parsed) {
			t.Fatalf("accepted jwks_uri %q", u)
		}
	})
}
