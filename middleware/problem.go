package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse"
)

// Problem is an RFC 9457 problem details body as Gatehouse writes it. Code
// is a stable machine-readable code (see [ProblemWriter]); Errors carries
// field-level validation errors where a handler has them.
type Problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Code   string            `json:"code"`
	Errors map[string]string `json:"errors,omitempty"`
}

// ProblemConfig configures a [ProblemWriter]. The zero value is usable.
type ProblemConfig struct {
	// Realm is the challenge realm. Default "api".
	Realm string
	// TypeBase, when set, makes each problem's type TypeBase + code (for
	// example "https://example.com/problems/" gives
	// "https://example.com/problems/invalid_token"). Default: every type is
	// "about:blank" and the title is the HTTP status phrase.
	TypeBase string
	// ExtraChallenges are offered beside the Bearer challenge on 401
	// responses, for example a Basic challenge. They must hold only safe
	// header characters.
	ExtraChallenges []string
	// ResourceMetadata, when set, is the URL of the protected resource's
	// metadata document (RFC 9728, see [NewResourceMetadata]); every Bearer
	// challenge (401, and the 400 and 403 that carry one) carries it as resource_metadata="...". It
	// must be an absolute https URL (http only on a loopback host), without
	// fragment, query or user info, of safe header characters, as
	// NewResourceMetadata returns. Default none.
	ResourceMetadata string
}

// ProblemWriter is the default error handler: it maps the gatehouse
// sentinels to statuses, challenges and problem+json bodies.
//
//	error                     status  code                WWW-Authenticate
//	ErrNoCredentials          401     unauthenticated     Bearer realm="api"
//	  (ErrUnsupportedScheme)  401     unauthenticated     Bearer realm="api"
//	ErrInvalidRequest         400     invalid_request     Bearer realm="api", error="invalid_request"
//	ErrInvalidToken           401     invalid_token       Bearer realm="api", error="invalid_token"
//	ErrInsufficientScope      403     insufficient_scope  Bearer realm="api", error="insufficient_scope", scope="..."
//	ErrForbidden              403     forbidden           (none)
//	ErrCreditsExhausted       429     credits_exhausted   (none); Retry-After until the refill, if any
//	ErrRateLimited            429     rate_limited        (none); Retry-After
//	ErrUnavailable, other     503     unavailable         (none)
//
// A credential in a scheme no authenticator takes ([ErrUnsupportedScheme],
// which wraps ErrNoCredentials) gets the answer to no credentials, as RFC
// 6750 section 3.1 asks for an unsupported authentication method: no error
// attribute; its detail names the schemes accepted.
//
// The detail member is the fixed sentence carried by a [*gatehouse.Error]
// or a default per status; never an internal error string or the
// credential. A ProblemWriter is immutable and safe for concurrent use.
type ProblemWriter struct {
	typeBase string
	extra    []string
	// challenge is the Bearer challenge without an error attribute: the
	// realm and, when configured, resource_metadata; bearer builds on it.
	challenge string
}

// NewProblemWriter validates cfg and returns a writer.
func NewProblemWriter(cfg ProblemConfig) (*ProblemWriter, error) {
	if cfg.Realm == "" {
		cfg.Realm = "api"
	}
	if !safeHeaderText(cfg.Realm) {
		return nil, errors.New("middleware: realm holds characters not allowed in a header")
	}
	for _, c := range cfg.ExtraChallenges {
		if !safeHeaderText(strings.ReplaceAll(c, `"`, "")) {
			return nil, errors.New("middleware: a challenge holds characters not allowed in a header")
		}
	}
	challenge := `Bearer realm="` + cfg.Realm + `"`
	if cfg.ResourceMetadata != "" {
		// The URL is checked as NewResourceMetadata checks the resource
		// it derives it from.
		if _, err := resourceURL(cfg.ResourceMetadata); err != nil || !safeHeaderText(cfg.ResourceMetadata) {
			return nil, errors.New("middleware: ResourceMetadata must be an absolute https URL (http only on a loopback host), " +
				"without fragment, query or user info, of safe header characters")
		}
		challenge += `, resource_metadata="` + cfg.ResourceMetadata + `"`
	}
	return &ProblemWriter{typeBase: cfg.TypeBase, extra: cfg.ExtraChallenges, challenge: challenge}, nil
}

// Default details, one per code.
const (
	detailNoCredentials = "Authentication required: send a credential in the Authorization header"
	detailInvalidReq    = "The request's credentials are malformed"
	detailInvalidToken  = "Invalid or expired credentials"
	detailForbidden     = "You are not allowed to do this"
	detailUnavailable   = "Authentication is temporarily unavailable; retry later"
)

