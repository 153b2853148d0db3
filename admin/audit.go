package admin

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/observe"
)

// AuditObserver is a [middleware.Observer] that logs every refused request
// as a gatehouse.auth.refused event: the status code, the reason code, the
// key ID and tenant when the key was found (revoked, expired), the client
// IP, the method and path. It never logs the credential. Accepted requests
// are not logged. It is the refusal half of [observe.Slog], for services
// that want the audit trail without the debug events. It is safe for
// concurrent use.
type AuditObserver struct {
	s *observe.Slog
}

var _ middleware.Observer = (*AuditObserver)(nil)

// NewAuditObserver logs to log (default slog.Default()). clientIP returns
// the client address of a request; nil means the host of r.RemoteAddr
// (pass the rate limiter's trusted-proxy aware function behind a proxy).
func NewAuditObserver(log *slog.Logger, clientIP func(*http.Request) string) *AuditObserver {
	return &AuditObserver{s: observe.NewSlog(log, clientIP)}
}

// Authenticated implements [middleware.Observer]; it logs nothing.
func (o *AuditObserver) Authenticated(*http.Request, *gatehouse.Principal) {}

// Refused implements [middleware.Observer].
func (o *AuditObserver) Refused(r *http.Request, err error) { o.s.Refused(r, err) }
