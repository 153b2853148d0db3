package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// maxRSABits bounds the RSA modulus accepted from a JWK, so that a key set
// cannot make every verification arbitrarily slow.
const maxRSABits = 8192

// jwk is the JSON form of one key (RFC 7517, RFC 7518 section 6, RFC 8037).
// Only the members Gatehouse reads are listed; x5c, x5u and friends are
// ignored.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	K      string   `json:"k,omitempty"`
	D      string   `json:"d,omitempty"`
}

// errNotSigning marks a JWK meant for something other than signatures
// ("use": "enc"); a key set skips such keys quietly.
var errNotSigning = errors.New("jwtauth: jwk is not a signature key")

// ParseJWK returns the key described by one JSON Web Key: kty RSA, EC
// (P-256, P-384), OKP (Ed25519) or oct (an HMAC secret, which must name its
// "alg"). The key is bound to its "alg" member or, without one, to the only
// algorithm its type allows here (RS256 for RSA). A JWK with private
// members, or whose "use" or "key_ops" exclude verification, is refused.
func ParseJWK(data []byte) (*Key, error) {
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, errors.New("jwtauth: jwk is not a JSON object")
	}
	return j.key(nil)
}

// key builds the verification key j describes. allowed, when non-nil, lists
// the algorithms the key may be bound to.
func (j *jwk) key(allowed []string) (*Key, error) {
	if j.Use != "" && j.Use != "sig" {
		return nil, errNotSigning
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return nil, errNotSigning
	}
	if j.D != "" {
		return nil, errors.New("jwtauth: jwk holds a private key; publish only the public half")
	}
	alg := j.Alg
	if alg == "" {
		alg = defaultAlgorithm(j.Kty, j.Crv)
		if alg == "" {
			return nil, errors.New("jwtauth: jwk names no algorithm and its type has no default")
		}
	}
	if _, ok := algorithms[alg]; !ok {
		return nil, fmt.Errorf("jwtauth: jwk algorithm %q is not supported", safeForError(alg))
	}
	if allowed != nil && !slices.Contains(allowed, alg) {
		return nil, fmt.Errorf("jwtauth: jwk algorithm %s is not allowed here", alg)
	}
	switch j.Kty {
	case "oct":
		secret, err := b64(j.K, 0)
		if err != nil {
			return nil, err
		}
		return NewHMACKey(j.Kid, alg, secret)
	case "RSA", "EC", "OKP":
		pub, err := j.public()
		if err != nil {
			return nil, err
		}
		return NewPublicKey(j.Kid, alg, pub)
	default:
		return nil, fmt.Errorf("jwtauth: jwk type %q is not supported", safeForError(j.Kty))
	}
}

// defaultAlgorithm is the algorithm a key without "alg" is bound to.
func defaultAlgorithm(kty, crv string) string {
	switch {
	case kty == "RSA":
		return RS256
	case kty == "EC" && crv == "P-256":
		return ES256
	case kty == "EC" && crv == "P-384":
		return ES384
	case kty == "OKP" && crv == "Ed25519":
		return EdDSA
	}
	return ""
}

// public decodes the public key of an RSA, EC or OKP JWK.
func (j *jwk) public() (any, error) {
	switch j.Kty {
	case "RSA":
		n, err := b64(j.N, 0)
		if err != nil {
			return nil, err
		}
		e, err := b64(j.E, 0)
		if err != nil {
			return nil, err
		}
		if len(n) == 0 || n[0] == 0 || len(n)*8 > maxRSABits {
			return nil, errors.New("jwtauth: jwk RSA modulus is empty, padded or too large")
		}
		if len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return nil, errors.New("jwtauth: jwk RSA exponent is invalid")
		}
		ev := new(big.Int).SetBytes(e).Int64()
		if ev < 3 || ev%2 == 0 || ev > 1<<31-1 {
			return nil, errors.New("jwtauth: jwk RSA exponent is invalid")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev)}, nil
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("jwtauth: jwk curve %q is not supported", safeForError(j.Crv))
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64(j.X, size)
		if err != nil {
			return nil, err
		}
		y, err := b64(j.Y, size)
		if err != nil {
			return nil, err
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, errors.New("jwtauth: jwk EC point is not on the curve")
		}
		return pub, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("jwtauth: jwk curve %q is not supported", safeForError(j.Crv))
		}
		x, err := b64(j.X, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("jwtauth: jwk type %q has no public key", safeForError(j.Kty))
}

// b64 decodes a base64url member without padding; size, when not zero, is
// the exact length the decoded value must have.
func b64(s string, size int) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("jwtauth: jwk member is missing or not base64url")
	}
	if size != 0 && len(b) != size {
		return nil, errors.New("jwtauth: jwk member has the wrong length")
	}
	return b, nil
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// publicJWK returns the JWK of a public key, with kid and alg.
func publicJWK(kid, alg string, pub any) (*jwk, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return &jwk{Kty: "OKP", Crv: "Ed25519", Kid: kid, Alg: alg, Use: "sig", X: enc(p)}, nil
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		b, err := p.Bytes()
		if err != nil {
			return nil, fmt.Errorf("jwtauth: %w", err)
		}
		return &jwk{Kty: "EC", Crv: p.Curve.Params().Name, Kid: kid, Alg: alg, Use: "sig",
			X: enc(b[1 : 1+size]), Y: enc(b[1+size:])}, nil
	case *rsa.PublicKey:
		return &jwk{Kty: "RSA", Kid: kid, Alg: alg, Use: "sig",
			N: enc(p.N.Bytes()), E: enc(big.NewInt(int64(p.E)).Bytes())}, nil
	}
	return nil, fmt.Errorf("jwtauth: unsupported public key type %T", pub)
}

// MarshalJWK returns the public JWK of k (for publishing a key set). HMAC
// keys have no public form and return an error.
func MarshalJWK(k *Key) ([]byte, error) {
	pub := k.Public()
	if pub == nil {
		return nil, errors.New("jwtauth: an HMAC key has no public JWK")
	}
	j, err := publicJWK(k.id, k.alg, pub)
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}
