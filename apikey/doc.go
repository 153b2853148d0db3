// Package apikey generates, parses and verifies API keys.
//
// A key is the application's prefix followed by 36 base62 characters: 30
// from crypto/rand (about 178 bits) and 6 that encode the CRC32 of those 30.
// The checksum lets the server, and secret scanners, reject a mistyped or
// made-up key offline, before any store call. Only the key's digest (see
// store.Hasher) and its last 4 characters are stored.
//
//	format := apikey.MustFormat("cpx_live.")
//	key, rec, err := apikey.Issue(ctx, keys, format, hasher, apikey.Params{Name: "CI", Scopes: []string{"read"}})
//	// show key once; store only rec
//
// The [Authenticator] accepts "Authorization: Bearer <key>" for its prefix,
// checks the checksum, looks the digest up (through a store.KeyCache when it
// is given one), and refuses revoked and expired keys on every request,
// cached or not.
package apikey
