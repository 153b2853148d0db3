package jwtauth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// segmentEncoding is the encoding golang-jwt decodes segments with, given
// WithStrictDecoding and no WithPaddingAllowed.
var segmentEncoding = base64.RawURLEncoding.Strict()

// stackSegment is the largest decoded segment textOK checks in a buffer on
// the stack; a larger one (rare: claims over 1 KiB) costs an allocation.
const stackSegment = 1024

// textOK reports whether the header and claims of the compact token are
// JSON text that encoding/json reads without changing it: valid UTF-8
// (RFC 7515 section 5.2, RFC 7519 section 7.2) and no \u escape of a lone
// surrogate. encoding/json reads each invalid sequence and each lone
// surrogate as U+FFFD, so that two different signed subjects could become
// one principal. A segment that is not base64url is refused too (golang-jwt
// would refuse it as well).
//
// It decodes the two segments a second time, beside golang-jwt, which
// keeps no decoded bytes: a first-seen token pays for it (a few hundred
// nanoseconds for a usual token), a cached one never does.
func textOK(token string) bool {
	var buf [stackSegment]byte
	header, rest, _ := strings.Cut(token, ".")
	claims, _, _ := strings.Cut(rest, ".")
	return segmentTextOK(header, &buf) && segmentTextOK(claims, &buf)
}

func segmentTextOK(seg string, buf *[stackSegment]byte) bool {
	dst := buf[:]
	if n := segmentEncoding.DecodedLen(len(seg)); n > len(dst) {
		dst = make([]byte, n)
	}
	n, err := segmentEncoding.Decode(dst, []byte(seg))
	if err != nil {
		return false
	}
	b := dst[:n]
	return utf8.Valid(b) && !loneSurrogate(b)
}

// loneSurrogate reports whether the JSON text b holds a \u escape of a
// surrogate (U+D800 to U+DFFF) other than a high one directly followed by
// an escaped low one, the only use of surrogates that JSON strings have
// (RFC 8259 section 7).
func loneSurrogate(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 || i+1 >= len(b) {
			return false
		}
		b = b[i+1:] // the escaped character: skipping it skips "\\" whole
		r, ok := escapedRune(b)
		if !ok {
			b = b[1:]
			continue
		}
		b = b[5:]
		switch {
		case r < 0xd800 || r > 0xdfff:
			continue
		case r >= 0xdc00:
			return true // a low surrogate first
		}
		if len(b) < 6 || b[0] != '\\' {
			return true
		}
		if r, ok = escapedRune(b[1:]); !ok || r < 0xdc00 || r > 0xdfff {
			return true
		}
		b = b[6:]
	}
}

// escapedRune reads "uXXXX" at the start of b.
func escapedRune(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[1:5] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
