package jwtauth

import (
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// MaxLeeway is the largest clock-skew allowance [Config.Leeway] accepts.
const MaxLeeway = 2 * time.Minute

// Config holds the optional settings of an [Authenticator]. The zero value
// is usable and strict.
type Config struct {
	// Leeway is the clock skew tolerated when checking exp, nbf and iat; at
	// most [MaxLeeway]. Default 0.
	Leeway time.Duration
	// Type, when set, is the "typ" header every token must carry, compared
	// case-insensitively and with or without "application/" (RFC 9068
	// access tokens use "at+jwt"). Default: typ is not checked.
	Type string
	// TenantClaim names the claim holding the principal's tenant, for the
	// default Principal. Default: none (TenantID stays empty).
	TenantClaim string
	// Principal builds the principal of a verified token. Default
	// [DefaultPrincipal] with TenantClaim.
	Principal PrincipalFunc
	// Denylist, when set, is asked about every token, cached or not; see
	// [Denylist] for why it must be fast. Default: none.
	Denylist Denylist
	// CacheSize bounds the verified-token cache, in tokens. A cached token
	// costs a SHA-256 and an LRU lookup instead of a signature
	// verification; it is never served at or after its exp, nor after its
	// key is revoked. Negative disables the cache. Default 10,000.
	CacheSize int
	// MaxTokenLength is the longest token parsed, in bytes; longer ones
	// are refused before any parsing. At most
	// gatehouse.MaxCredentialLength. Default gatehouse.MaxCredentialLength
	// (8 KiB).
	MaxTokenLength int
	// ExcludePrefixes lists credential prefixes that Accepts leaves to
	// other authenticators (an API-key prefix such as "cpx_live."). API
	// keys never hold two dots, so this matters only for formats that
	// could; listing the API-key authenticator first in middleware.New
	// does the same. Default: none.
	ExcludePrefixes []string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		return c, errors.New("jwtauth: leeway must be between 0 and 2 minutes")
	}
	if c.MaxTokenLength < 0 || c.MaxTokenLength > gatehouse.MaxCredentialLength {
		return c, errors.New("jwtauth: MaxTokenLength must be between 0 and gatehouse.MaxCredentialLength")
	}
	if c.MaxTokenLength == 0 {
		c.MaxTokenLength = gatehouse.MaxCredentialLength
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Type = strings.TrimPrefix(strings.ToLower(c.Type), "application/")
	for _, p := range c.ExcludePrefixes {
		if p == "" {
			return c, errors.New("jwtauth: an excluded prefix must not be empty")
		}
	}
	c.ExcludePrefixes = append([]string(nil), c.ExcludePrefixes...)
	return c, nil
}

// typeOK reports whether the typ header v is want ("at+jwt"), compared
// case-insensitively and with or without "application/".
func typeOK(v any, want string) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if len(s) > len("application/") && strings.EqualFold(s[:len("application/")], "application/") {
		s = s[len("application/"):]
	}
	return strings.EqualFold(s, want)
}
