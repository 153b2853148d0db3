package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admin"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/console"
	"github.com/gatehouse-go/gatehouse/session"
	"github.com/gatehouse-go/gatehouse/store"
)

// The console over the memory store, mounted under /console/, and a
// sign-in link for a user: a GET of the link shows a Continue button and
// spends nothing.
func Example() {
	ctx := context.Background()
	db := store.NewMemory()
	_ = db.CreateUser(ctx, &store.User{ID: "usr_ada", Email: "ada@example.com", Level: store.LevelMember})

	format := apikey.MustFormat("cpx_live.")
	mgr, _ := admin.NewManager(db, db, format, admin.Config{Orgs: db})
	sessions, _ := store.NewSessionCache(db, store.CacheConfig{})
	sm, _ := session.NewManager(sessions, session.Config{})
	login, _ := session.NewHandler(sm, db, session.HandlerConfig{})
	con, err := console.New(mgr, login, console.Config{SignInTokens: db})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", con)

	link, _ := console.IssueSignInLink(ctx, db, "/console", "usr_ada", time.Now())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", link, nil))
	fmt.Println(w.Code, strings.Contains(w.Body.String(), ">Continue</button>"))
	fmt.Println(w.Header().Get("Cache-Control"), w.Header().Get("Referrer-Policy"))
	// Output:
	// 200 true
	// no-store no-referrer
}
