package store

import (
	"context"
	"strings"
	"time"
)

// Level is what a user may administer.
type Level string

// User levels. A member manages their own keys; an org admin manages the
// users and keys of their own tenant; a super admin, those of every tenant.
const (
	LevelMember     Level = "member"
	LevelOrgAdmin   Level = "org_admin"
	LevelSuperAdmin Level = "super_admin"
)

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool {
	return l == LevelMember || l == LevelOrgAdmin || l == LevelSuperAdmin
}

// User is a person or service account that owns keys and may log in.
type User struct {
	ID       string
	TenantID string
	// Email is unique across the store, compared case-insensitively: stores
	// keep it as [NormalizeEmail] returns it.
	Email string
	Name  string
	Level Level
	// Scopes, when not nil, bound what keys issued for the user may carry
	// (the admin package refuses more); nil means no bound beyond the
	// creator's own scopes.
	Scopes []string
	// PasswordHash is a PHC-format argon2id hash; empty means the user
	// cannot log in with a password.
	PasswordHash string
	CreatedAt    time.Time
}

// Clone returns a deep copy of u.
func (u *User) Clone() *User {
	c := *u
	if u.Scopes != nil {
		c.Scopes = append([]string(nil), u.Scopes...)
	}
	return &c
}

// NormalizeEmail returns the form emails are stored and looked up in:
// trimmed and lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// UserFilter selects users for [UserStore.ListUsers].
type UserFilter struct {
	TenantID string
	After    string // cursor: the last ID of the previous page
	Limit    int    // 0 means 100; capped at 1000
}

// UserUpdate holds the fields [UserStore.UpdateUser] may change; nil fields
// are left as they are.
type UserUpdate struct {
	Name         *string
	Level        *Level
	Scopes       *[]string
	PasswordHash *string
}

// UserStore persists users.
type UserStore interface {
	// CreateUser stores u. ErrConflict if its ID or email exists.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail looks the email up as NormalizeEmail returns it.
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) (users []*User, next string, err error)
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	// DeleteUser removes the user; a missing user is not an error.
	DeleteUser(ctx context.Context, id string) error
}
