package scopes_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/scopes"
)

// hierarchy is the admin ⊇ write ⊇ read chain used throughout.
var hierarchy = scopes.Implications{"admin": {"write"}, "write": {"read"}}

func TestNewMatcherValidation(t *testing.T) {
	tests := []struct {
		name    string
		impl    scopes.Implications
		wantErr bool
	}{
		{name: "nil", impl: nil},
		{name: "chain", impl: hierarchy},
		{name: "cycle", impl: scopes.Implications{"a": {"b"}, "b": {"a"}}},
		{name: "self", impl: scopes.Implications{"a": {"a"}}},
		{name: "implied scope not a key", impl: scopes.Implications{"a": {"b", "c"}}},
		{name: "invalid source", impl: scopes.Implications{"a b": {"c"}}, wantErr: true},
		{name: "empty source", impl: scopes.Implications{"": {"c"}}, wantErr: true},
		{name: "invalid target", impl: scopes.Implications{"a": {"c,d"}}, wantErr: true},
		{name: "empty target", impl: scopes.Implications{"a": {""}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := scopes.NewMatcher(tt.impl)
			if tt.wantErr {
				assert.ErrorIs(t, err, scopes.ErrInvalid)
				assert.Nil(t, m)
				assert.Panics(t, func() { scopes.MustMatcher(tt.impl) })
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, m)
			assert.NotPanics(t, func() { scopes.MustMatcher(tt.impl) })
		})
	}
}

func TestSatisfies(t *testing.T) {
	chain := scopes.MustMatcher(hierarchy)
	cycle := scopes.MustMatcher(scopes.Implications{"a": {"b"}, "b": {"c"}, "c": {"a"}})
	tests := []struct {
		name     string
		m        *scopes.Matcher
		granted  string
		required string
		want     bool
	}{
		{name: "exact", m: scopes.Plain, granted: "read", required: "read", want: true},
		{name: "different", m: scopes.Plain, granted: "read", required: "write"},
		{name: "case sensitive", m: scopes.Plain, granted: "Read", required: "read"},
		{name: "wildcard covers action", m: scopes.Plain, granted: "projects:*", required: "projects:read", want: true},
		{name: "wildcard covers nested", m: scopes.Plain, granted: "projects:*", required: "projects:a:b", want: true},
		{name: "wildcard covers nested wildcard", m: scopes.Plain, granted: "projects:*", required: "projects:a:*", want: true},
		{name: "wildcard covers itself", m: scopes.Plain, granted: "projects:*", required: "projects:*", want: true},
		{name: "wildcard not a longer resource", m: scopes.Plain, granted: "projects:*", required: "projectsx:read"},
		{name: "wildcard not the bare resource", m: scopes.Plain, granted: "projects:*", required: "projects"},
		{name: "wildcard not the bare colon", m: scopes.Plain, granted: "projects:*", required: "projects:"},
		{name: "wildcard not another resource", m: scopes.Plain, granted: "projects:*", required: "billing:read"},
		{name: "nested wildcard not the parent", m: scopes.Plain, granted: "projects:a:*", required: "projects:b"},
		{name: "nested wildcard covers child", m: scopes.Plain, granted: "projects:a:*", required: "projects:a:x", want: true},
		{name: "star alone is not a wildcard", m: scopes.Plain, granted: "*", required: "read"},
		{name: "colon star alone is not a wildcard", m: scopes.Plain, granted: ":*", required: ":read"},
		{name: "star without colon is literal", m: scopes.Plain, granted: "projects*", required: "projectsx"},
		{name: "specific does not cover wildcard", m: scopes.Plain, granted: "projects:read", required: "projects:*"},
		{name: "plain has no implications", m: scopes.Plain, granted: "admin", required: "read"},
		{name: "admin implies write", m: chain, granted: "admin", required: "write", want: true},
		{name: "admin implies read transitively", m: chain, granted: "admin", required: "read", want: true},
		{name: "write implies read", m: chain, granted: "write", required: "read", want: true},
		{name: "read does not imply write", m: chain, granted: "read", required: "write"},
		{name: "write does not imply admin", m: chain, granted: "write", required: "admin"},
		{name: "implication keeps exact", m: chain, granted: "read", required: "read", want: true},
		{name: "cycle forwards", m: cycle, granted: "a", required: "c", want: true},
		{name: "cycle backwards", m: cycle, granted: "c", required: "b", want: true},
		{name: "cycle outsider", m: cycle, granted: "a", required: "d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.m.Satisfies(tt.granted, tt.required))

			// A compiled requirement agrees with Satisfies.
			all, err := tt.m.AllOf(tt.required)
			require.NoError(t, err)
			assert.Equal(t, tt.want, all.SatisfiedBy([]string{tt.granted}), "AllOf")
			anyOf, err := tt.m.AnyOf(tt.required)
			require.NoError(t, err)
			assert.Equal(t, tt.want, anyOf.SatisfiedBy([]string{"unrelated", tt.granted}), "AnyOf")
		})
	}
}

