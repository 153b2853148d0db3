package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-go/gatehouse/store"
)

// Key is one verification key bound to one algorithm: an HMAC secret or a
// public key, with the key ID tokens name it by. A token is verified with a
// key only when its "alg" header equals the key's algorithm, so an RSA public
// key can never be used as an HMAC secret.
//
// Keys are built by [NewHMACKey], [NewPublicKey], [ParsePublicKeyPEM] and
// [ParseJWK], or by a [KeySource]. A Key is safe for concurrent use; its
// material never changes after it is built.
type Key struct {
	id       string
	alg      string
	method   jwt.SigningMethod
	material any
	// fingerprint identifies the material, so that a key set refreshed
	// with the same key keeps the same *Key (and the tokens it verified
	// stay cached) while a replaced one is revoked.
	fingerprint [32]byte
	reg         *store.SigningKey
	// notAfter is when the key stops verifying, in Unix nanoseconds; 0 for
	// never.
	notAfter int64
	// freshUntil is, for keys read from a store, until when the key may be
	// trusted without looking it up again (Unix nanoseconds).
	freshUntil atomic.Int64
	revoked    atomic.Bool
}

// NewHMACKey returns a key that verifies alg (HS256, HS384 or HS512) with
// secret, which must be at least as long as the hash (32, 48 or 64 bytes).
// kid may be empty when it is the only key of its source. The secret is
// copied.
func NewHMACKey(kid, alg string, secret []byte) (*Key, error) {
	if !isHMAC(alg) {
		return nil, fmt.Errorf("jwtauth: %q is not an HMAC algorithm", safeForError(alg))
	}
	s := append([]byte(nil), secret...)
	if err := checkKeyType(alg, s); err != nil {
		return nil, err
	}
	return newKey(kid, alg, s, sha256.Sum256(s)), nil
}

// NewPublicKey returns a key that verifies alg with pub, an
// *rsa.PublicKey (RS256, PS256; at least 2048 bits), an *ecdsa.PublicKey
// (ES256 on P-256, ES384 on P-384) or an ed25519.PublicKey (EdDSA).
func NewPublicKey(kid, alg string, pub crypto.PublicKey) (*Key, error) {
	if isHMAC(alg) {
		return nil, fmt.Errorf("jwtauth: %s needs a secret, not a public key", alg)
	}
	if err := checkKeyType(alg, pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: public key: %w", err)
	}
	return newKey(kid, alg, pub, sha256.Sum256(der)), nil
}

// ParsePublicKeyPEM returns a key that verifies alg with the public key in
// pemBytes: a "PUBLIC KEY" block (PKIX) or an "RSA PUBLIC KEY" block
// (PKCS #1). Private keys are refused: a verifier needs only the public
// half.
func ParsePublicKeyPEM(kid, alg string, pemBytes []byte) (*Key, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("jwtauth: no PEM block found")
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, errors.New("jwtauth: PEM block is not a public key")
	}
	if err != nil {
		return nil, fmt.Errorf("jwtauth: public key: %w", err)
	}
	return NewPublicKey(kid, alg, pub)
}

func newKey(kid, alg string, material any, fp [32]byte) *Key {
	k := &Key{id: kid, alg: alg, method: algorithms[alg].method, material: material, fingerprint: fp}
	k.freshUntil.Store(math.MaxInt64)
	return k
}

// ID returns the key ID ("kid"); empty when the key has none.
func (k *Key) ID() string { return k.id }

// Algorithm returns the one algorithm the key verifies.
func (k *Key) Algorithm() string { return k.alg }

// Public returns the public key, or nil for an HMAC key.
func (k *Key) Public() crypto.PublicKey {
	switch k.material.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k.material
	}
	return nil
}

// Registration returns the store record of a key registered by a user (see
// [RegisteredKeys]), nil for other keys. Do not modify it.
func (k *Key) Registration() *store.SigningKey { return k.reg }

// Revoked reports whether the key was withdrawn by its source: deleted from
// the store, or dropped from a refreshed key set.
func (k *Key) Revoked() bool { return k.revoked.Load() }

// revoke withdraws the key; tokens it verified leave the token cache on
// their next use.
func (k *Key) revoke() { k.revoked.Store(true) }

// usableAt reports whether the key may vouch for a cached token at now
// (Unix nanoseconds): not revoked, not expired, and not due for a new look
// in its store.
func (k *Key) usableAt(now int64) bool {
	return !k.revoked.Load() && (k.notAfter == 0 || now < k.notAfter) && now < k.freshUntil.Load()
}

// expiredAt reports whether the key's own validity ended at t.
func (k *Key) expiredAt(t time.Time) bool {
	return k.notAfter != 0 && t.UnixNano() >= k.notAfter
}
