package console

import (
	"errors"
	"net/http"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/session"
)

// flashes are the confirmations a redirect may name in its m parameter:
// fixed sentences, so that no text from the request is echoed.
var flashes = map[string]string{
	"signed-out":     "You are signed out.",
	"signed-out-all": "You are signed out on every device.",
	"updated":        "The key was saved.",
	"revoked":        "The key was revoked. Requests with it are refused from now on.",
	"password":       "Your password was changed. Your other sessions were signed out.",
	"member-added":   "The member was added.",
	"member-updated": "The member was saved.",
	"policy":         "The key policy was saved.",
	"org-created":    "The organization was created.",
	"welcome":        "Welcome! You are signed in. Set a password below so that you can sign in again without a link.",
}

func flashOf(r *http.Request) string { return flashes[r.URL.Query().Get("m")] }

// home sends the browser to the keys, or to the sign-in page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if _, err := c.login.Current(r); err == nil {
		http.Redirect(w, r, c.prefix+"/keys", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.prefix+"/sign-in", http.StatusSeeOther)
}

type signInData struct {
	Email string
	Error string
}

func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	if _, err := c.login.Current(r); err == nil {
		http.Redirect(w, r, c.prefix+"/keys", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Flash: flashOf(r), Data: signInData{}})
}

// signIn checks the password through the login handler's throttles and
// starts a session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !c.parseForm(w, r, nil) {
		return
	}
	email := r.PostForm.Get("email")
	_, err := c.login.SignIn(r.Context(), w, r, email, r.PostForm.Get("password"))
	if err == nil {
		http.Redirect(w, r, c.prefix+"/keys", http.StatusSeeOther)
		return
	}
	d := signInData{Email: email}
	status := http.StatusUnauthorized
	var rl *gatehouse.RateLimitError
	switch {
	case errors.Is(err, session.ErrBadLogin):
		d.Error = "Incorrect email or password."
	case errors.Is(err, session.ErrPasswordLength):
		d.Error, status = "That password is too long.", http.StatusBadRequest
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", itoa(retrySeconds(rl)))
		d.Error, status = "Too many attempts. Wait "+waitFor(rl)+" and try again.", http.StatusTooManyRequests
	default:
		c.fail(w, r, nil, err)
		return
	}
	c.render(w, r, status, "signin", page{Title: "Sign in", Data: d})
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if err := c.login.SignOut(r.Context(), w, r); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, c.prefix+"/sign-in?m=signed-out", http.StatusSeeOther)
}

// parseForm reads a form body of at most MaxBody bytes into r.PostForm;
// on failure it renders a 400 and returns false.
func (c *Console) parseForm(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	r.Body = http.MaxBytesReader(w, r.Body, c.maxBody)
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, v, http.StatusBadRequest, "Bad request", "The form could not be read. Go back and send it again.")
		return false
	}
	return true
}
