package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

const patIssuer = "https://api.example/pat"

// patFixture is a server verifying personal tokens: a memory store behind
// RegisteredKeys, and an authenticator with the issuer for them.
type patFixture struct {
	clk   *clock
	mem   *store.MemorySigningKeys
	st    *countingSigningKeys
	reg   *RegisteredKeys
	auth  *Authenticator
	owner string
}

func newPATFixture(t *testing.T) *patFixture {
	t.Helper()
	f := &patFixture{clk: newClock(), mem: store.NewMemorySigningKeys(), owner: "user-42"}
	f.st = &countingSigningKeys{SigningKeyStore: f.mem}
	var err error
	f.reg, err = NewRegisteredKeys(f.st, RegisteredKeysConfig{Now: f.clk.Now, RecheckInterval: time.Minute, NegativeTTL: 5 * time.Second})
	require.NoError(t, err)
	f.auth, err = New(Config{Now: f.clk.Now},
		Issuer{Issuer: patIssuer, Audience: []string{apiAudience}, Keys: f.reg, MaxLifetime: MaxMintTTL})
	require.NoError(t, err)
	return f
}

func (f *patFixture) create(t *testing.T, alg string, mod func(*PersonalParams)) *PersonalConfig {
	t.Helper()
	p := PersonalParams{
		OwnerID: f.owner, TenantID: "acme", Name: "laptop", Scopes: []string{"read", "write"},
		Algorithm: alg, Issuer: patIssuer, Audience: apiAudience, URL: "https://api.example", Now: f.clk.Now(),
	}
	if mod != nil {
		mod(&p)
	}
	cfg, rec, err := CreatePersonalConfig(context.Background(), f.reg, p)
	require.NoError(t, err)
	assert.Equal(t, cfg.KeyID, rec.KID)
	return cfg
}

func (f *patFixture) mint(t *testing.T, cfg *PersonalConfig) string {
	t.Helper()
	tok, err := Mint(cfg, f.clk.Now(), 10*time.Minute)
	require.NoError(t, err)
	return tok
}

// countingSigningKeys counts store reads and can be broken.
type countingSigningKeys struct {
	store.SigningKeyStore
	reads atomic.Int64
	fail  atomic.Pointer[error]
	panic atomic.Bool
	gate  chan struct{} // when set, reads wait for it
}

func (c *countingSigningKeys) SigningKeyByKID(ctx context.Context, kid string) (*store.SigningKey, error) {
	c.reads.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	if c.panic.Load() {
		panic("driver bug")
	}
	if e := c.fail.Load(); e != nil {
		return nil, *e
	}
	return c.SigningKeyStore.SigningKeyByKID(ctx, kid)
}

func TestPersonalMintAndVerify(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256} {
		t.Run(alg, func(t *testing.T) {
			f := newPATFixture(t)
			cfg := f.create(t, alg, nil)
			tok := f.mint(t, cfg)

			p, err := f.auth.Verify(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, f.owner, p.ID)
			assert.Equal(t, "acme", p.TenantID)
			assert.Equal(t, cfg.KeyID, p.KeyID)
			assert.Equal(t, []string{"read", "write"}, p.Scopes)
			assert.Equal(t, gatehouse.KindJWT, p.Kind)

			w := serveToken(t, tok, f.auth)
			assert.Equal(t, http.StatusNoContent, w.Code)
			assert.Equal(t, f.owner, w.Header().Get("X-Subject"))
		})
	}
}