func TestExpand(t *testing.T) {
	m := scopes.MustMatcher(hierarchy)
	assert.Equal(t, []string{"admin", "read", "write"}, m.Expand([]string{"admin"}))
	assert.Equal(t, []string{"projects:*", "read", "write"}, m.Expand([]string{"write", "projects:*", "write"}))
	assert.Equal(t, []string{"read"}, m.Expand([]string{"read"}))
	assert.Nil(t, m.Expand(nil))

	cycle := scopes.MustMatcher(scopes.Implications{"a": {"b"}, "b": {"a"}})
	assert.Equal(t, []string{"a", "b"}, cycle.Expand([]string{"b"}))

	in := []string{"write"}
	_ = m.Expand(in)
	assert.Equal(t, []string{"write"}, in, "the input is left as it was")
}

func TestCovers(t *testing.T) {
	chain := scopes.MustMatcher(hierarchy)
	tests := []struct {
		name      string
		m         *scopes.Matcher
		granted   []string
		requested []string
		want      bool
	}{
		{name: "nothing requested", m: scopes.Plain, granted: nil, requested: nil, want: true},
		{name: "subset", m: scopes.Plain, granted: []string{"read", "write"}, requested: []string{"read"}, want: true},
		{name: "same", m: scopes.Plain, granted: []string{"read", "write"}, requested: []string{"write", "read"}, want: true},
		{name: "escalation", m: scopes.Plain, granted: []string{"read"}, requested: []string{"read", "write"}},
		{name: "nothing granted", m: scopes.Plain, granted: nil, requested: []string{"read"}},
		{name: "wildcard grants specifics", m: scopes.Plain, granted: []string{"projects:*"}, requested: []string{"projects:read", "projects:write"}, want: true},
		{name: "specific cannot mint wildcard", m: scopes.Plain, granted: []string{"projects:read"}, requested: []string{"projects:*"}},
		{name: "wildcard cannot mint other resource", m: scopes.Plain, granted: []string{"projects:*"}, requested: []string{"billing:read"}},
		{name: "admin mints read", m: chain, granted: []string{"admin"}, requested: []string{"read", "write"}, want: true},
		{name: "write cannot mint admin", m: chain, granted: []string{"write"}, requested: []string{"admin"}},
		{name: "plain admin cannot mint read", m: scopes.Plain, granted: []string{"admin"}, requested: []string{"read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.m.Covers(tt.granted, tt.requested))
		})
	}
}

