package ginauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/ginauth"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

// Protect a gin route group with API keys and require a scope per route.
func Example() {
	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	format := apikey.MustFormat("cpx_live.")
	auth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
	m, _ := middleware.New(middleware.Config{Realm: "api"}, auth)
	key, _, _ := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "CI", OwnerID: "user_1", Scopes: []string{"read"}})

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	api := r.Group("/api", ginauth.Authenticate(m))
	api.GET("/projects", ginauth.MustRequireScopes(m, "read"), func(c *gin.Context) {
		p, _ := ginauth.Principal(c)
		c.String(http.StatusOK, "projects for %s", p.ID)
	})
	api.POST("/projects", ginauth.MustRequireScopes(m, "write"), func(c *gin.Context) {
		c.Status(http.StatusCreated)
	})

	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/api/projects", nil),
		httptest.NewRequest("GET", "/api/projects", nil),
		httptest.NewRequest("POST", "/api/projects", nil),
	} {
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	anon := httptest.NewRecorder()
	r.ServeHTTP(anon, httptest.NewRequest("GET", "/api/projects", nil))
	fmt.Println(anon.Code, anon.Header().Get("Content-Type"))
	// Output:
	// 200 projects for user_1
	// 200 projects for user_1
	// 403 {"type":"about:blank","title":"Forbidden","status":403,"detail":"The credential lacks a required scope: write","code":"insufficient_scope"}
	// 401 application/problem+json
}
