package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password errors. ErrMismatch is the only one a login should act on; the
// others mean a stored hash is broken.
var (
	// ErrMismatch means the password does not match the hash.
	ErrMismatch = errors.New("session: password mismatch")
	// ErrTooLong means the password is longer than MaxPasswordLength.
	ErrTooLong = errors.New("session: password too long")
	// ErrHashFormat means a stored hash is not an argon2id PHC string
	// Gatehouse can read.
	ErrHashFormat = errors.New("session: unrecognised password hash")
)

// MaxPasswordLength bounds passwords, in bytes, so that a huge password
// cannot be used to burn CPU. NIST SP 800-63B asks for at least 64.
const MaxPasswordLength = 1024

// Params are argon2id parameters. The zero value means [DefaultParams].
type Params struct {
	MemoryKiB uint32 // memory in KiB
	Time      uint32 // passes
	Threads   uint8  // parallelism
	SaltLen   uint32 // bytes
	KeyLen    uint32 // bytes
}

// DefaultParams are OWASP's minimum for argon2id: 19 MiB, 2 passes, 1
// thread; a 16-byte salt and a 32-byte hash.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

func (p Params) orDefault() Params {
	if p == (Params{}) {
		return DefaultParams
	}
	return p
}

// Validate refuses parameters below the OWASP floor.
func (p Params) Validate() error {
	p = p.orDefault()
	if p.MemoryKiB < DefaultParams.MemoryKiB || p.Time < DefaultParams.Time || p.Threads < 1 ||
		p.SaltLen < 16 || p.KeyLen < 16 || p.MemoryKiB > 4<<20 || p.Time > 100 {
		return errors.New("session: argon2id parameters below m=19456 KiB, t=2, p=1 (or absurdly high)")
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id. It is immutable and
// safe for concurrent use.
type Hasher struct {
	p Params

	dummy string
}

// idKey is argon2.IDKey; tests count its calls.
var idKey = argon2.IDKey

// NewHasher returns a hasher with p (zero: [DefaultParams]).
func NewHasher(p Params) (*Hasher, error) {
	p = p.orDefault()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Hasher{p: p}
	// The dummy hash is made now, so that the first unknown account does
	// not take longer than the ones after it.
	dummy, err := h.Hash("gatehouse dummy password")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Params returns the hasher's parameters.
func (h *Hasher) Params() Params { return h.p }

// Hash returns a PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash
// (unpadded standard base64).
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", ErrTooLong
	}
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("session: random salt: %w", err)
	}
	key := idKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, h.p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against a PHC hash in constant time. It returns
// needsRehash when the hash was made with weaker parameters than the
// hasher's, so that a login can store a fresh hash.
func (h *Hasher) Verify(password, hash string) (needsRehash bool, err error) {
	if len(password) > MaxPasswordLength {
		return false, ErrTooLong
	}
	p, salt, want, err := decodePHC(hash)
	if err != nil {
		return false, err
	}
	got := idKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, ErrMismatch
	}
	return p.MemoryKiB < h.p.MemoryKiB || p.Time < h.p.Time || p.Threads < h.p.Threads || uint32(len(want)) < h.p.KeyLen, nil
}

// VerifyDummy does the work of a verification against a hash of the
// hasher's parameters and always fails, so that an unknown account costs
// the same time as a wrong password.
func (h *Hasher) VerifyDummy(password string) {
	if len(password) > MaxPasswordLength {
		password = password[:MaxPasswordLength]
	}
	_, _ = h.Verify(password, h.dummy)
}

// decodePHC parses $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func decodePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	if len(s) > 512 {
		return p, nil, nil, ErrHashFormat
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return p, nil, nil, ErrHashFormat
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrHashFormat
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrHashFormat
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrHashFormat
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, ErrHashFormat
		}
	}
	// Bound the work a stored hash can ask for.
	if p.MemoryKiB < 8 || p.MemoryKiB > 4<<20 || p.Time < 1 || p.Time > 100 || p.Threads < 1 {
		return p, nil, nil, ErrHashFormat
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrHashFormat
	}
	return p, salt, key, nil
}
