package admin

import (
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// AuditObserver is a [middleware.Observer] that logs every refused request
// as a gatehouse.auth.refused event: the status code, the reason code, the
// key ID and tenant when the key was found (revoked, expired), the client
// IP, the method and path. It never logs the credential. Accepted requests
// are not logged. It is safe for concurrent use.
type AuditObserver struct {
	log      *slog.Logger
	clientIP func(*http.Request) string
}

var _ middleware.Observer = (*AuditObserver)(nil)

// NewAuditObserver logs to log (default slog.Default()). clientIP returns
// the client address of a request; nil means the host of r.RemoteAddr
// (pass the rate limiter's trusted-proxy aware function behind a proxy).
func NewAuditObserver(log *slog.Logger, clientIP func(*http.Request) string) *AuditObserver {
	if log == nil {
		log = slog.Default()
	}
	if clientIP == nil {
		clientIP = remoteHost
	}
	return &AuditObserver{log: log, clientIP: clientIP}
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticated implements [middleware.Observer]; it logs nothing.
func (o *AuditObserver) Authenticated(*http.Request, *gatehouse.Principal) {}

// Refused implements [middleware.Observer].
func (o *AuditObserver) Refused(r *http.Request, err error) {
	status, code := middleware.Classify(err)
	attrs := []slog.Attr{
		slog.Int("status", status),
		slog.String("code", code),
		slog.String("client_ip", o.clientIP(r)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		attrs = append(attrs, slog.String("reason", string(ge.Reason)))
		if ge.KeyID != "" {
			attrs = append(attrs, slog.String("key_id", ge.KeyID), slog.String("tenant_id", ge.TenantID))
		}
	}
	level := slog.LevelInfo
	if status == http.StatusServiceUnavailable {
		level = slog.LevelError
		if ge != nil && ge.Cause != nil {
			// The cause is internal: logged for operators, never sent.
			attrs = append(attrs, slog.String("cause", ge.Cause.Error()))
		}
	}
	o.log.LogAttrs(r.Context(), level, "gatehouse.auth.refused", attrs...)
}
