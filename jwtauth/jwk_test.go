package jwtauth

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseJWK(t *testing.T) {
	k := keys(t)
	rsaKey, err := NewPublicKey("r", RS256, &k.rsa.PublicKey)
	require.NoError(t, err)
	ecKey, err := NewPublicKey("e", ES256, &k.ec256.PublicKey)
	require.NoError(t, err)
	edKey, err := NewPublicKey("d", EdDSA, k.ed.Public())
	require.NoError(t, err)

	for _, want := range []*Key{rsaKey, ecKey, edKey} {
		t.Run("round trip "+want.Algorithm(), func(t *testing.T) {
			raw, err := MarshalJWK(want)
			require.NoError(t, err)
			got, err := ParseJWK(raw)
			require.NoError(t, err)
			assert.Equal(t, want.ID(), got.ID())
			assert.Equal(t, want.Algorithm(), got.Algorithm())
			assert.Equal(t, want.fingerprint, got.fingerprint)
		})
	}

	rsaJSON := func(edit func(m map[string]any)) []byte {
		raw, err := MarshalJWK(rsaKey)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name string
		jwk  []byte
		alg  string // empty: refused
	}{
		{"rsa without alg defaults to RS256", rsaJSON(func(m map[string]any) { delete(m, "alg") }), RS256},
		{"rsa bound to PS256", rsaJSON(func(m map[string]any) { m["alg"] = PS256 }), PS256},
		{"rsa claiming HS256", rsaJSON(func(m map[string]any) { m["alg"] = HS256 }), ""},
		{"rsa claiming ES256", rsaJSON(func(m map[string]any) { m["alg"] = ES256 }), ""},
		{"rsa claiming none", rsaJSON(func(m map[string]any) { m["alg"] = "none" }), ""},
		{"rsa with private d", rsaJSON(func(m map[string]any) { m["d"] = "AQAB" }), ""},
		{"use enc", rsaJSON(func(m map[string]any) { m["use"] = "enc" }), ""},
		{"key_ops without verify", rsaJSON(func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }), ""},
		{"exponent 1", rsaJSON(func(m map[string]any) { m["e"] = "AQ" }), ""},
		{"modulus not base64url", rsaJSON(func(m map[string]any) { m["n"] = "!!" }), ""},
		{"rsa 1024 bits", rsaJSON(func(m map[string]any) { m["n"] = b64url(make([]byte, 128)) }), ""},
		{"oct HS256", []byte(`{"kty":"oct","alg":"HS256","k":"` + b64url(k.hmac[:32]) + `"}`), HS256},
		{"oct short secret", []byte(`{"kty":"oct","alg":"HS256","k":"` + b64url(k.hmac[:16]) + `"}`), ""},
		{"oct without alg", []byte(`{"kty":"oct","k":"` + b64url(k.hmac[:32]) + `"}`), ""},
		{"oct claiming RS256", []byte(`{"kty":"oct","alg":"RS256","k":"` + b64url(k.hmac[:32]) + `"}`), ""},
		{"EC point off the curve", []byte(`{"kty":"EC","crv":"P-256","x":"` + b64url(make([]byte, 32)) + `","y":"` + b64url(make([]byte, 32)) + `"}`), ""},
		{"EC unsupported curve", []byte(`{"kty":"EC","crv":"P-521","x":"AA","y":"AA"}`), ""},
		{"OKP X25519", []byte(`{"kty":"OKP","crv":"X25519","x":"` + b64url(make([]byte, 32)) + `"}`), ""},
		{"OKP short", []byte(`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`), ""},
		{"unknown kty", []byte(`{"kty":"XYZ"}`), ""},
		{"not JSON", []byte(`[`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseJWK(tt.jwk)
			if tt.alg == "" {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.alg, key.Algorithm())
		})
	}
	_, err = MarshalJWK(mustHMAC(t))
	assert.Error(t, err, "an HMAC key has no public JWK")
}

