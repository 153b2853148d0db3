package gatehouse

import "context"

// Source says where a [Credential] was found.
type Source uint8

// Where credentials are read from. Gatehouse never reads credentials from the
// query string or a form body.
const (
	// SourceHeader is the Authorization request header.
	SourceHeader Source = iota + 1
	// SourceCookie is the session cookie.
	SourceCookie
	// SourceMessage is a token handed over outside HTTP, for example by a
	// worker that received it in a queue message.
	SourceMessage
)

// Scheme names as they are canonicalised by the middleware: the
// Authorization scheme is matched case-insensitively and stored in this form.
const (
	SchemeBearer = "Bearer"
	SchemeBasic  = "Basic"
)

// MaxCredentialLength is the largest credential, in bytes, that Gatehouse
// parses. Longer values are refused before any parsing or store call.
const MaxCredentialLength = 8 << 10

// Credential is one credential extracted from a request.
type Credential struct {
	// Source is where the credential was found.
	Source Source
	// Scheme is the canonical Authorization scheme (SchemeBearer,
	// SchemeBasic, or the scheme as sent when it is another one); empty for
	// cookies.
	Scheme string
	// Value is the token, the base64 Basic credentials or the cookie value.
	// It is a secret: never log it or write it to a response.
	Value string
}

// Authenticator verifies one kind of credential.
//
// Accepts must be cheap and must not do I/O: it looks only at the shape of
// the credential (a prefix, a checksum, a segment count) so that the
// middleware can dispatch to the first authenticator that claims it.
// Authenticate does the verification and returns a shared, immutable
// [*Principal], or an error wrapping one of this package's sentinel errors:
// [ErrInvalidToken] for a credential that is not valid,
// [ErrUnavailable] when a backend it needs cannot answer (the middleware
// then fails closed with 503).
//
// Implementations must be safe for concurrent use.
type Authenticator interface {
	Accepts(c Credential) bool
	Authenticate(ctx context.Context, c Credential) (*Principal, error)
}
