package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"right password", "  ADA@example.com ", testPassword, nil},
		{"wrong password", testEmail, "nope", ErrBadLogin},
		{"unknown account", "bob@example.com", testPassword, ErrBadLogin},
		{"too long", testEmail, strings.Repeat("x", MaxPasswordLength+1), ErrPasswordLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			p, err := e.h.SignIn(context.Background(), w, httptest.NewRequest("POST", "/", nil), tt.email, tt.password)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				assert.Empty(t, w.Header()["Set-Cookie"])
				return
			}
			require.NoError(t, err)
			assert.Equal(t, e.user.ID, p.ID)
			c := sessionCookie(t, w, e.h.CookieName())
			got, err := e.m.Verify(context.Background(), c.Value)
			require.NoError(t, err)
			assert.Equal(t, e.user.ID, got.ID)
		})
	}
}

// SignIn shares the login endpoint's throttle: failures through one count
// against the other.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	for range 4 {
		require.Equal(t, 401, e.login(testEmail, "wrong").Code)
	}
	_, err := e.h.SignIn(context.Background(), httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), testEmail, "wrong")
	require.ErrorIs(t, err, ErrBadLogin)
	_, err = e.h.SignIn(context.Background(), httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), testEmail, testPassword)
	var rl *gatehouse.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Positive(t, rl.RetryAfter)
}

func TestStartSessionAndSignOut(t *testing.T) {
	e := newEnv(t, Config{}, HandlerConfig{})
	ctx := context.Background()
	_, err := e.h.StartSession(ctx, httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), "usr_nobody")
	require.ErrorIs(t, err, ErrBadLogin)

	w := httptest.NewRecorder()
	p, err := e.h.StartSession(ctx, w, httptest.NewRequest("POST", "/", nil), e.user.ID)
	require.NoError(t, err)
	c := sessionCookie(t, w, e.h.CookieName())
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	got, err := e.h.Current(r)
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ID)

	// A second session, then sign out everywhere: both are gone.
	w2 := httptest.NewRecorder()
	_, err = e.h.StartSession(ctx, w2, httptest.NewRequest("POST", "/", nil), e.user.ID)
	require.NoError(t, err)
	other := sessionCookie(t, w2, e.h.CookieName())
	require.NoError(t, e.h.SignOutEverywhere(ctx, httptest.NewRecorder(), r, p))
	for _, id := range []string{c.Value, other.Value} {
		_, err := e.m.Verify(ctx, id)
		assert.ErrorIs(t, err, gatehouse.ErrInvalidToken)
	}

	_, err = e.h.Current(httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, err, gatehouse.ErrNoCredentials)
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, current, next string
		want                error
	}{
		{"changed", testPassword, "a new long password", nil},
		{"wrong current", "nope", "a new long password", ErrWrongPassword},
		{"too short", testPassword, "short", ErrPasswordLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{}, HandlerConfig{})
			p := &gatehouse.Principal{ID: e.user.ID}
			w := httptest.NewRecorder()
			_, err := e.h.SetPassword(ctx, w, httptest.NewRequest("POST", "/", nil), p, tt.current, tt.next)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Equal(t, 401, e.login(testEmail, tt.next).Code)
				return
			}
			require.NoError(t, err)
			sessionCookie(t, w, e.h.CookieName())
			assert.Equal(t, 200, e.login(testEmail, tt.next).Code)
		})
	}

	// A user without a password (signed in by a link) sets one without
	// giving a current one.
	e := newEnv(t, Config{}, HandlerConfig{})
	u := &store.User{ID: "usr_new", TenantID: "t1", Email: "new@example.com", Level: store.LevelMember}
	require.NoError(t, e.mem.CreateUser(ctx, u))
	_, err := e.h.SetPassword(ctx, httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), &gatehouse.Principal{ID: u.ID}, "", "a first password")
	require.NoError(t, err)
	assert.Equal(t, 200, e.login("new@example.com", "a first password").Code)
	_, err = e.h.SetPassword(ctx, httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), nil, "", "whatever long")
	assert.True(t, errors.Is(err, gatehouse.ErrNoCredentials))
}
