package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse/scopes"
	"github.com/gatehouse-go/gatehouse/store"
)

// MaxMintTTL is the longest lifetime [Mint] gives a token: personal tokens
// are short-lived, minted again when needed.
const MaxMintTTL = time.Hour

// PersonalParams describes a personal access config to create.
type PersonalParams struct {
	// OwnerID is the user the config acts as. Required.
	OwnerID string
	// TenantID is the organization it acts in; empty without tenants.
	TenantID string
	// Name labels the registration in listings ("laptop"); optional.
	Name string
	// Scopes is the ceiling of what tokens minted with the config may do.
	Scopes []string
	// Algorithm is EdDSA or ES256. Default EdDSA.
	Algorithm string
	// Issuer is the "iss" minted tokens carry: the Issuer name the
	// server's authenticator gives its [RegisteredKeys]. Required.
	Issuer string
	// Audience is the "aud" minted tokens carry. Required.
	Audience string
	// URL is the base URL of the API the config is for, kept for the
	// client; optional.
	URL string
	// ExpiresAt ends the registration; zero: never.
	ExpiresAt time.Time
	// Now is the creation time. Default time.Now().
	Now time.Time
}

// PersonalConfig is what a user keeps to sign their own short-lived tokens:
// the private key, its kid, and where the tokens go. The server keeps only
// the matching public key ([store.SigningKey]); deleting that registration
// revokes every token the config minted.
//
// Its JSON form (a file the user keeps, mode 0600) holds the private key as
// a JWK in "private_key"; UnmarshalJSON also accepts a PKCS #8 PEM string
// in "private_key_pem" instead.
type PersonalConfig struct {
	KeyID     string
	Algorithm string
	Issuer    string
	Audience  string
	URL       string
	// Subject is the owner's user ID, the "sub" of minted tokens.
	Subject string
	// Scopes are put in the "scope" claim of minted tokens; the server
	// grants at most the registration's.
	Scopes []string
	// ExpiresAt is when the registration ends; zero: never.
	ExpiresAt time.Time
	// PrivateKey is an ed25519.PrivateKey or an *ecdsa.PrivateKey on
	// P-256. It is a secret.
	PrivateKey crypto.Signer
}

// NewPersonalConfig generates a key pair and returns the config for the
// user (with the private key) and the registration for the store (with
// only the public key). Register it with [CreatePersonalConfig], or store
// it yourself.
func NewPersonalConfig(p PersonalParams) (*PersonalConfig, *store.SigningKey, error) {
	if p.OwnerID == "" || p.Issuer == "" || p.Audience == "" {
		return nil, nil, errors.New("jwtauth: a personal config needs an owner, an issuer and an audience")
	}
	if err := scopes.Validate(p.Scopes); err != nil {
		return nil, nil, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) {
		return nil, nil, errors.New("jwtauth: a personal config's expiry must be in the future")
	}
	alg := p.Algorithm
	if alg == "" {
		alg = EdDSA
	}
	var priv crypto.Signer
	switch alg {
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("jwtauth: generate key: %w", err)
		}
		priv = k
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("jwtauth: generate key: %w", err)
		}
		priv = k
	default:
		return nil, nil, errors.New("jwtauth: a personal config uses EdDSA or ES256")
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("jwtauth: public key: %w", err)
	}
	sc := scopes.Normalize(p.Scopes)
	cfg := &PersonalConfig{
		KeyID:      store.NewID("pak"),
		Algorithm:  alg,
		Issuer:     p.Issuer,
		Audience:   p.Audience,
		URL:        p.URL,
		Subject:    p.OwnerID,
		Scopes:     sc,
		PrivateKey: priv,
	}
	reg := &store.SigningKey{
		KID:       cfg.KeyID,
		OwnerID:   p.OwnerID,
		TenantID:  p.TenantID,
		Name:      p.Name,
		Algorithm: alg,
		PublicKey: der,
		Scopes:    slices.Clone(sc),
		CreatedAt: now.UTC(),
	}
	if !p.ExpiresAt.IsZero() {
		reg.ExpiresAt = p.ExpiresAt.UTC()
		cfg.ExpiresAt = reg.ExpiresAt
	}
	return cfg, reg, nil
}

