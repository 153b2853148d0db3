package middleware

import (
	"net/http"
	"strings"

	"github.com/gatehouse-go/gatehouse"
)

// Refusals the extractor returns. They are shared values: the request path
// does not allocate to refuse.
var (
	errNoCredentials = &gatehouse.Error{Err: gatehouse.ErrNoCredentials, Reason: gatehouse.ReasonMissing,
		Detail: "Authentication required: send a credential in the Authorization header"}
	errTwoHeaders = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "Send exactly one Authorization header"}
	errNoScheme = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The Authorization header must be a scheme and a credential, as in Bearer <token>"}
	errEmptyCredential = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The Authorization header has a scheme but no credential"}
	errQueryToken = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "Credentials are not accepted in the query string: send them in the Authorization header"}
	errTwoPlaces = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "Send one credential, in one header: the request carries credentials in more than one place"}
	errEmptyKeyHeader = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The API key header is empty"}
	errTwoCookies = &gatehouse.Error{Err: gatehouse.ErrInvalidRequest, Reason: gatehouse.ReasonMalformed,
		Detail: "The session cookie was sent more than once"}
	errTooLong = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonTooLong,
		Detail: "The credential is too long"}
	errBadChars = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonMalformed,
		Detail: "The credential holds characters that no valid credential has"}
	errNotAccepted = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnsupported,
		Detail: "The credential is not of a kind this service accepts"}
	errCrossOrigin = &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonMalformed,
		Detail: "Cross-origin request refused: a cookie-authenticated request must come from this site"}
)

// maxHeader is the longest Authorization value looked at: the longest
// credential plus room for the scheme and spaces.
const maxHeader = gatehouse.MaxCredentialLength + 64

// extract returns the one credential r carries. The Authorization header
// wins over the session cookie; the query string is never read, except to
// refuse a request that puts an access_token there.
func (m *Middleware) extract(r *http.Request) (gatehouse.Credential, error) {
	if r.URL != nil && r.URL.RawQuery != "" && hasAccessTokenParam(r.URL.RawQuery) {
		return gatehouse.Credential{}, errQueryToken
	}
	vals := r.Header["Authorization"]
	if len(m.keyHeaders) > 0 {
		if c, ok, err := m.keyHeader(r.Header, len(vals) > 0); ok || err != nil {
			return c, err
		}
	}
	switch len(vals) {
	case 0:
	case 1:
		return splitAuthorization(vals[0])
	default:
		return gatehouse.Credential{}, errTwoHeaders
	}
	for _, name := range m.cookies {
		v, n := cookieValue(r.Header["Cookie"], name)
		switch {
		case n > 1:
			return gatehouse.Credential{}, errTwoCookies
		case n == 1 && v != "":
			if len(v) > gatehouse.MaxCredentialLength {
				return gatehouse.Credential{}, errTooLong
			}
			return gatehouse.Credential{Source: gatehouse.SourceCookie, Value: v}, nil
		}
	}
	return gatehouse.Credential{}, errNoCredentials
}

// keyHeader returns the credential of the one configured key header the
// request carries (ok), or a 400 when a credential is in two places.
func (m *Middleware) keyHeader(h http.Header, authorization bool) (c gatehouse.Credential, ok bool, err error) {
	for _, name := range m.keyHeaders {
		vals := h[name]
		if len(vals) == 0 {
			continue
		}
		if ok || authorization || len(vals) > 1 {
			return gatehouse.Credential{}, false, errTwoPlaces
		}
		v := trimRightOWS(trimLeftOWS(vals[0]))
		switch {
		case v == "":
			return gatehouse.Credential{}, false, errEmptyKeyHeader
		case len(v) > gatehouse.MaxCredentialLength:
			return gatehouse.Credential{}, false, errTooLong
		}
		c, ok = gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: gatehouse.SchemeBearer, Value: v}, true
	}
	return c, ok, nil
}

// ParseAuthorization parses one Authorization header value into a
// credential. The scheme is matched case-insensitively (Bearer and Basic are
// returned in canonical case); one or more spaces may follow it. The
// credential must be a token68 (RFC 9110 section 11.4) of at most
// [gatehouse.MaxCredentialLength] bytes. It does not allocate.
func ParseAuthorization(v string) (gatehouse.Credential, error) {
	c, err := splitAuthorization(v)
	if err == nil && !isToken68(c.Value) {
		return gatehouse.Credential{}, errBadChars
	}
	return c, err
}

