package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
)

func withPrincipal(r *http.Request, p *gatehouse.Principal) *http.Request {
	return r.WithContext(gatehouse.NewContext(r.Context(), p))
}

func TestPrincipalKeyFuncs(t *testing.T) {
	full := &gatehouse.Principal{ID: "u1", TenantID: "t1", KeyID: "k1"}
	bare := &gatehouse.Principal{ID: "u2"}
	noID := &gatehouse.Principal{}
	tests := []struct {
		name    string
		fn      KeyFunc
		p       *gatehouse.Principal
		want    string
		wantErr error
	}{
		{"principal", ByPrincipal, full, "principal:u1", nil},
		{"key ID", ByKeyID, full, "key:k1", nil},
		{"key ID falls back to the principal", ByKeyID, bare, "principal:u2", nil},
		{"tenant", ByTenant, full, "tenant:t1", nil},
		{"tenant falls back to the principal", ByTenant, bare, "principal:u2", nil},
		{"no principal", ByPrincipal, nil, "", gatehouse.ErrNoCredentials},
		{"no principal, key ID", ByKeyID, nil, "", gatehouse.ErrNoCredentials},
		{"no principal, tenant", ByTenant, nil, "", gatehouse.ErrNoCredentials},
		{"principal without an ID", ByPrincipal, noID, "", gatehouse.ErrNoCredentials},
		{"key ID, principal without any ID", ByKeyID, noID, "", gatehouse.ErrNoCredentials},
		{"tenant, principal without any ID", ByTenant, noID, "", gatehouse.ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.p != nil {
				r = withPrincipal(r, tt.p)
			}
			k, err := tt.fn(r)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, k.String())
			assert.True(t, k.Valid())
		})
	}
}

func TestByRoute(t *testing.T) {
	var got Key
	var gotErr error
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { got, gotErr = ByRoute(r) })
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/42", nil))
	require.NoError(t, gotErr)
	assert.Equal(t, "route:GET /items/{id}", got.String())

	_, err := ByRoute(httptest.NewRequest("GET", "/items/42", nil))
	assert.ErrorIs(t, err, ErrNoKey, "outside a mux there is no pattern")
}

func TestFirstOf(t *testing.T) {
	f := FirstOf(ByKeyID, ByRemoteAddr)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.7:1"
	k, err := f(r)
	require.NoError(t, err)
	assert.Equal(t, "ip:203.0.113.7", k.String(), "anonymous callers by address")

	k, err = f(withPrincipal(r, &gatehouse.Principal{ID: "u", KeyID: "k"}))
	require.NoError(t, err)
	assert.Equal(t, "key:k", k.String(), "authenticated callers by key")

	r.RemoteAddr = "@"
	_, err = f(r)
	assert.ErrorIs(t, err, ErrNoKey, "the last error when all fail")

	_, err = FirstOf()(r)
	assert.ErrorIs(t, err, ErrNoKey)
}

func TestNewKey(t *testing.T) {
	k := NewKey("account", "alice@example.com")
	assert.Equal(t, "account", k.Scope())
	assert.Equal(t, "alice@example.com", k.Value())
	_, ok := k.Addr()
	assert.False(t, ok)

	long := strings.Repeat("a", MaxKeyValue+1)
	k = NewKey("account", long)
	assert.True(t, strings.HasPrefix(k.Value(), "sha256:"))
	assert.LessOrEqual(t, len(k.Value()), MaxKeyValue)
	assert.NotEqual(t, NewKey("account", long+"b"), k, "distinct long values get distinct keys")
	assert.Equal(t, NewKey("account", long), k, "the digest is stable")
	assert.Equal(t, strings.Repeat("b", MaxKeyValue), NewKey("s", strings.Repeat("b", MaxKeyValue)).Value())

	assert.False(t, NewKey("account", "").Valid())
	assert.False(t, NewKey("a:b", "x").Valid())
	assert.False(t, Key{}.Valid())
	assert.NotEqual(t, NewKey("principal", "x"), NewKey("tenant", "x"))
}