func TestParseJWKS(t *testing.T) {
	k := keys(t)
	a, _ := NewPublicKey("a", RS256, &k.rsa.PublicKey)
	b, _ := NewPublicKey("b", EdDSA, k.ed.Public())
	noKid, _ := NewPublicKey("", ES256, &k.ec256.PublicKey)
	dupe, _ := NewPublicKey("a", RS256, &k.rsa2.PublicKey)
	j := func(keys ...*Key) []byte { return jwksBody(t, keys...) }
	tests := []struct {
		name string
		body []byte
		kids []string // nil: error
	}{
		{"two keys", j(a, b), []string{"a", "b"}},
		{"duplicate kid dropped", j(a, b, dupe), []string{"b"}},
		{"only duplicates", j(a, dupe), nil},
		{"sole key without kid", j(noKid), []string{""}},
		{"kid-less key among others dropped", j(a, noKid), []string{"a"}},
		{"hmac key skipped", []byte(`{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"` + b64url(k.hmac[:32]) + `"}]}`), nil},
		{"bad entries skipped", append(append([]byte(`{"keys":[1,"x",{"kty":"RSA"},`), j(b)[len(`{"keys":[`):len(j(b))-2]...), []byte(`]}`)...), []string{"b"}},
		{"empty", []byte(`{"keys":[]}`), nil},
		{"not an object", []byte(`[]`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJWKS(tt.body, asymmetricAlgorithms)
			if tt.kids == nil {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			var kids []string
			for _, k := range got {
				kids = append(kids, k.ID())
			}
			assert.ElementsMatch(t, tt.kids, kids)
		})
	}
}

func TestKeys(t *testing.T) {
	k := keys(t)
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	require.NoError(t, err)
	pkix := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	require.NoError(t, err)
	priv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})

	for _, tt := range []struct {
		name string
		pem  []byte
		alg  string
		ok   bool
	}{
		{"PKIX RS256", pkix, RS256, true},
		{"PKCS1 PS256", pkcs1, PS256, true},
		{"PKIX as HS256", pkix, HS256, false},
		{"PKIX as ES256", pkix, ES256, false},
		{"private key", priv, RS256, false},
		{"not PEM", []byte("hello"), RS256, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePublicKeyPEM("kid", tt.alg, tt.pem)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.alg, key.Algorithm())
			assert.NotNil(t, key.Public())
		})
	}

	for _, tt := range []struct {
		name string
		f    func() (*Key, error)
	}{
		{"HMAC secret too short", func() (*Key, error) { return NewHMACKey("", HS256, k.hmac[:31]) }},
		{"HS512 secret of 32 bytes", func() (*Key, error) { return NewHMACKey("", HS512, k.hmac[:32]) }},
		{"HMAC with RS256", func() (*Key, error) { return NewHMACKey("", RS256, k.hmac) }},
		{"public key with HS256", func() (*Key, error) { return NewPublicKey("", HS256, &k.rsa.PublicKey) }},
		{"P-384 key with ES256", func() (*Key, error) { return NewPublicKey("", ES256, &k.ec384.PublicKey) }},
		{"Ed25519 with ES256", func() (*Key, error) { return NewPublicKey("", ES256, k.ed.Public()) }},
		{"none", func() (*Key, error) { return NewPublicKey("", "none", k.ed.Public()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f()
			assert.Error(t, err)
		})
	}

	t.Run("static keys", func(t *testing.T) {
		a, _ := NewPublicKey("a", RS256, &k.rsa.PublicKey)
		b, _ := NewPublicKey("b", EdDSA, k.ed.Public())
		anon, _ := NewPublicKey("", EdDSA, k.ed.Public())
		_, err := NewStaticKeys()
		assert.Error(t, err)
		_, err = NewStaticKeys(a, a)
		assert.Error(t, err)
		_, err = NewStaticKeys(a, anon)
		assert.Error(t, err)
		_, err = NewStaticKeys(a, nil)
		assert.Error(t, err)
		assert.Panics(t, func() { MustStaticKeys() })
		s, err := NewStaticKeys(a, b)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{RS256, EdDSA}, s.Algorithms())
	})
}