// splitAuthorization is ParseAuthorization without the token68 check,
// which the middleware makes itself where it is needed (see
// [StrictSyntax]).
func splitAuthorization(v string) (gatehouse.Credential, error) {
	if len(v) > maxHeader {
		return gatehouse.Credential{}, errTooLong
	}
	var scheme, rest string
	if len(v) > len(bearerSP) && v[:len(bearerSP)] == bearerSP {
		// The usual spelling: the scheme needs no further check.
		scheme, rest = gatehouse.SchemeBearer, v[len(bearerSP):]
	} else {
		sp := strings.IndexByte(v, ' ')
		scheme, rest = v, ""
		if sp >= 0 {
			scheme, rest = v[:sp], v[sp+1:]
		}
		if scheme == "" || !isToken(scheme) {
			return gatehouse.Credential{}, errNoScheme
		}
		if sp < 0 {
			return gatehouse.Credential{}, errEmptyCredential
		}
		switch {
		case strings.EqualFold(scheme, gatehouse.SchemeBearer):
			scheme = gatehouse.SchemeBearer
		case strings.EqualFold(scheme, gatehouse.SchemeBasic):
			scheme = gatehouse.SchemeBasic
		}
	}
	// Spaces after the scheme, spaces and tabs at the end (hand-written:
	// strings.Trim* with a cutset is slower on this path).
	for rest != "" && rest[0] == ' ' {
		rest = rest[1:]
	}
	rest = trimRightOWS(rest)
	if rest == "" {
		return gatehouse.Credential{}, errEmptyCredential
	}
	if len(rest) > gatehouse.MaxCredentialLength {
		return gatehouse.Credential{}, errTooLong
	}
	return gatehouse.Credential{Source: gatehouse.SourceHeader, Scheme: scheme, Value: rest}, nil
}

const bearerSP = gatehouse.SchemeBearer + " "

// trimLeftOWS and trimRightOWS trim spaces and tabs (RFC 9110 OWS) at
// one end of s. They are written by hand: strings.Trim* with a cutset is
// slower on the request path.
func trimLeftOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimRightOWS(s string) string {
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// notToken68 is 1 for every byte that is not a token68 character (ALPHA /
// DIGIT / "-" / "." / "_" / "~" / "+" / "/").
var notToken68 = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
		if !ok {
			t[i] = 1
		}
	}
	return t
}()

// isToken68 reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
// / "+" / "/" ) *"=". The padding is trimmed first; the rest is checked
// without a branch per byte (this runs on every request).
func isToken68(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	var bad uint8
	i := 0
	for ; i+8 <= n; i += 8 {
		c := s[i : i+8]
		bad |= notToken68[c[0]] | notToken68[c[1]] | notToken68[c[2]] | notToken68[c[3]] |
			notToken68[c[4]] | notToken68[c[5]] | notToken68[c[6]] | notToken68[c[7]]
	}
	for ; i < n; i++ {
		bad |= notToken68[s[i]]
	}
	return bad == 0
}

// isToken reports whether s is an RFC 9110 token (a scheme name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

// cookieValue scans Cookie header lines for name without allocating. It
// returns the value and how many times the name occurred. Pairs are
// separated by ";" and optional spaces or tabs (RFC 6265 section 5.4); the
// name must be followed at once by "="; a value in double quotes is
// unquoted. It runs on every cookie-authenticated request, so it compares
// the name in place rather than splitting each pair.
func cookieValue(lines []string, name string) (string, int) {
	var val string
	n := 0
	for _, line := range lines {
		for line != "" {
			part := line
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				line = ""
			}
			part = trimLeftOWS(part)
			if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
				continue
			}
			v := trimRightOWS(part[len(name)+1:])
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			val = v
			n++
		}
	}
	return val, n
}

// hasAccessTokenParam reports whether the raw query has an access_token
// parameter (RFC 6750 section 2.3), which Gatehouse refuses to read. A
// percent-encoded name counts, as url.ParseQuery decodes it. It does not
// allocate.
func hasAccessTokenParam(q string) bool {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(kv, "=")
		if k == accessToken || strings.IndexByte(k, '%') >= 0 && unescapesTo(k, accessToken) {
			return true
		}
	}
	return false
}

const accessToken = "access_token"

// unescapesTo reports whether the query component s, percent-decoded, is
// want. A malformed escape never matches (url.ParseQuery drops the pair).
func unescapesTo(s, want string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return false
			}
			c = hi<<4 | lo
			i += 2
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func validCookieName(name string) bool {
	return name != "" && isToken(name)
}