// Classify returns the status and code an error maps to.
func Classify(err error) (status int, code string) {
	switch {
	case errors.Is(err, gatehouse.ErrInvalidRequest):
		return http.StatusBadRequest, "invalid_request"
	case errors.Is(err, gatehouse.ErrNoCredentials):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, gatehouse.ErrInvalidToken):
		return http.StatusUnauthorized, "invalid_token"
	case errors.Is(err, gatehouse.ErrInsufficientScope):
		return http.StatusForbidden, "insufficient_scope"
	case errors.Is(err, gatehouse.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, gatehouse.ErrCreditsExhausted):
		return http.StatusTooManyRequests, "credits_exhausted"
	case errors.Is(err, gatehouse.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	default:
		return http.StatusServiceUnavailable, "unavailable"
	}
}

// WriteError is an [ErrorHandler].
func (pw *ProblemWriter) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := Classify(err)
	detail := ""
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge != nil && ge.Detail != "" {
		detail = ge.Detail
	}
	h := w.Header()
	switch code {
	case "unauthenticated":
		h["Www-Authenticate"] = append([]string{pw.challenge}, pw.extra...)
		if detail == "" {
			detail = detailNoCredentials
		}
	case "invalid_request":
		if detail == "" {
			detail = detailInvalidReq
		}
		h.Set("WWW-Authenticate", pw.bearer("invalid_request", detail, ""))
	case "invalid_token":
		if detail == "" {
			detail = detailInvalidToken
		}
		h["Www-Authenticate"] = append([]string{pw.bearer("invalid_token", detail, "")}, pw.extra...)
	case "insufficient_scope":
		var se *gatehouse.ScopeError
		scope := ""
		if errors.As(err, &se) {
			scope = strings.Join(se.Required, " ")
		}
		if !safeHeaderText(scope) {
			scope = ""
		}
		if detail == "" {
			detail = "The credential lacks a required scope"
			if scope != "" {
				if se.Any {
					detail += ": one of " + scope
				} else {
					detail += ": " + scope
				}
			}
		}
		h.Set("WWW-Authenticate", pw.bearer("insufficient_scope", "", scope))
	case "forbidden":
		if detail == "" {
			detail = detailForbidden
		}
	case "credits_exhausted":
		var ce *gatehouse.CreditsError
		errors.As(err, &ce)
		if ce != nil && !ce.RefillAt.IsZero() {
			h.Set("Retry-After", strconv.FormatInt(max(1, int64((ce.RetryAfter+time.Second-1)/time.Second)), 10))
		}
		h.Set(HeaderCreditsRemaining, "0")
	case "rate_limited":
		var rl *gatehouse.RateLimitError
		secs := int64(1)
		if errors.As(err, &rl) {
			secs = max(1, int64((rl.RetryAfter+time.Second-1)/time.Second))
			if rl.Detail != "" {
				detail = rl.Detail
			}
		}
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		if detail == "" {
			if secs == 1 {
				detail = "Too many requests: retry after 1 second"
			} else {
				detail = "Too many requests: retry after " + strconv.FormatInt(secs, 10) + " seconds"
			}
		}
	default:
		if detail == "" || !errors.Is(err, gatehouse.ErrUnavailable) {
			detail = detailUnavailable
		}
	}
	WriteProblem(w, Problem{Type: pw.problemType(code), Title: pw.title(status, code), Status: status, Detail: detail, Code: code})
}

// WriteProblem writes p as application/problem+json with p.Status, and
// headers that keep it out of caches.
func WriteProblem(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil { // cannot happen for this type; never send a 200
		body = []byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Authentication is temporarily unavailable; retry later","code":"unavailable"}`)
		p.Status = http.StatusServiceUnavailable
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

func (pw *ProblemWriter) problemType(code string) string {
	if pw.typeBase == "" {
		return "about:blank"
	}
	return pw.typeBase + code
}

func (pw *ProblemWriter) title(status int, code string) string {
	if pw.typeBase == "" {
		return http.StatusText(status)
	}
	return strings.ReplaceAll(code, "_", " ")
}

func (pw *ProblemWriter) bearer(errCode, description, scope string) string {
	var b strings.Builder
	b.WriteString(pw.challenge)
	b.WriteString(`, error="`)
	b.WriteString(errCode)
	b.WriteString(`"`)
	if description != "" && safeHeaderText(description) {
		b.WriteString(`, error_description="`)
		b.WriteString(description)
		b.WriteString(`"`)
	}
	if scope != "" {
		b.WriteString(`, scope="`)
		b.WriteString(scope)
		b.WriteString(`"`)
	}
	return b.String()
}

// safeHeaderText reports whether s holds only %x20-21 / %x23-5B / %x5D-7E,
// the characters RFC 6750 allows in quoted attribute values.
func safeHeaderText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
