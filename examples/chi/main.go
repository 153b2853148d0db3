// Command chi protects a chi router with Gatehouse: the middleware is plain
// net/http, so it plugs into chi's Use and With as it is.
//
//	go run ./chi
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	flag.Parse()
	h, err := newRouter(os.Stdout, *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}

func newRouter(out io.Writer, addr string) (http.Handler, error) {
	keys, err := store.NewKeyCache(store.NewMemory(), store.CacheConfig{})
	if err != nil {
		return nil, err
	}
	format := apikey.MustFormat("demo_live.")
	auth, err := apikey.NewAuthenticator(format, keys, apikey.Config{})
	if err != nil {
		return nil, err
	}
	m, err := middleware.New(middleware.Config{Realm: "demo"}, auth)
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	r.Group(func(r chi.Router) {
		r.Use(m.Handler) // everything in this group needs a valid key
		r.With(m.MustRequireScopes("read")).Get("/projects/{id}", getProject)
		r.With(m.MustRequireAnyScope("write", "admin")).Delete("/projects/{id}", deleteProject)
	})

	key, _, err := apikey.Issue(context.Background(), keys, format, nil,
		apikey.Params{Name: "demo reader", OwnerID: "user_1", Scopes: []string{"read"}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "reader key: %s\n  curl -H \"Authorization: Bearer %s\" http://%s/projects/7\n", key, key, addr)
	return r, nil
}

func getProject(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": chi.URLParam(r, "id"), "viewer": p.ID})
}

func deleteProject(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}