func TestRequirement(t *testing.T) {
	chain := scopes.MustMatcher(hierarchy)
	tests := []struct {
		name     string
		m        *scopes.Matcher
		any      bool
		required []string
		granted  []string
		want     bool
	}{
		{name: "all: every scope", m: scopes.Plain, required: []string{"a", "b"}, granted: []string{"b", "a"}, want: true},
		{name: "all: one missing", m: scopes.Plain, required: []string{"a", "b"}, granted: []string{"a"}},
		{name: "all: none granted", m: scopes.Plain, required: []string{"a"}, granted: nil},
		{name: "all: extra granted", m: scopes.Plain, required: []string{"a"}, granted: []string{"x", "a", "y"}, want: true},
		{name: "all: by wildcard", m: scopes.Plain, required: []string{"projects:read", "projects:write"}, granted: []string{"projects:*"}, want: true},
		{name: "all: wildcard plus exact", m: scopes.Plain, required: []string{"projects:read", "billing:read"}, granted: []string{"projects:*", "billing:read"}, want: true},
		{name: "all: wildcard of other resource", m: scopes.Plain, required: []string{"projects:read", "billing:read"}, granted: []string{"projects:*"}},
		{name: "all: by implication", m: chain, required: []string{"read", "write"}, granted: []string{"admin"}, want: true},
		{name: "all: implication too weak", m: chain, required: []string{"read", "admin"}, granted: []string{"write"}},
		{name: "any: one of them", m: scopes.Plain, any: true, required: []string{"a", "b"}, granted: []string{"b"}, want: true},
		{name: "any: none of them", m: scopes.Plain, any: true, required: []string{"a", "b"}, granted: []string{"c"}},
		{name: "any: none granted", m: scopes.Plain, any: true, required: []string{"a", "b"}, granted: nil},
		{name: "any: by wildcard", m: scopes.Plain, any: true, required: []string{"billing:read", "projects:read"}, granted: []string{"projects:*"}, want: true},
		{name: "any: by implication", m: chain, any: true, required: []string{"read", "billing"}, granted: []string{"write"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				r   *scopes.Requirement
				err error
			)
			if tt.any {
				r, err = tt.m.AnyOf(tt.required...)
			} else {
				r, err = tt.m.AllOf(tt.required...)
			}
			require.NoError(t, err)
			assert.Equal(t, tt.any, r.Any())
			assert.Equal(t, tt.want, r.SatisfiedBy(tt.granted))
		})
	}
}

func TestRequirementCompile(t *testing.T) {
	r, err := scopes.AllOf("write", "read", "write")
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, r.Scopes())
	assert.Equal(t, "read write", r.String())
	assert.False(t, r.Any())

	r, err = scopes.AnyOf("b", "a")
	require.NoError(t, err)
	assert.Equal(t, "a b", r.String())
	assert.True(t, r.Any())

	for name, build := range map[string]func(...string) (*scopes.Requirement, error){
		"AllOf": scopes.AllOf,
		"AnyOf": scopes.AnyOf,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := build()
			assert.ErrorIs(t, err, scopes.ErrInvalid, "empty requirement")
			_, err = build("read write")
			assert.ErrorIs(t, err, scopes.ErrInvalid, "space inside a scope")
			_, err = build("read", `"`)
			assert.ErrorIs(t, err, scopes.ErrInvalid, "quote")
		})
	}
}

func TestRequirementIgnoresLaterMutation(t *testing.T) {
	required := []string{"read"}
	r, err := scopes.AllOf(required...)
	require.NoError(t, err)
	required[0] = "write"
	assert.True(t, r.SatisfiedBy([]string{"read"}))
	assert.False(t, r.SatisfiedBy([]string{"write"}))
}

func TestSatisfiedByDoesNotAllocate(t *testing.T) {
	chain := scopes.MustMatcher(hierarchy)
	all, err := chain.AllOf("projects:read", "read", "billing:invoices:list")
	require.NoError(t, err)
	anyOf, err := chain.AnyOf("projects:write", "billing:invoices:list")
	require.NoError(t, err)
	granted := []string{"admin", "billing:*", "projects:*", "x", "y", "z"}
	denied := []string{"billingx:*", "projects:read", "x"}
	var sink bool
	allocs := testing.AllocsPerRun(200, func() {
		sink = all.SatisfiedBy(granted) && anyOf.SatisfiedBy(granted)
		sink = sink != all.SatisfiedBy(denied) && !anyOf.SatisfiedBy(denied)
	})
	assert.Zero(t, allocs)
	assert.True(t, sink)
}