func TestPersonalRegistrationBinds(t *testing.T) {
	ctx := context.Background()
	f := newPATFixture(t)
	cfg := f.create(t, EdDSA, func(p *PersonalParams) { p.Scopes = []string{"read", "docs:*"} })

	t.Run("scopes capped by the registration", func(t *testing.T) {
		c := *cfg
		c.Scopes = []string{"admin", "docs:write", "read", "write"}
		p, err := f.auth.Verify(ctx, f.mint(t, &c))
		require.NoError(t, err)
		assert.Equal(t, []string{"docs:write", "read"}, p.Scopes)
	})
	t.Run("a key speaks only for its owner", func(t *testing.T) {
		c := *cfg
		c.Subject = "admin"
		_, err := f.auth.Verify(ctx, f.mint(t, &c))
		assertRefused(t, err, DetailBadClaims)
	})
	t.Run("lifetime capped", func(t *testing.T) {
		_, err := Mint(cfg, f.clk.Now(), MaxMintTTL+time.Second)
		assert.Error(t, err)
		_, err = Mint(cfg, f.clk.Now(), 0)
		assert.Error(t, err)
	})
	t.Run("another audience", func(t *testing.T) {
		c := *cfg
		c.Audience = "https://elsewhere.example"
		_, err := f.auth.Verify(ctx, f.mint(t, &c))
		assertRefused(t, err, DetailBadAudience)
	})
	t.Run("unregistered key", func(t *testing.T) {
		other, _, err := NewPersonalConfig(PersonalParams{OwnerID: f.owner, Issuer: patIssuer, Audience: apiAudience, Now: f.clk.Now()})
		require.NoError(t, err)
		_, err = f.auth.Verify(ctx, f.mint(t, other))
		assertRefused(t, err, DetailUnknownKey)
	})
	t.Run("registered key, wrong private key", func(t *testing.T) {
		other, _, err := NewPersonalConfig(PersonalParams{OwnerID: f.owner, Issuer: patIssuer, Audience: apiAudience, Now: f.clk.Now()})
		require.NoError(t, err)
		other.KeyID = cfg.KeyID
		_, err = f.auth.Verify(ctx, f.mint(t, other))
		assertRefused(t, err, DetailBadSignature)
	})
}

// TestPersonalRevocation: deleting the registration through RegisteredKeys
// revokes at once, cached tokens included; deleting it in the store behind
// another process's back takes effect within RecheckInterval.
func TestPersonalRevocation(t *testing.T) {
	ctx := context.Background()
	t.Run("through RegisteredKeys: at once", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.NoError(t, err)
		_, err = f.auth.Verify(ctx, tok) // cached now
		require.NoError(t, err)
		require.Equal(t, 1, f.auth.Len())

		require.NoError(t, f.reg.DeleteSigningKey(ctx, cfg.KeyID))
		_, err = f.auth.Verify(ctx, tok)
		assertRefused(t, err, DetailUnknownKey)
		_, err = f.auth.Verify(ctx, f.mint(t, cfg))
		assertRefused(t, err, DetailUnknownKey)
	})
	t.Run("in the store directly: within RecheckInterval", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, ES256, nil)
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.NoError(t, err)

		require.NoError(t, f.mem.DeleteSigningKey(ctx, cfg.KeyID))
		f.clk.Add(time.Minute - time.Second)
		_, err = f.auth.Verify(ctx, tok)
		require.NoError(t, err, "still trusted inside the bound")
		f.clk.Add(time.Second)
		_, err = f.auth.Verify(ctx, tok)
		assertRefused(t, err, DetailUnknownKey)
	})
	t.Run("Invalidate from a feed: at once", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.NoError(t, err)
		require.NoError(t, f.mem.DeleteSigningKey(ctx, cfg.KeyID))
		f.reg.Invalidate(cfg.KeyID)
		_, err = f.auth.Verify(ctx, tok)
		assertRefused(t, err, DetailUnknownKey)
	})
	t.Run("an unchanged registration keeps its tokens cached", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.NoError(t, err)
		reads := f.st.reads.Load()
		for range 10 {
			_, err = f.auth.Verify(ctx, tok)
			require.NoError(t, err)
		}
		assert.Equal(t, reads, f.st.reads.Load())
		f.clk.Add(time.Minute)
		_, err = f.auth.Verify(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, reads+1, f.st.reads.Load(), "one store read per RecheckInterval")
	})
	t.Run("registration expiry", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, func(p *PersonalParams) { p.ExpiresAt = f.clk.Now().Add(5 * time.Minute) })
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.NoError(t, err)
		f.clk.Add(5 * time.Minute)
		_, err = f.auth.Verify(ctx, tok)
		assertRefused(t, err, DetailKeyExpired)
	})
}

func TestRegisteredKeysFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("store down is 503", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		down := errors.New("pq: connection refused to 10.1.2.3")
		f.st.fail.Store(&down)
		tok := f.mint(t, cfg)
		_, err := f.auth.Verify(ctx, tok)
		require.ErrorIs(t, err, gatehouse.ErrUnavailable)
		w := serveToken(t, tok, f.auth)
		assertProblem(t, w, http.StatusServiceUnavailable, "unavailable", "", tok)
		assert.NotContains(t, w.Body.String(), "10.1.2.3")
	})
	t.Run("store panics is 503", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		f.st.panic.Store(true)
		_, err := f.auth.Verify(ctx, f.mint(t, cfg))
		require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	})
	t.Run("corrupt record is 503", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		require.NoError(t, f.mem.DeleteSigningKey(ctx, cfg.KeyID))
		require.NoError(t, f.mem.RegisterSigningKey(ctx, &store.SigningKey{KID: cfg.KeyID, OwnerID: f.owner, Algorithm: EdDSA, PublicKey: []byte("junk")}))
		f.reg.Invalidate(cfg.KeyID)
		_, err := f.auth.Verify(ctx, f.mint(t, cfg))
		require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	})
	t.Run("record with another algorithm is 503", func(t *testing.T) {
		f := newPATFixture(t)
		cfg := f.create(t, EdDSA, nil)
		rec, err := f.mem.SigningKeyByKID(ctx, cfg.KeyID)
		require.NoError(t, err)
		require.NoError(t, f.mem.DeleteSigningKey(ctx, cfg.KeyID))
		rec.Algorithm = ES256
		require.NoError(t, f.mem.RegisterSigningKey(ctx, rec))
		f.reg.Invalidate(cfg.KeyID)
		_, err = f.auth.Verify(ctx, f.mint(t, cfg))
		require.ErrorIs(t, err, gatehouse.ErrUnavailable)
	})
	t.Run("one store read for many concurrent lookups of one unknown kid", func(t *testing.T) {
		f := newPATFixture(t)
		gate := make(chan struct{})
		f.st.gate = gate
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.reg.Key(ctx, "pak_unknown")
				assert.ErrorIs(t, err, ErrUnknownKey)
			}()
		}
		for f.st.reads.Load() == 0 {
			runtime.Gosched()
		}
		close(gate)
		wg.Wait()
		reads := f.st.reads.Load()
		assert.EqualValues(t, 1, reads)
		// Remembered for NegativeTTL.
		_, err := f.reg.Key(ctx, "pak_unknown")
		assert.ErrorIs(t, err, ErrUnknownKey)
		assert.Equal(t, reads, f.st.reads.Load())
		f.clk.Add(5 * time.Second)
		_, err = f.reg.Key(ctx, "pak_unknown")
		assert.ErrorIs(t, err, ErrUnknownKey)
		assert.Equal(t, reads+1, f.st.reads.Load())
	})
	t.Run("a flood of unknown kids stays bounded", func(t *testing.T) {
		mem := store.NewMemorySigningKeys()
		clk := newClock()
		reg, err := NewRegisteredKeys(mem, RegisteredKeysConfig{Now: clk.Now, Size: 8, NegativeSize: 8})
		require.NoError(t, err)
		for i := range 200 {
			_, err := reg.Key(ctx, fmt.Sprint("kid-", i))
			require.ErrorIs(t, err, ErrUnknownKey)
		}
		assert.LessOrEqual(t, reg.neg.Len(), 8)
	})
	t.Run("kid too long or empty never reaches the store", func(t *testing.T) {
		f := newPATFixture(t)
		for _, kid := range []string{"", strings.Repeat("k", MaxKeyIDLength+1)} {
			_, err := f.reg.Key(ctx, kid)
			assert.ErrorIs(t, err, ErrUnknownKey)
		}
		assert.Zero(t, f.st.reads.Load())
	})
}

