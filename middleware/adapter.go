package middleware

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/scopes"
)

// Authenticate is [Middleware.Handler] as a function, for adapters to
// routers whose handlers are not http.Handler (gin, for one): it checks r
// and returns it with the principal in its context, telling the observer
// as Handler does. With optional, a request without any credential is
// returned as it is, as [Middleware.Optional] does (a credential in an
// unsupported scheme is not "without any credential": it is refused). It
// spends a use of the credential's credits ([Middleware.SpendCredit]) before
// it returns, so that an adapter cannot forget to: before the adapter's own
// scope checks, unlike Handler; and it sets [HeaderCreditsRemaining] on w,
// as Handler does. On an error the caller refuses the request with
// [Middleware.Error] and stops.
func (m *Middleware) Authenticate(w http.ResponseWriter, r *http.Request, optional bool) (*http.Request, error) {
	r2, p, err := m.authenticateRequest(r, optional)
	if err != nil {
		return nil, err
	}
	if err := m.spendCredit(w, r2, p); err != nil {
		return nil, err
	}
	return r2, nil
}

// authenticateRequest is Authenticate without the spending of credits: the
// request with the principal in its context, and the principal (nil for an
// optional request without credentials).
func (m *Middleware) authenticateRequest(r *http.Request, optional bool) (*http.Request, *gatehouse.Principal, error) {
	p, err := m.Check(r)
	if err != nil {
		if optional && errors.Is(err, gatehouse.ErrNoCredentials) && !errors.Is(err, ErrUnsupportedScheme) {
			return r, nil, nil
		}
		return nil, nil, err
	}
	if m.observer != nil {
		m.observer.Authenticated(r, p)
	}
	return r.WithContext(gatehouse.NewContext(r.Context(), p)), p, nil
}

// Authorize is [Middleware.Require] as a function: nil when the principal
// in r's context satisfies req, else the error to refuse the request with
// ([Middleware.Error]): no principal is a 401, too few scopes a 403.
func (m *Middleware) Authorize(r *http.Request, req *scopes.Requirement) error {
	_, err := m.authorize(r, req)
	return err
}

// authorize is Authorize that returns the principal it checked.
func (m *Middleware) authorize(r *http.Request, req *scopes.Requirement) (*gatehouse.Principal, error) {
	p, ok := gatehouse.FromContext(r.Context())
	if !ok {
		return nil, errNoCredentials
	}
	if !req.SatisfiedBy(p.Scopes) {
		return nil, &gatehouse.ScopeError{Required: req.Scopes(), Any: req.Any()}
	}
	return p, nil
}

// Matcher returns the scope matcher the middleware compiles requirements
// with, for adapters that compile their own.
func (m *Middleware) Matcher() *scopes.Matcher { return m.matcher }

// CookieNames returns the names of the cookies the middleware reads
// credentials from (the session authenticators'), for proxies that strip
// them before passing a request on.
func (m *Middleware) CookieNames() []string { return append([]string(nil), m.cookies...) }
