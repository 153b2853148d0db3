package ginauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/ginauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// failingStore is a key store whose lookups fail, for the 503 case.
type failingStore struct{ store.KeyStore }

func (failingStore) KeyByDigest(context.Context, store.Digest) (*store.Key, error) {
	return nil, errors.New("database is down")
}

type fixture struct {
	m              *middleware.Middleware
	engine         *gin.Engine
	reader, writer string
	reached        map[string]int
}

func newFixture(t *testing.T, ks store.KeyStore) *fixture {
	t.Helper()
	ctx := context.Background()
	cache, err := store.NewKeyCache(ks, store.CacheConfig{})
	require.NoError(t, err)
	format := apikey.MustFormat("gin_test.")
	auth, err := apikey.NewAuthenticator(format, cache, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{Realm: "gin"}, auth)
	require.NoError(t, err)

	f := &fixture{m: m, engine: gin.New(), reached: map[string]int{}}
	if _, ok := ks.(failingStore); !ok {
		f.reader, _, err = apikey.Issue(ctx, cache, format, nil, apikey.Params{Name: "r", OwnerID: "user_r", Scopes: []string{"read"}})
		require.NoError(t, err)
		f.writer, _, err = apikey.Issue(ctx, cache, format, nil, apikey.Params{Name: "w", OwnerID: "user_w", Scopes: []string{"read", "write"}})
		require.NoError(t, err)
	}
	handler := func(name string) gin.HandlerFunc {
		return func(c *gin.Context) {
			f.reached[name]++
			id := ""
			if p, ok := ginauth.Principal(c); ok {
				id = p.ID
			}
			c.JSON(http.StatusOK, gin.H{"route": name, "caller": id})
		}
	}
	api := f.engine.Group("/api", ginauth.Authenticate(m))
	api.GET("/projects", ginauth.MustRequireScopes(m, "read"), handler("list"))
	api.POST("/projects", ginauth.MustRequireScopes(m, "write"), handler("create"))
	api.DELETE("/projects", ginauth.MustRequireAnyScope(m, "admin", "write"), handler("delete"))
	f.engine.GET("/public", ginauth.Optional(m), handler("public"))
	f.engine.GET("/unguarded", ginauth.MustRequireScopes(m, "read"), handler("unguarded"))
	return f
}

