package gatehouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

// contextKey has the name of the root package's unexported key type.
type contextKey struct{}

func TestContextRoundTrip(t *testing.T) {
	p := &gatehouse.Principal{ID: "usr_1", Kind: gatehouse.KindAPIKey, TenantID: "org_1"}

	tests := []struct {
		name   string
		ctx    context.Context
		want   *gatehouse.Principal
		wantOK bool
	}{
		{name: "empty context", ctx: context.Background()},
		{name: "principal", ctx: gatehouse.NewContext(context.Background(), p), want: p, wantOK: true},
		{name: "nil principal", ctx: gatehouse.NewContext(context.Background(), nil)},
		{name: "overwritten by nil", ctx: gatehouse.NewContext(gatehouse.NewContext(context.Background(), p), nil)},
		{
			name: "look-alike key cannot impersonate",
			// A value stored under another package's type of the same
			// name is not the principal.
			ctx: context.WithValue(context.Background(), contextKey{}, p),
		},
		{
			name:   "inner context keeps principal",
			ctx:    context.WithValue(gatehouse.NewContext(context.Background(), p), struct{ x int }{1}, "v"),
			want:   p,
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := gatehouse.FromContext(tt.ctx)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Same(t, tt.want, got)
			} else {
				assert.Nil(t, got)
			}
		})
	}
}

func TestNewContextDoesNotChangeParent(t *testing.T) {
	parent := context.Background()
	child := gatehouse.NewContext(parent, &gatehouse.Principal{ID: "a"})
	_, ok := gatehouse.FromContext(parent)
	assert.False(t, ok)
	p, ok := gatehouse.FromContext(child)
	require.True(t, ok)
	assert.Equal(t, "a", p.ID)
}

// The context NewContext returns is a full context: values, deadlines and
// cancellation of its parent reach through it, in both directions.
func TestNewContextIsAContext(t *testing.T) {
	type otherKey struct{}
	p := &gatehouse.Principal{ID: "a"}
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), otherKey{}, "v"), deadline)
	ctx := gatehouse.NewContext(parent, p)

	assert.Equal(t, "v", ctx.Value(otherKey{}), "parent's value")
	assert.Nil(t, ctx.Value("unset"))
	d, ok := ctx.Deadline()
	assert.True(t, ok)
	assert.Equal(t, deadline, d)
	assert.Contains(t, fmt.Sprint(ctx), "WithPrincipal")

	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	got, ok := gatehouse.FromContext(child)
	require.True(t, ok)
	assert.Same(t, p, got)

	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the parent's cancellation did not reach a child of the principal's context")
	}
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, child.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(child), context.Canceled)
}

func TestNewContextNilParentPanics(t *testing.T) {
	//lint:ignore SA1012 the nil parent is what is tested
	assert.Panics(t, func() { gatehouse.NewContext(nil, &gatehouse.Principal{}) })
}

func TestHasScope(t *testing.T) {
	p := &gatehouse.Principal{Scopes: []string{"read", "projects:*"}}
	tests := []struct {
		name  string
		p     *gatehouse.Principal
		scope string
		want  bool
	}{
		{name: "exact", p: p, scope: "read", want: true},
		{name: "absent", p: p, scope: "write"},
		{name: "no wildcard expansion", p: p, scope: "projects:read"},
		{name: "wildcard literal", p: p, scope: "projects:*", want: true},
		{name: "empty scope", p: p, scope: ""},
		{name: "nil principal", p: nil, scope: "read"},
		{name: "no scopes", p: &gatehouse.Principal{}, scope: "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.HasScope(tt.scope))
		})
	}
}
