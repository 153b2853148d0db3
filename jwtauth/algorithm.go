package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// The JWS algorithms Gatehouse verifies (RFC 7518, RFC 8037). Every [Key] is
// bound to exactly one of them; "none" is never accepted.
const (
	HS256 = "HS256"
	HS384 = "HS384"
	HS512 = "HS512"
	RS256 = "RS256"
	PS256 = "PS256"
	ES256 = "ES256"
	ES384 = "ES384"
	EdDSA = "EdDSA"
)

// MinRSABits is the smallest RSA modulus a key may have (RFC 7518 section
// 3.3 requires 2048 bits).
const MinRSABits = 2048

// algorithm describes one supported algorithm.
type algorithm struct {
	method jwt.SigningMethod
	// minSecret is the shortest HMAC secret, in bytes: the hash size
	// (RFC 7518 section 3.2). Zero for public-key algorithms.
	minSecret int
	// curve is the curve of an ECDSA algorithm.
	curve elliptic.Curve
}

var algorithms = map[string]algorithm{
	HS256: {method: jwt.SigningMethodHS256, minSecret: 32},
	HS384: {method: jwt.SigningMethodHS384, minSecret: 48},
	HS512: {method: jwt.SigningMethodHS512, minSecret: 64},
	RS256: {method: jwt.SigningMethodRS256},
	PS256: {method: jwt.SigningMethodPS256},
	ES256: {method: jwt.SigningMethodES256, curve: elliptic.P256()},
	ES384: {method: jwt.SigningMethodES384, curve: elliptic.P384()},
	EdDSA: {method: jwt.SigningMethodEdDSA},
}

// asymmetricAlgorithms are the algorithms a remote key set may use, in the
// order they are listed: HMAC secrets never come from a JWKS.
var asymmetricAlgorithms = []string{RS256, PS256, ES256, ES384, EdDSA}

// Algorithms returns the names of every supported algorithm.
func Algorithms() []string {
	return []string{HS256, HS384, HS512, RS256, PS256, ES256, ES384, EdDSA}
}

func isHMAC(alg string) bool { return algorithms[alg].minSecret > 0 }

// checkKeyType reports whether material has the Go type and size that alg
// needs: no RSA or EC key can be bound to an HMAC algorithm, and no secret
// to a public-key one.
func checkKeyType(alg string, material any) error {
	a, ok := algorithms[alg]
	if !ok {
		return fmt.Errorf("jwtauth: unsupported algorithm %q", safeForError(alg))
	}
	switch k := material.(type) {
	case []byte:
		if a.minSecret == 0 {
			return fmt.Errorf("jwtauth: %s needs a public key, not a secret", alg)
		}
		if len(k) < a.minSecret {
			return fmt.Errorf("jwtauth: %s needs a secret of at least %d bytes", alg, a.minSecret)
		}
	case *rsa.PublicKey:
		if alg != RS256 && alg != PS256 {
			return fmt.Errorf("jwtauth: an RSA key cannot verify %s", alg)
		}
		if k.N == nil || k.N.BitLen() < MinRSABits {
			return fmt.Errorf("jwtauth: RSA keys need at least %d bits", MinRSABits)
		}
	case *ecdsa.PublicKey:
		if a.curve == nil || k.Curve != a.curve {
			return fmt.Errorf("jwtauth: this EC key cannot verify %s", alg)
		}
	case ed25519.PublicKey:
		if alg != EdDSA {
			return fmt.Errorf("jwtauth: an Ed25519 key cannot verify %s", alg)
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("jwtauth: an Ed25519 key has %d bytes", ed25519.PublicKeySize)
		}
	default:
		return fmt.Errorf("jwtauth: unsupported key type %T", material)
	}
	return nil
}

// safeForError returns s when it is short printable ASCII, else a
// placeholder, so that error messages never carry arbitrary input.
func safeForError(s string) string {
	if len(s) > 16 {
		return "(too long)"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "(not printable)"
		}
	}
	return s
}
