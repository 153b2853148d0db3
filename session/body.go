package session

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Body refusals, each mapped to a problem by the handlers.
var (
	errBodyMalformed    = errors.New("session: malformed body")
	errBodyUnknownField = errors.New("session: unknown field")
	errBodyMissing      = errors.New("session: missing field")
	errBodyInvalidText  = errors.New("session: field is not valid UTF-8 or holds control characters")
)

// maxEmail bounds the e-mail member, in bytes (RFC 5321's path limit).
const maxEmail = 320

// loginBody is the body of POST /login.
type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// passwordBody is the body of POST /password.
type passwordBody struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// decodeObject reads exactly one JSON object into dst from r, refusing
// unknown members and trailing data. r must already be size-capped.
func decodeObject(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return errBodyUnknownField
		}
		return errors.Join(errBodyMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBodyMalformed
	}
	return nil
}

// parseLogin decodes and checks a login body: both members present, the
// e-mail at most 320 bytes of printable UTF-8, the password valid UTF-8
// (its length is checked by the caller, which answers it apart).
func parseLogin(r io.Reader) (loginBody, error) {
	var b loginBody
	if err := decodeObject(r, &b); err != nil {
		return loginBody{}, err
	}
	if b.Email == "" || b.Password == "" {
		return loginBody{}, errBodyMissing
	}
	if len(b.Email) > maxEmail || !printable(b.Email) || !utf8.ValidString(b.Password) {
		return loginBody{}, errBodyInvalidText
	}
	return b, nil
}

// parsePassword decodes a password change body.
func parsePassword(r io.Reader) (passwordBody, error) {
	var b passwordBody
	if err := decodeObject(r, &b); err != nil {
		return passwordBody{}, err
	}
	if b.Current == "" || b.New == "" {
		return passwordBody{}, errBodyMissing
	}
	if !utf8.ValidString(b.Current) || !utf8.ValidString(b.New) {
		return passwordBody{}, errBodyInvalidText
	}
	return b, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
