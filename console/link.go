package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

// SignInLinkTTL is how long a sign-in link works: 15 minutes.
const SignInLinkTTL = 15 * time.Minute

// linkHasher digests sign-in tokens: SHA-256, as for session IDs (a token
// has 256 random bits; a pepper adds little).
var linkHasher, _ = store.NewHasher(nil)

// IssueSignInLink stores a new single-use sign-in token for the user
// userID, valid for [SignInLinkTTL] from now, and returns the path of the
// link under prefix (the console's Prefix, "/console" by default): the
// token is in the link and nowhere else; the store keeps only its digest.
// Print the link once to whom it is for; never log it.
func IssueSignInLink(ctx context.Context, tokens store.SignInTokenStore, prefix, userID string, now time.Time) (string, error) {
	if tokens == nil || userID == "" {
		return "", errors.New("console: sign-in link: nil token store or empty user ID")
	}
	token, err := session.NewToken()
	if err != nil {
		return "", err
	}
	now = now.UTC()
	t := &store.SignInToken{Digest: linkHasher.Sum(token), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SignInLinkTTL)}
	if err := tokens.CreateSignInToken(ctx, t); err != nil {
		return "", err
	}
	if prefix == "" {
		prefix = "/console"
	}
	return prefix + "/sign-in/link?" + url.Values{"token": {token}}.Encode(), nil
}

type linkData struct{ Token string }

// linkForm answers a GET of a sign-in link with a Continue button: a GET
// never consumes the token, so that link previews and scanners that
// fetch it do not burn it.
func (c *Console) linkForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := r.URL.Query().Get("token")
	if c.tokens == nil || !session.ValidToken(token) {
		c.badLink(w, r)
		return
	}
	c.render(w, r, http.StatusOK, "link", page{Title: "Sign in", Data: linkData{Token: token}})
}

// useLink consumes the token (once, atomically) and starts a session for
// its user; the redirect that follows does not carry the token.
func (c *Console) useLink(w http.ResponseWriter, r *http.Request) {
	if !c.parseForm(w, r, nil) {
		return
	}
	token := r.PostForm.Get("token")
	if c.tokens == nil || !session.ValidToken(token) {
		c.badLink(w, r)
		return
	}
	t, err := c.tokens.ConsumeSignInToken(r.Context(), linkHasher.Sum(token), c.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.badLink(w, r)
		return
	case err != nil:
		c.fail(w, r, nil, err)
		return
	}
	if _, err := c.login.StartSession(r.Context(), w, r, t.UserID); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	// The audit event of the sign-in: who, never the token.
	c.log.LogAttrs(r.Context(), slog.LevelInfo, "gatehouse.console.link_signin", slog.String("user_id", t.UserID))
	http.Redirect(w, r, c.prefix+"/account?m=welcome", http.StatusSeeOther)
}

func (c *Console) badLink(w http.ResponseWriter, r *http.Request) {
	c.errorPage(w, r, nil, http.StatusGone, "This sign-in link does not work",
		"It was used already, it expired (links work for 15 minutes), or it was copied incompletely. Sign in with your password, or ask for a new link.")
}