// CreatePersonalConfig generates a config with [NewPersonalConfig] and
// registers its public key in keys (pass the [RegisteredKeys] the server
// verifies with, or its store). It returns the config to hand to the user,
// once, and the stored registration.
func CreatePersonalConfig(ctx context.Context, keys store.SigningKeyStore, p PersonalParams) (*PersonalConfig, *store.SigningKey, error) {
	cfg, reg, err := NewPersonalConfig(p)
	if err != nil {
		return nil, nil, err
	}
	if err := keys.RegisterSigningKey(ctx, reg); err != nil {
		return nil, nil, err
	}
	return cfg, reg.Clone(), nil
}

// Mint returns a token signed with cfg's private key: "iss", "sub", "aud",
// "iat" now, "exp" now+ttl, a random "jti" and the config's scopes, with
// the config's kid in the header. ttl must be positive and at most
// [MaxMintTTL].
func Mint(cfg *PersonalConfig, now time.Time, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxMintTTL {
		return "", fmt.Errorf("jwtauth: mint: ttl must be positive and at most %s", MaxMintTTL)
	}
	if err := cfg.validate(); err != nil {
		return "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("jwtauth: mint: %w", err)
	}
	claims := jwt.MapClaims{
		"iss": cfg.Issuer,
		"sub": cfg.Subject,
		"aud": cfg.Audience,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"jti": enc(id[:]),
	}
	if len(cfg.Scopes) > 0 {
		claims["scope"] = strings.Join(cfg.Scopes, " ")
	}
	t := jwt.NewWithClaims(algorithms[cfg.Algorithm].method, claims)
	t.Header["kid"] = cfg.KeyID
	s, err := t.SignedString(cfg.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("jwtauth: mint: %w", err)
	}
	return s, nil
}

// validate checks that the config can mint tokens the server may accept.
func (c *PersonalConfig) validate() error {
	if c.KeyID == "" || c.Issuer == "" || c.Audience == "" || c.Subject == "" {
		return errors.New("jwtauth: personal config: kid, issuer, audience and subject are required")
	}
	switch k := c.PrivateKey.(type) {
	case ed25519.PrivateKey:
		if c.Algorithm != EdDSA || len(k) != ed25519.PrivateKeySize {
			return errors.New("jwtauth: personal config: the private key does not fit the algorithm")
		}
	case *ecdsa.PrivateKey:
		if c.Algorithm != ES256 || k.Curve != elliptic.P256() {
			return errors.New("jwtauth: personal config: the private key does not fit the algorithm")
		}
	default:
		return errors.New("jwtauth: personal config: no usable private key")
	}
	return nil
}

