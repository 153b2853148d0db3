package middleware_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

// badInputKeys are the keys a bad-input row may build its header from.
type badInputKeys struct {
	valid    string // never expires, not revoked
	expiring string // expires at the fixture's expiry instant
	revoked  string
	foreign  string // well formed, valid checksum, of another application's prefix
	unknown  string // well formed, valid checksum, never issued
}

// TestBadInputs drives SECURITY.md's bad inputs for headers and API keys
// through the middleware, an API-key authenticator and its cache. Every
// refusal is problem+json, echoes no part of any key, and only rows whose
// key is well formed with a valid checksum reach the store.
func TestBadInputs(t *testing.T) {
	const expiresIn = time.Hour
	dots := "Bearer " + strings.Repeat(".", 100_000)
	huge := "Bearer " + strings.Repeat("A", 1<<20)
	exactly := "Bearer " + strings.Repeat("a", gatehouse.MaxCredentialLength)
	overBy1 := "Bearer " + strings.Repeat("a", gatehouse.MaxCredentialLength+1)

	tests := []struct {
		name   string
		header func(k badInputKeys) []string // nil: no header
		// at moves the clock to the expiry instant plus at before the
		// request; zero leaves it an hour before expiry.
		at         time.Duration
		atExpiry   bool
		status     int
		code       string // "" for 200
		storeCalls int64
	}{
		// Headers.
		{name: "no header", status: 401, code: "unauthenticated"},
		{name: "empty header", header: raw(""), status: 400, code: "invalid_request"},
		{name: "spaces only", header: raw("   "), status: 400, code: "invalid_request"},
		{name: "tab only", header: raw("\t"), status: 400, code: "invalid_request"},
		{name: "Bearer alone", header: raw("Bearer"), status: 400, code: "invalid_request"},
		{name: "Bearer and a space", header: raw("Bearer "), status: 400, code: "invalid_request"},
		{name: "Bearer and spaces", header: raw("Bearer     "), status: 400, code: "invalid_request"},
		{name: "Bearer and a tab", header: raw("Bearer \t"), status: 400, code: "invalid_request"},
		{name: "leading space", header: func(k badInputKeys) []string { return []string{" Bearer " + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "tab after scheme", header: func(k badInputKeys) []string { return []string{"Bearer\t" + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "no space after scheme", header: func(k badInputKeys) []string { return []string{"Bearer" + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "colon after scheme", header: func(k badInputKeys) []string { return []string{"Bearer:" + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "extra spaces after scheme", header: func(k badInputKeys) []string { return []string{"Bearer    " + k.valid} },
			status: 200, storeCalls: 1},
		{name: "trailing spaces", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + "  "} },
			status: 200, storeCalls: 1},
		{name: "lower-case scheme", header: func(k badInputKeys) []string { return []string{"bearer " + k.valid} },
			status: 200, storeCalls: 1},
		{name: "upper-case scheme", header: func(k badInputKeys) []string { return []string{"BEARER " + k.valid} },
			status: 200, storeCalls: 1},
		{name: "mixed-case scheme", header: func(k badInputKeys) []string { return []string{"bEaReR " + k.valid} },
			status: 200, storeCalls: 1},
		// A scheme no authenticator takes: 401 with a challenge that has
		// no error code (RFC 6750 section 3.1), whatever the credential.
		{name: "wrong scheme Token", header: func(k badInputKeys) []string { return []string{"Token " + k.valid} },
			status: 401, code: "unauthenticated"},
		{name: "wrong scheme Basic", header: func(k badInputKeys) []string { return []string{"Basic " + k.valid} },
			status: 401, code: "unauthenticated"},
		{name: "wrong scheme basic, lower case", header: raw("basic dXNlcjpwYXNz"), status: 401, code: "unauthenticated"},
		{name: "scheme Bearers", header: func(k badInputKeys) []string { return []string{"Bearers " + k.valid} },
			status: 401, code: "unauthenticated"},
		{name: "wrong scheme with auth-params", header: raw(`Digest username="alice", realm="api", nonce="abc"`),
			status: 401, code: "unauthenticated"},
		{name: "wrong scheme, bytes no credential has", header: raw("Token a\x00b"), status: 401, code: "unauthenticated"},
		// A Bearer credential that no authenticator takes is a bad token.
		{name: "Bearer of no known shape", header: raw("Bearer abcdefghijklmnop"), status: 401, code: "invalid_token"},
		{name: "two headers, both valid", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid, "Bearer " + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "two headers, one empty", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid, ""} },
			status: 400, code: "invalid_request"},
		{name: "two credentials in one header", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + ", Bearer " + k.valid} },
			status: 401, code: "invalid_token"},
		{name: "1 MB header", header: raw(huge), status: 401, code: "invalid_token"},
		{name: "Bearer and 100,000 dots", header: raw(dots), status: 401, code: "invalid_token"},
		{name: "8 KiB credential", header: raw(exactly), status: 401, code: "invalid_token"},
		{name: "8 KiB + 1 credential", header: raw(overBy1), status: 401, code: "invalid_token"},
		{name: "key padded past 8 KiB", header: func(k badInputKeys) []string {
			return []string{"Bearer " + k.valid + strings.Repeat("0", gatehouse.MaxCredentialLength)}
		}, status: 401, code: "invalid_token"},

		// Control characters and non-ASCII bytes.
		{name: "trailing LF", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + "\n"} },
			status: 401, code: "invalid_token"},
		{name: "trailing CRLF", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + "\r\n"} },
			status: 401, code: "invalid_token"},
		{name: "CR inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, "\r")} },
			status: 401, code: "invalid_token"},
		{name: "LF inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, "\n")} },
			status: 401, code: "invalid_token"},
		{name: "NUL inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, "\x00")} },
			status: 401, code: "invalid_token"},
		{name: "trailing NUL", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + "\x00"} },
			status: 401, code: "invalid_token"},
		{name: "DEL inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, "\x7f")} },
			status: 401, code: "invalid_token"},
		{name: "NUL in scheme", header: func(k badInputKeys) []string { return []string{"Bea\x00rer " + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "non-ASCII in key", header: func(k badInputKeys) []string { return []string{"Bearer " + replace(k.valid, 12, "é")} },
			status: 401, code: "invalid_token"},
		{name: "byte 0xff in key", header: func(k badInputKeys) []string { return []string{"Bearer " + replace(k.valid, 12, "\xff")} },
			status: 401, code: "invalid_token"},
		{name: "non-ASCII in scheme", header: func(k badInputKeys) []string { return []string{"Bëarer " + k.valid} },
			status: 400, code: "invalid_request"},
		{name: "no-break space after scheme", header: func(k badInputKeys) []string { return []string{"Bearer\u00a0" + k.valid} },
			status: 400, code: "invalid_request"},

		// token68 violations.
		{name: "only padding", header: raw("Bearer ==="), status: 401, code: "invalid_token"},
		{name: "leading padding", header: func(k badInputKeys) []string { return []string{"Bearer =" + k.valid} },
			status: 401, code: "invalid_token"},
		{name: "padding inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, "=")} },
			status: 401, code: "invalid_token"},
		{name: "trailing padding", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + "="} },
			status: 401, code: "invalid_token"},
		{name: "quoted", header: func(k badInputKeys) []string { return []string{`Bearer "` + k.valid + `"`} },
			status: 401, code: "invalid_token"},
		{name: "semicolon", header: func(k badInputKeys) []string { return []string{"Bearer " + k.valid + ";"} },
			status: 401, code: "invalid_token"},
		{name: "backslash", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, `\`)} },
			status: 401, code: "invalid_token"},
		{name: "space inside", header: func(k badInputKeys) []string { return []string{"Bearer " + insert(k.valid, 12, " ")} },
			status: 401, code: "invalid_token"},

		// API keys.
		{name: "valid key", header: bearerOf(func(k badInputKeys) string { return k.valid }), status: 200, storeCalls: 1},
		{name: "bad checksum", header: bearerOf(func(k badInputKeys) string { return badChecksum(k.valid) }),
			status: 401, code: "invalid_token"},
		{name: "typo in random part", header: bearerOf(func(k badInputKeys) string { return flipAt(k.valid, len(testPrefix)+5) }),
			status: 401, code: "invalid_token"},
		{name: "swapped case", header: bearerOf(func(k badInputKeys) string { return testPrefix + swapCase(k.valid[len(testPrefix):]) }),
			status: 401, code: "invalid_token"},
		{name: "wrong prefix", header: bearerOf(func(k badInputKeys) string { return "cpx_test." + k.valid[len(testPrefix):] }),
			status: 401, code: "invalid_token"},
		{name: "upper-case prefix", header: bearerOf(func(k badInputKeys) string { return strings.ToUpper(testPrefix) + k.valid[len(testPrefix):] }),
			status: 401, code: "invalid_token"},
		{name: "no prefix", header: bearerOf(func(k badInputKeys) string { return k.valid[len(testPrefix):] }),
			status: 401, code: "invalid_token"},
		{name: "prefix only", header: bearerOf(func(badInputKeys) string { return testPrefix }),
			status: 401, code: "invalid_token"},
		{name: "truncated by one", header: bearerOf(func(k badInputKeys) string { return k.valid[:len(k.valid)-1] }),
			status: 401, code: "invalid_token"},
		{name: "truncated to half", header: bearerOf(func(k badInputKeys) string { return k.valid[:len(k.valid)/2] }),
			status: 401, code: "invalid_token"},
		{name: "extended by one", header: bearerOf(func(k badInputKeys) string { return k.valid + "0" }),
			status: 401, code: "invalid_token"},
		{name: "doubled", header: bearerOf(func(k badInputKeys) string { return k.valid + k.valid }),
			status: 401, code: "invalid_token"},
		{name: "key of another application", header: bearerOf(func(k badInputKeys) string { return k.foreign }),
			status: 401, code: "invalid_token"},
		{name: "unknown key", header: bearerOf(func(k badInputKeys) string { return k.unknown }),
			status: 401, code: "invalid_token", storeCalls: 1},
		{name: "revoked key", header: bearerOf(func(k badInputKeys) string { return k.revoked }),
			status: 401, code: "invalid_token", storeCalls: 1},
		{name: "expiring key well before expiry", header: bearerOf(func(k badInputKeys) string { return k.expiring }),
			status: 200, storeCalls: 1},
		{name: "expired key 1s before expiry", header: bearerOf(func(k badInputKeys) string { return k.expiring }),
			atExpiry: true, at: -time.Second, status: 200, storeCalls: 1},
		{name: "expired key 1ns before expiry", header: bearerOf(func(k badInputKeys) string { return k.expiring }),
			atExpiry: true, at: -time.Nanosecond, status: 200, storeCalls: 1},
		{name: "expired key at expiry", header: bearerOf(func(k badInputKeys) string { return k.expiring }),
			atExpiry: true, status: 401, code: "invalid_token", storeCalls: 1},
		{name: "expired key 1s after expiry", header: bearerOf(func(k badInputKeys) string { return k.expiring }),
			atExpiry: true, at: time.Second, status: 401, code: "invalid_token", storeCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			expiry := f.clock.Now().Add(expiresIn)
			var k badInputKeys
			k.valid, _ = f.issue(t, apikey.Params{Scopes: []string{"read"}})
			k.expiring, _ = f.issue(t, apikey.Params{Scopes: []string{"read"}, ExpiresAt: expiry})
			var revoked *store.Key
			k.revoked, revoked = f.issue(t, apikey.Params{Scopes: []string{"read"}})
			f.revoke(t, revoked.ID)
			var err error
			k.foreign, err = apikey.MustFormat("ghp_").Generate()
			require.NoError(t, err)
			k.unknown, err = testFormat.Generate()
			require.NoError(t, err)
			if tt.atExpiry {
				f.clock.Set(expiry.Add(tt.at))
			}

			var header []string
			if tt.header != nil {
				header = tt.header(k)
			}
			w := get(f.mw.Handler(f.mw.MustRequireScopes("read")(echo)), authz(header...))

			if tt.code == "" {
				require.Equal(t, tt.status, w.Code, "body %s", w.Body.String())
				assert.Equal(t, "hello usr_alice", w.Body.String())
			} else {
				requireProblem(t, w, tt.status, tt.code)
				if tt.status == http.StatusUnauthorized {
					c := bearerChallenge(t, w)
					assert.NotEmpty(t, c.Params["realm"])
					if tt.code == "unauthenticated" {
						assert.Equal(t, map[string]string{"realm": "api"}, c.Params, "no error code")
					} else {
						assert.Equal(t, tt.code, c.Params["error"])
					}
				}
			}
			assert.Equal(t, tt.storeCalls, f.probe.calls.Load(), "store calls")
			for _, key := range []string{k.valid, k.expiring, k.revoked, k.foreign, k.unknown} {
				// Neither the key nor a long piece of it is echoed.
				assertNoLeak(t, w, key, key[len(key)-20:], key[len(key)-36:len(key)-16])
			}
			for _, h := range header {
				// What follows the scheme, when it is long enough not to
				// occur in a fixed sentence by chance.
				if _, v, _ := strings.Cut(h, " "); len(strings.TrimSpace(v)) >= 12 {
					assertNoLeak(t, w, strings.TrimSpace(v))
				}
			}
		})
	}
}

// TestAnotherTenant checks the other-tenant row of SECURITY.md: the key
// authenticates (keys are not bound to a route's tenant), and the
// principal carries the key's tenant so that the handler can refuse
// through the middleware's error handler.
func TestAnotherTenant(t *testing.T) {
	f := newFixture(t)
	own, _ := f.issue(t, apikey.Params{TenantID: "org_1", Scopes: []string{"read"}})
	other, _ := f.issue(t, apikey.Params{TenantID: "org_2", Scopes: []string{"read"}})
	h := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := gatehouse.FromContext(r.Context())
		if p.TenantID != r.PathValue("org") {
			f.mw.Error(w, r, gatehouse.ErrForbidden)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/projects", h)

	for _, tt := range []struct {
		name, key string
		status    int
	}{
		{name: "own tenant", key: own, status: 200},
		{name: "another tenant", key: other, status: 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := get(mux, func(r *http.Request) {
				r.URL.Path = "/orgs/org_1/projects"
				r.Header.Set("Authorization", "Bearer "+tt.key)
			})
			if tt.status == 200 {
				require.Equal(t, 200, w.Code)
				return
			}
			requireProblem(t, w, tt.status, "forbidden")
			assert.Empty(t, w.Header().Values("WWW-Authenticate"))
			assertNoLeak(t, w, tt.key)
		})
	}
}

func raw(v string) func(badInputKeys) []string {
	return func(badInputKeys) []string { return []string{v} }
}

func bearerOf(key func(badInputKeys) string) func(badInputKeys) []string {
	return func(k badInputKeys) []string { return []string{"Bearer " + key(k)} }
}

func insert(s string, i int, x string) string  { return s[:i] + x + s[i:] }
func replace(s string, i int, x string) string { return s[:i] + x + s[i+1:] }

// flipAt changes the character at i of s to another base62 character.
func flipAt(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
