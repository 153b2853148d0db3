package apikey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	randomLen   = 30
	checksumLen = 6
	bodyLen     = randomLen + checksumLen
	// MaxPrefixLength is the longest prefix a [Format] accepts.
	MaxPrefixLength = 32
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Errors returned by [Format.Parse]. They never contain the key.
var (
	ErrPrefix   = errors.New("apikey: wrong prefix")
	ErrLength   = errors.New("apikey: wrong length")
	ErrCharset  = errors.New("apikey: character outside base62")
	ErrChecksum = errors.New("apikey: bad checksum")
)

// Format is an application's key format: its prefix. The zero Format is not
// usable; build one with [NewFormat].
type Format struct {
	prefix string
}

// NewFormat validates prefix: 2 to 32 characters of [A-Za-z0-9_.-], ending
// with one of "_.-" so that the boundary between prefix and body is
// unambiguous (for example "cpx_live.").
func NewFormat(prefix string) (Format, error) {
	if len(prefix) < 2 || len(prefix) > MaxPrefixLength {
		return Format{}, fmt.Errorf("apikey: prefix must be 2 to %d characters", MaxPrefixLength)
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !isBase62(c) && c != '_' && c != '.' && c != '-' {
			return Format{}, errors.New("apikey: prefix may hold only A-Z a-z 0-9 _ . -")
		}
	}
	if last := prefix[len(prefix)-1]; isBase62(last) {
		return Format{}, errors.New("apikey: prefix must end with _ . or -")
	}
	return Format{prefix: prefix}, nil
}

// MustFormat is [NewFormat] for a constant prefix; it panics on an error.
func MustFormat(prefix string) Format {
	f, err := NewFormat(prefix)
	if err != nil {
		panic(err)
	}
	return f
}

// Prefix returns the format's prefix.
func (f Format) Prefix() string { return f.prefix }

// Len returns the length of every key of this format.
func (f Format) Len() int { return len(f.prefix) + bodyLen }

// Generate returns a new key from crypto/rand.
func (f Format) Generate() (string, error) {
	if f.prefix == "" {
		return "", errors.New("apikey: zero Format")
	}
	out := make([]byte, len(f.prefix)+bodyLen)
	copy(out, f.prefix)
	body := out[len(f.prefix):]
	var buf [64]byte
	n := 0
	for n < randomLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("apikey: random: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every character
			// equally likely.
			if b >= 248 || n == randomLen {
				continue
			}
			body[n] = base62[b%62]
			n++
		}
	}
	putChecksum(body[randomLen:], crc32.ChecksumIEEE(body[:randomLen]))
	return string(out), nil
}

// Parse checks that key has the format's prefix, the right length, only
// base62 characters and a matching checksum. It does no I/O and does not
// allocate.
func (f Format) Parse(key string) error {
	if len(key) < len(f.prefix) || key[:len(f.prefix)] != f.prefix || f.prefix == "" {
		return ErrPrefix
	}
	body := key[len(f.prefix):]
	if len(body) != bodyLen {
		return ErrLength
	}
	for i := 0; i < bodyLen; i++ {
		if !isBase62(body[i]) {
			return ErrCharset
		}
	}
	var want [checksumLen]byte
	putChecksum(want[:], crc32IEEE(body[:randomLen]))
	if string(want[:]) != body[randomLen:] {
		return ErrChecksum
	}
	return nil
}

// shapeOK reports whether key has the prefix and the length of the format,
// the cheap part of Parse.
func (f Format) shapeOK(key string) bool {
	return f.prefix != "" && len(key) == len(f.prefix)+bodyLen && key[:len(f.prefix)] == f.prefix
}

// Last4 returns the last 4 characters of key, stored for display.
func Last4(key string) string {
	if len(key) < 4 {
		return key
	}
	return key[len(key)-4:]
}

// crc32IEEE computes the IEEE CRC32 of s, bytewise from the standard
// table, without converting s to a slice (which would allocate).
func crc32IEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// putChecksum writes v as 6 base62 digits, most significant first.
func putChecksum(dst []byte, v uint32) {
	x := uint64(v)
	for i := checksumLen - 1; i >= 0; i-- {
		dst[i] = base62[x%62]
		x /= 62
	}
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
