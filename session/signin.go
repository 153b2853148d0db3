package session

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// Errors of the methods that web pages call instead of the JSON
// endpoints ([Handler.SignIn], [Handler.SetPassword]).
var (
	// ErrBadLogin means the e-mail address or password is wrong (the two
	// are not told apart). It wraps gatehouse.ErrInvalidToken.
	ErrBadLogin error = errBadLogin
	// ErrWrongPassword means the current password given to
	// [Handler.SetPassword] is wrong. It wraps gatehouse.ErrForbidden.
	ErrWrongPassword error = errWrongCurrent
	// ErrPasswordLength means a password is too long, or a new password
	// shorter than the handler's MinPasswordLength.
	ErrPasswordLength = errors.New("session: password length out of range")
)

// MinPasswordLength returns the shortest new password the handler
// accepts, in bytes.
func (h *Handler) MinPasswordLength() int { return h.minPass }

// CookieName returns the name of the session cookie.
func (h *Handler) CookieName() string { return h.m.name }

// SignIn checks email and password as POST {prefix}/login does, through
// the same per-address and per-account throttles and with the same
// argon2id work for an unknown account, and on success replaces the
// session r carries with a new one whose cookie it sets on w. Errors:
// [ErrPasswordLength], [ErrBadLogin], a *gatehouse.RateLimitError while
// throttled, or an unavailable store (gatehouse.ErrUnavailable).
func (h *Handler) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, email, password string) (*gatehouse.Principal, error) {
	if len(password) > MaxPasswordLength {
		return nil, ErrPasswordLength
	}
	email = store.NormalizeEmail(email)
	if err := h.attempt(ctx, r, email); err != nil {
		return nil, err
	}
	u, err := h.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	}
	rehash, ok := h.check(u, password)
	if !ok {
		return nil, errBadLogin
	}
	h.succeeded(ctx, r, email)
	if rehash {
		h.rehash(ctx, u, password)
	}
	s, err := h.m.Renew(ctx, w, r, u, h.scopes(u))
	if err != nil {
		return nil, err
	}
	return h.m.principal(s), nil
}

// StartSession replaces the session r carries with a new one for the user
// with id, as a successful login does, without a password: for a caller
// that has verified the person some other way (a single-use sign-in link).
// An unknown user is [ErrBadLogin].
func (h *Handler) StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string) (*gatehouse.Principal, error) {
	u, err := h.users.UserByID(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errBadLogin
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	}
	s, err := h.m.Renew(ctx, w, r, u, h.scopes(u))
	if err != nil {
		return nil, err
	}
	return h.m.principal(s), nil
}

// SetPassword changes the password of the user p (a session principal) as
// POST {prefix}/password does: the current password is checked through
// the throttles (a user who has no password yet, such as one who signed in
// with a link, sets one without), every session of the user is destroyed
// and a new one started on w. Errors: [ErrPasswordLength] (the new
// password is outside MinPasswordLength to [MaxPasswordLength] bytes),
// [ErrWrongPassword], a *gatehouse.RateLimitError, an unknown user
// (gatehouse.ErrInvalidToken) or an unavailable store.
func (h *Handler) SetPassword(ctx context.Context, w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, current, next string) (*gatehouse.Principal, error) {
	if p == nil {
		return nil, errNoSession
	}
	if len(current) > MaxPasswordLength {
		return nil, ErrPasswordLength
	}
	if n := len(next); n < h.minPass || n > MaxPasswordLength || utf8.RuneCountInString(next) < h.minPass {
		return nil, ErrPasswordLength
	}
	u, err := h.users.UserByID(ctx, p.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errUnknown
	case err != nil:
		return nil, gatehouse.Unavailable(err)
	}
	if u.PasswordHash != "" {
		account := u.Email
		if account == "" {
			account = "id:" + u.ID
		}
		if err := h.attempt(ctx, r, account); err != nil {
			return nil, err
		}
		if _, ok := h.check(u, current); !ok {
			return nil, errWrongCurrent
		}
		h.succeeded(ctx, r, account)
	}
	hash, err := h.hasher.Hash(next)
	if err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	if u, err = h.users.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return nil, gatehouse.Unavailable(err)
	}
	if err := h.m.DestroyUser(ctx, u.ID); err != nil {
		return nil, err
	}
	s, err := h.m.Start(ctx, w, u, h.scopes(u))
	if err != nil {
		return nil, err
	}
	return h.m.principal(s), nil
}

// Current returns the principal of the session cookie r carries: only
// the cookie is read. A missing cookie is gatehouse.ErrNoCredentials; two
// cookies of the name, gatehouse.ErrInvalidRequest; an invalid or expired
// session, gatehouse.ErrInvalidToken.
func (h *Handler) Current(r *http.Request) (*gatehouse.Principal, error) {
	_, p, err := h.current(r)
	return p, err
}

// SignOut destroys the session r carries on the server and expires its
// cookie on w.
func (h *Handler) SignOut(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	return h.m.Destroy(ctx, w, r)
}

// SignOutEverywhere destroys every session of the user p, this one
// included, and expires the cookie on w.
func (h *Handler) SignOutEverywhere(ctx context.Context, w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if p == nil {
		return errNoSession
	}
	if err := h.m.DestroyUser(ctx, p.ID); err != nil {
		return err
	}
	return h.m.Destroy(ctx, w, r)
}
