package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"unsafe"
)

// Hasher turns a secret (an API key, a session ID) into the [Digest] that is
// stored and looked up. With a pepper it computes HMAC-SHA-256 keyed by the
// pepper, so that a stolen database alone cannot be used to test guesses;
// without one it computes SHA-256. Keep the pepper outside the database
// (an environment variable, a secret manager). Changing the pepper makes
// every stored digest unreachable.
//
// A Hasher is immutable and safe for concurrent use. Sum does not allocate
// for secrets up to 128 bytes.
type Hasher struct {
	peppered bool
	ipad     [sha256.BlockSize]byte
	opad     [sha256.BlockSize]byte
	pepper   []byte
}

// MinPepperLength is the shortest pepper [NewHasher] accepts, in bytes.
const MinPepperLength = 16

// NewHasher returns a Hasher. An empty pepper means plain SHA-256; a
// non-empty one must be at least [MinPepperLength] bytes.
func NewHasher(pepper []byte) (*Hasher, error) {
	h := &Hasher{}
	if len(pepper) == 0 {
		return h, nil
	}
	if len(pepper) < MinPepperLength {
		return nil, errors.New("store: pepper must be at least 16 bytes")
	}
	h.peppered = true
	h.pepper = append([]byte(nil), pepper...)
	k := pepper
	if len(k) > sha256.BlockSize {
		s := sha256.Sum256(k)
		k = s[:]
	}
	for i := range h.ipad {
		var b byte
		if i < len(k) {
			b = k[i]
		}
		h.ipad[i] = b ^ 0x36
		h.opad[i] = b ^ 0x5c
	}
	return h, nil
}

// Fingerprint names the pepper without revealing it, so that processes
// sharing a database can check that they digest keys alike: "none" without
// a pepper, else "hmac-sha256:" and the hex of the first 16 bytes of
// HMAC-SHA-256 under the pepper of a fixed label. It is as safe to store
// as any digest the pepper made.
func (h *Hasher) Fingerprint() string {
	if !h.Peppered() {
		return "none"
	}
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte("gatehouse pepper fingerprint v1"))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// Peppered reports whether h computes HMAC-SHA-256 with a pepper.
func (h *Hasher) Peppered() bool { return h != nil && h.peppered }

const maxStackSecret = 128

// Sum returns the digest of secret. A nil Hasher computes plain SHA-256,
// so packages that need an allocation-free digest of a string call
// (*Hasher)(nil).Sum.
func (h *Hasher) Sum(secret string) Digest {
	// The string's bytes are read in place: SumBytes only reads its input.
	return h.SumBytes(unsafe.Slice(unsafe.StringData(secret), len(secret)))
}

// SumBytes returns the digest of secret. It does not allocate for secrets
// of up to 128 bytes.
func (h *Hasher) SumBytes(secret []byte) Digest {
	if h == nil || !h.peppered {
		return sha256.Sum256(secret)
	}
	if len(secret) > maxStackSecret {
		return h.sumLong(secret)
	}
	// HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), RFC 2104.
	var in [sha256.BlockSize + maxStackSecret]byte
	copy(in[:], h.ipad[:])
	n := copy(in[sha256.BlockSize:], secret)
	inner := sha256.Sum256(in[:sha256.BlockSize+n])
	var out [sha256.BlockSize + sha256.Size]byte
	copy(out[:], h.opad[:])
	copy(out[sha256.BlockSize:], inner[:])
	return sha256.Sum256(out[:])
}

// sumLong is the HMAC of a secret too long for the stack buffer. It feeds
// the secret through a copy, so that secret itself never reaches an
// interface and callers' stack buffers stay on the stack.
func (h *Hasher) sumLong(secret []byte) Digest {
	m := hmac.New(sha256.New, h.pepper)
	var chunk [sha256.BlockSize]byte
	for len(secret) > 0 {
		n := copy(chunk[:], secret)
		m.Write(chunk[:n])
		secret = secret[n:]
	}
	var d Digest
	m.Sum(d[:0])
	return d
}