// personalJSON is the file form of a PersonalConfig.
type personalJSON struct {
	Version       int        `json:"version"`
	KeyID         string     `json:"kid"`
	Algorithm     string     `json:"alg"`
	Issuer        string     `json:"issuer"`
	Audience      string     `json:"audience"`
	URL           string     `json:"url,omitempty"`
	Subject       string     `json:"subject"`
	Scopes        []string   `json:"scopes,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	PrivateKey    *jwk       `json:"private_key,omitempty"`
	PrivateKeyPEM string     `json:"private_key_pem,omitempty"`
}

// MarshalJSON writes the config with its private key as a JWK.
func (c *PersonalConfig) MarshalJSON() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	pub, err := publicJWK(c.KeyID, c.Algorithm, c.PrivateKey.Public())
	if err != nil {
		return nil, err
	}
	switch k := c.PrivateKey.(type) {
	case ed25519.PrivateKey:
		pub.D = enc(k.Seed())
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("jwtauth: personal config: %w", err)
		}
		pub.D = enc(d)
	}
	pub.Use = ""
	out := personalJSON{
		Version: 1, KeyID: c.KeyID, Algorithm: c.Algorithm, Issuer: c.Issuer, Audience: c.Audience,
		URL: c.URL, Subject: c.Subject, Scopes: c.Scopes, PrivateKey: pub,
	}
	if !c.ExpiresAt.IsZero() {
		t := c.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a config written by MarshalJSON, or one whose
// private key is a PKCS #8 PEM string in "private_key_pem". Error messages
// never include key material.
func (c *PersonalConfig) UnmarshalJSON(b []byte) error {
	var in personalJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return errors.New("jwtauth: personal config is not valid JSON")
	}
	if in.Version != 1 {
		return errors.New("jwtauth: personal config: unsupported version")
	}
	var priv crypto.Signer
	var err error
	switch {
	case in.PrivateKey != nil && in.PrivateKeyPEM != "":
		return errors.New("jwtauth: personal config: give private_key or private_key_pem, not both")
	case in.PrivateKey != nil:
		priv, err = in.PrivateKey.private()
	case in.PrivateKeyPEM != "":
		priv, err = privateFromPEM(in.PrivateKeyPEM)
	default:
		return errors.New("jwtauth: personal config: no private key")
	}
	if err != nil {
		return err
	}
	out := PersonalConfig{
		KeyID: in.KeyID, Algorithm: in.Algorithm, Issuer: in.Issuer, Audience: in.Audience,
		URL: in.URL, Subject: in.Subject, Scopes: in.Scopes, PrivateKey: priv,
	}
	if in.ExpiresAt != nil {
		out.ExpiresAt = *in.ExpiresAt
	}
	if err := out.validate(); err != nil {
		return err
	}
	if err := scopes.Validate(out.Scopes); err != nil {
		return err
	}
	*c = out
	return nil
}

// private decodes the private key of an OKP (Ed25519) or EC (P-256) JWK,
// checking that the public members match it.
func (j *jwk) private() (crypto.Signer, error) {
	bad := errors.New("jwtauth: personal config: private_key is not a usable Ed25519 or P-256 JWK")
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		seed, err := b64(j.D, ed25519.SeedSize)
		if err != nil {
			return nil, bad
		}
		k := ed25519.NewKeyFromSeed(seed)
		if j.X != "" && j.X != enc(k.Public().(ed25519.PublicKey)) {
			return nil, bad
		}
		return k, nil
	case j.Kty == "EC" && j.Crv == "P-256":
		d, err := b64(j.D, 32)
		if err != nil {
			return nil, bad
		}
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return nil, bad
		}
		if j.X != "" || j.Y != "" {
			want, err := publicJWK("", "", k.Public())
			if err != nil || want.X != j.X || want.Y != j.Y {
				return nil, bad
			}
		}
		return k, nil
	}
	return nil, bad
}

func privateFromPEM(s string) (crypto.Signer, error) {
	bad := errors.New("jwtauth: personal config: private_key_pem is not a PKCS #8 Ed25519 or P-256 key")
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, bad
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, bad
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return k, nil
		}
	}
	return nil, bad
}

// PrivateKeyPEM returns the config's private key as a PKCS #8 PEM block,
// for tools that want it apart from the JSON.
func (c *PersonalConfig) PrivateKeyPEM() ([]byte, error) {
	if c.PrivateKey == nil {
		return nil, errors.New("jwtauth: personal config: no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: personal config: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// String returns a description of the config without its private key, so
// that printing a config with fmt or a logger never leaks the key.
// It has a value receiver so that a copy prints the same way.
func (c PersonalConfig) String() string {
	return fmt.Sprintf("jwtauth.PersonalConfig{KeyID: %q, Algorithm: %q, Issuer: %q, Audience: %q, Subject: %q, PrivateKey: REDACTED}",
		c.KeyID, c.Algorithm, c.Issuer, c.Audience, c.Subject)
}

// GoString is String, for the %#v verb.
func (c PersonalConfig) GoString() string { return c.String() }

// WriteConfigFile writes cfg as JSON to a new file at path with mode 0600
// (owner read and write only). It refuses to overwrite an existing file, so
// that a config holding another key is never lost, and removes what it
// wrote if it fails halfway.
func WriteConfigFile(path string, cfg *PersonalConfig) error {
	if cfg == nil {
		return errors.New("jwtauth: write config: nil config")
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("jwtauth: write config: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return fmt.Errorf("jwtauth: write config: %w", werr)
	}
	return nil
}

// maxConfigFileSize bounds the config file read by [ReadConfigFile].
const maxConfigFileSize = 64 << 10

// ReadConfigFile reads a config written by [WriteConfigFile]. On systems
// with Unix permissions it refuses a file that its group or others may
// read or write, as ssh does for private keys.
func ReadConfigFile(path string) (*PersonalConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: read config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("jwtauth: read config: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("jwtauth: read config: %s is accessible by others (mode %04o); chmod 600 it", filepath.Base(path), st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: read config: %w", err)
	}
	if len(b) > maxConfigFileSize {
		return nil, errors.New("jwtauth: read config: the file is too large")
	}
	var c PersonalConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