func TestPersonalConfigFile(t *testing.T) {
	f := newPATFixture(t)
	cfg := f.create(t, ES256, func(p *PersonalParams) { p.ExpiresAt = f.clk.Now().Add(24 * time.Hour) })
	path := filepath.Join(t.TempDir(), "gatehouse-pat.json")
	require.NoError(t, WriteConfigFile(path, cfg))

	st, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}
	assert.Error(t, WriteConfigFile(path, cfg), "an existing file is never overwritten")

	back, err := ReadConfigFile(path)
	require.NoError(t, err)
	assert.Equal(t, cfg.KeyID, back.KeyID)
	assert.Equal(t, cfg.Subject, back.Subject)
	assert.Equal(t, cfg.URL, back.URL)
	assert.True(t, cfg.ExpiresAt.Equal(back.ExpiresAt))
	_, err = f.auth.Verify(context.Background(), f.mint(t, back))
	require.NoError(t, err, "a config read back mints tokens the server accepts")

	if runtime.GOOS != "windows" {
		require.NoError(t, os.Chmod(path, 0o644))
		_, err = ReadConfigFile(path)
		assert.ErrorContains(t, err, "chmod 600")
	}

	t.Run("printing never shows the private key", func(t *testing.T) {
		raw, err := json.Marshal(cfg)
		require.NoError(t, err)
		var file struct {
			PrivateKey struct {
				D string `json:"d"`
			} `json:"private_key"`
		}
		require.NoError(t, json.Unmarshal(raw, &file))
		require.NotEmpty(t, file.PrivateKey.D)
		for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
			fmt.Sprintf("%v %+v %#v", *cfg, *cfg, *cfg)} {
			assert.NotContains(t, s, file.PrivateKey.D)
			assert.Contains(t, s, "REDACTED")
		}
	})
	t.Run("PEM form", func(t *testing.T) {
		pemBytes, err := cfg.PrivateKeyPEM()
		require.NoError(t, err)
		doc := map[string]any{"version": 1, "kid": cfg.KeyID, "alg": cfg.Algorithm, "issuer": cfg.Issuer,
			"audience": cfg.Audience, "subject": cfg.Subject, "private_key_pem": string(pemBytes)}
		raw, err := json.Marshal(doc)
		require.NoError(t, err)
		var c PersonalConfig
		require.NoError(t, json.Unmarshal(raw, &c))
		_, err = f.auth.Verify(context.Background(), f.mint(t, &c))
		require.NoError(t, err)
	})
}

func TestPersonalConfigErrors(t *testing.T) {
	good := PersonalParams{OwnerID: "u", Issuer: patIssuer, Audience: apiAudience}
	for _, tt := range []struct {
		name string
		mod  func(p *PersonalParams)
	}{
		{"no owner", func(p *PersonalParams) { p.OwnerID = "" }},
		{"no issuer", func(p *PersonalParams) { p.Issuer = "" }},
		{"no audience", func(p *PersonalParams) { p.Audience = "" }},
		{"RS256", func(p *PersonalParams) { p.Algorithm = RS256 }},
		{"HS256", func(p *PersonalParams) { p.Algorithm = HS256 }},
		{"expiry in the past", func(p *PersonalParams) { p.Now = testEpoch; p.ExpiresAt = testEpoch.Add(-time.Second) }},
		{"bad scope", func(p *PersonalParams) { p.Scopes = []string{"a b"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.mod(&p)
			_, _, err := NewPersonalConfig(p)
			assert.Error(t, err)
		})
	}

	cfg, _, err := NewPersonalConfig(good)
	require.NoError(t, err)
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	other, _, err := NewPersonalConfig(good)
	require.NoError(t, err)
	otherRaw, err := json.Marshal(other)
	require.NoError(t, err)
	var otherDoc map[string]any
	require.NoError(t, json.Unmarshal(otherRaw, &otherDoc))

	for _, tt := range []struct {
		name string
		edit func(m map[string]any)
	}{
		{"version 2", func(m map[string]any) { m["version"] = 2 }},
		{"no private key", func(m map[string]any) { delete(m, "private_key") }},
		{"both key forms", func(m map[string]any) { m["private_key_pem"] = "x" }},
		{"public half of another key", func(m map[string]any) {
			pk := m["private_key"].(map[string]any)
			pk["x"] = otherDoc["private_key"].(map[string]any)["x"]
		}},
		{"algorithm does not fit", func(m map[string]any) { m["alg"] = ES256 }},
		{"no kid", func(m map[string]any) { delete(m, "kid") }},
		{"bad PEM", func(m map[string]any) {
			delete(m, "private_key")
			m["private_key_pem"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			tt.edit(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			var c PersonalConfig
			err = json.Unmarshal(b, &c)
			require.Error(t, err)
			d := m["private_key"]
			if pk, ok := d.(map[string]any); ok {
				assert.NotContains(t, err.Error(), pk["d"], "errors never carry key material")
			}
		})
	}
	assert.Error(t, json.Unmarshal([]byte(`{`), new(PersonalConfig)))
	assert.Error(t, WriteConfigFile(filepath.Join(t.TempDir(), "x"), nil))
	_, err = ReadConfigFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
}
