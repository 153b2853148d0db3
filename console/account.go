package console

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse/session"
)

type accountData struct {
	Errors map[string]string
	MinLen int
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.render(w, r, http.StatusOK, "account", page{Title: "Account", Nav: "account", Me: v, Flash: flashOf(r),
		Data: accountData{MinLen: c.login.MinPasswordLength()}})
}

// changePassword sets a new password through the login handler: every
// other session of the user ends.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.parseForm(w, r, v) {
		return
	}
	f := r.PostForm
	d := accountData{Errors: map[string]string{}, MinLen: c.login.MinPasswordLength()}
	next := f.Get("new_password")
	if next != f.Get("confirm_password") {
		d.Errors["confirm_password"] = "The two new passwords differ."
		c.render(w, r, http.StatusUnprocessableEntity, "account", page{Title: "Account", Nav: "account", Me: v, Data: d})
		return
	}
	_, err := c.login.SetPassword(r.Context(), w, r, v.P, f.Get("current_password"), next)
	switch {
	case err == nil:
		http.Redirect(w, r, c.prefix+"/account?m=password", http.StatusSeeOther)
		return
	case errors.Is(err, session.ErrWrongPassword):
		d.Errors["current_password"] = "This is not your current password."
	case errors.Is(err, session.ErrPasswordLength):
		d.Errors["new_password"] = "Use " + itoa(d.MinLen) + " to " + itoa(session.MaxPasswordLength) + " characters."
	default:
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusUnprocessableEntity, "account", page{Title: "Account", Nav: "account", Me: v, Data: d})
}

func (c *Console) signOutEverywhere(w http.ResponseWriter, r *http.Request, v *viewer) {
	if err := c.login.SignOutEverywhere(r.Context(), w, r, v.P); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, c.prefix+"/sign-in?m=signed-out-all", http.StatusSeeOther)
}
