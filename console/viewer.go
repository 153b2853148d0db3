package console

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/store"
)

// viewer is the signed-in person a page is rendered for.
type viewer struct {
	P     *gatehouse.Principal
	Actor admin.Actor
	Name  string // what the header shows
}

// OrgAdmin reports whether the viewer administers an organization.
func (v *viewer) OrgAdmin() bool {
	return v.Actor.Level == store.LevelOrgAdmin || v.Actor.Level == store.LevelSuperAdmin
}

// SuperAdmin reports whether the viewer administers every organization.
func (v *viewer) SuperAdmin() bool { return v.Actor.Level == store.LevelSuperAdmin }

// TenantID is the viewer's organization.
func (v *viewer) TenantID() string { return v.Actor.TenantID }

type authedFunc func(w http.ResponseWriter, r *http.Request, v *viewer)

// authed resolves the session cookie (and only it) to a viewer, or sends
// the browser to the sign-in page.
func (c *Console) authed(next authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := c.viewerOf(r) // ServeHTTP has set Cache-Control: no-store
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		next(w, r, v)
	}
}

func (c *Console) viewerOf(r *http.Request) (*viewer, error) {
	p, err := c.login.Current(r)
	if err != nil {
		return nil, err
	}
	a, u, err := c.m.Self(r.Context(), p) // one read for the actor and the name
	if err != nil {
		return nil, err
	}
	v := &viewer{P: p, Actor: a, Name: p.ID}
	if u != nil {
		v.Name = displayName(u)
	}
	return v, nil
}

// displayName is how the pages name a user: the e-mail address, else the
// name, else the ID.
func displayName(u *store.User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Name != "":
		return u.Name
	}
	return u.ID
}

// fail renders the page for an error of the manager or the session.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	var rl *gatehouse.RateLimitError
	switch {
	case errors.Is(err, gatehouse.ErrNoCredentials) || errors.Is(err, gatehouse.ErrInvalidToken) ||
		errors.Is(err, gatehouse.ErrInvalidRequest):
		http.Redirect(w, r, c.prefix+"/sign-in", http.StatusSeeOther)
	case errors.Is(err, admin.ErrNotFound):
		c.errorPage(w, r, v, http.StatusNotFound, "Not found", "It does not exist, or you may not see it.")
	case errors.Is(err, admin.ErrForbidden):
		detail, ok := admin.ForbiddenDetail(err)
		if !ok {
			detail = "You may not do this."
		}
		c.errorPage(w, r, v, http.StatusForbidden, "Not allowed", detail)
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", itoa(retrySeconds(rl)))
		c.errorPage(w, r, v, http.StatusTooManyRequests, "Too many attempts", "Wait "+waitFor(rl)+" and try again.")
	default:
		c.log.ErrorContext(r.Context(), "console: request failed", "path", r.URL.Path, "err", err)
		c.errorPage(w, r, v, http.StatusServiceUnavailable, "Temporarily unavailable",
			"The console could not reach its database. Try again in a moment.")
	}
}