func TestGin(t *testing.T) {
	f := newFixture(t, store.NewMemory())
	tests := []struct {
		name, method, path, auth string
		want                     int
		wantCode, wantCaller     string
		wantChallenge            string
	}{
		{"no credentials", "GET", "/api/projects", "", 401, "unauthenticated", "", `Bearer realm="gin"`},
		{"reader lists", "GET", "/api/projects", "Bearer " + f.reader, 200, "", "user_r", ""},
		{"reader cannot create", "POST", "/api/projects", "Bearer " + f.reader, 403, "insufficient_scope", "", `scope="write"`},
		{"writer creates", "POST", "/api/projects", "Bearer " + f.writer, 200, "", "user_w", ""},
		{"any of admin or write", "DELETE", "/api/projects", "Bearer " + f.writer, 200, "", "user_w", ""},
		{"any of, neither", "DELETE", "/api/projects", "Bearer " + f.reader, 403, "insufficient_scope", "", `error="insufficient_scope"`},
		{"bad checksum", "GET", "/api/projects", "Bearer " + flipLast(f.reader), 401, "invalid_token", "", `error="invalid_token"`},
		{"unsupported scheme", "GET", "/api/projects", "Basic abc", 401, "unauthenticated", "", `Bearer realm="gin"`},
		{"empty bearer", "GET", "/api/projects", "Bearer ", 400, "invalid_request", "", `error="invalid_request"`},
		{"optional, anonymous", "GET", "/public", "", 200, "", "", ""},
		{"optional, authenticated", "GET", "/public", "Bearer " + f.reader, 200, "", "user_r", ""},
		{"optional, bad key still refused", "GET", "/public", "Bearer " + f.reader + "x", 401, "invalid_token", "", `error="invalid_token"`},
		{"scope guard without Authenticate", "GET", "/unguarded", "Bearer " + f.reader, 401, "unauthenticated", "", `Bearer realm="gin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			f.engine.ServeHTTP(rec, req)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			if tt.want != http.StatusOK {
				assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
				var body struct {
					Status int
					Code   string
					Detail string
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tt.want, body.Status)
				assert.Equal(t, tt.wantCode, body.Code)
				assert.NotEmpty(t, body.Detail)
				require.NotEmpty(t, tt.wantChallenge, "every refusal in this table names its challenge")
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), tt.wantChallenge)
				if f.reader != "" {
					assert.NotContains(t, rec.Body.String(), f.reader[len("gin_test."):], "a refusal never echoes the key")
				}
				return
			}
			var body struct{ Caller string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tt.wantCaller, body.Caller)
		})
	}
	assert.Zero(t, f.reached["unguarded"], "an aborted chain never reaches the handler")
}

func TestGinStoreDown(t *testing.T) {
	f := newFixture(t, failingStore{store.NewMemory()})
	format := apikey.MustFormat("gin_test.")
	key, err := format.Generate()
	require.NoError(t, err)
	req := httptest.NewRequest("GET", "/api/projects", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	f.engine.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a store error fails closed")
	assert.True(t, strings.Contains(rec.Body.String(), `"code":"unavailable"`), rec.Body.String())
	assert.Zero(t, f.reached["list"])
}

func TestRequireScopesInvalid(t *testing.T) {
	m := newFixture(t, store.NewMemory()).m
	_, err := ginauth.RequireScopes(m)
	assert.Error(t, err, "an empty list is refused")
	_, err = ginauth.RequireAnyScope(m, `bad"scope`)
	assert.Error(t, err)
	assert.Panics(t, func() { ginauth.MustRequireScopes(m) })
}

// flipLast changes the last character of key to another base62 one, so
// that its checksum fails whatever that character was.
func flipLast(key string) string {
	c := byte('x')
	if key[len(key)-1] == c {
		c = 'y'
	}
	return key[:len(key)-1] + string(c)
}

// TestGinCredits: a key's credits are spent through gin as through
// net/http, and the response tells the client what is left.
func TestGinCredits(t *testing.T) {
	mem := store.NewMemory()
	format := apikey.MustFormat("gin_test.")
	auth, err := apikey.NewAuthenticator(format, mem, apikey.Config{})
	require.NoError(t, err)
	m, err := middleware.New(middleware.Config{Realm: "gin", Credits: mem}, auth)
	require.NoError(t, err)
	key, _, err := apikey.Issue(t.Context(), mem, format, nil, apikey.Params{Name: "metered", OwnerID: "u", Scopes: []string{"read"},
		Credits: &gatehouse.Credits{Remaining: 2}})
	require.NoError(t, err)
	plain, _, err := apikey.Issue(t.Context(), mem, format, nil, apikey.Params{Name: "plain", OwnerID: "u", Scopes: []string{"read"}})
	require.NoError(t, err)
	r := gin.New()
	r.GET("/api/projects", ginauth.Authenticate(m), ginauth.MustRequireScopes(m, "read"), func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/public", ginauth.Optional(m), func(c *gin.Context) { c.String(http.StatusOK, "ok") })

	tests := []struct {
		name, path, key string
		want            int
		left            string // X-Gatehouse-Credits-Remaining; "" absent
	}{
		{"first use", "/api/projects", key, http.StatusOK, "1"},
		{"optional route", "/public", key, http.StatusOK, "0"},
		{"none left", "/api/projects", key, http.StatusTooManyRequests, "0"},
		{"no credits", "/api/projects", plain, http.StatusOK, ""},
		{"anonymous on the optional route", "/public", "", http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
			_, present := rec.Header()[middleware.HeaderCreditsRemaining]
			assert.Equal(t, tc.left != "", present)
			assert.Equal(t, tc.left, rec.Header().Get(middleware.HeaderCreditsRemaining))
		})
	}
}
