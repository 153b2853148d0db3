package scopes_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/scopes"
)

func TestDefaultRoles(t *testing.T) {
	r := scopes.DefaultRoles()
	require.NoError(t, r.Validate())
	tests := []struct {
		role   string
		want   []string
		wantOK bool
	}{
		{role: "viewer", want: []string{"read"}, wantOK: true},
		{role: "editor", want: []string{"read", "write"}, wantOK: true},
		{role: "admin", want: []string{"admin", "read", "write"}, wantOK: true},
		{role: "owner"},
		{role: ""},
		{role: "Admin"},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			got, ok := r.Scopes(tt.role)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDefaultRolesIsFresh(t *testing.T) {
	a := scopes.DefaultRoles()
	a["viewer"][0] = "write"
	a["intruder"] = []string{"admin"}
	b := scopes.DefaultRoles()
	assert.Equal(t, []string{"read"}, b["viewer"])
	_, ok := b.Scopes("intruder")
	assert.False(t, ok)
}

func TestRolesValidate(t *testing.T) {
	tests := []struct {
		name    string
		roles   scopes.Roles
		wantErr bool
	}{
		{name: "nil", roles: nil},
		{name: "empty role", roles: scopes.Roles{"nobody": nil}},
		{name: "valid", roles: scopes.Roles{"ops": {"deploy", "projects:*"}}},
		{name: "space in scope", roles: scopes.Roles{"ops": {"deploy all"}}, wantErr: true},
		{name: "empty scope", roles: scopes.Roles{"ops": {""}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.roles.Validate()
			if tt.wantErr {
				assert.ErrorIs(t, err, scopes.ErrInvalid)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestRolesClone(t *testing.T) {
	orig := scopes.Roles{"ops": {"deploy"}}
	c := orig.Clone()
	require.Equal(t, orig, c)
	c["ops"][0] = "destroy"
	c["new"] = []string{"x"}
	assert.Equal(t, scopes.Roles{"ops": {"deploy"}}, orig)
	assert.Nil(t, scopes.Roles(nil).Clone())
}
