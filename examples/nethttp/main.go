// Command nethttp protects a plain net/http server with Gatehouse API keys.
//
// It keeps keys in memory, mints two demo keys at start (one that can read
// and write, one that can only read) and prints them with curl lines:
//
//	go run ./nethttp
//	curl -H "Authorization: Bearer $KEY" localhost:8081/projects
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

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	h, err := newServer(os.Stdout, *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}

// newServer builds the protected API and prints two demo keys to out.
func newServer(out io.Writer, addr string) (http.Handler, error) {
	ctx := context.Background()
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

	mux := http.NewServeMux()
	mux.Handle("GET /projects", m.Handler(m.MustRequireScopes("read")(http.HandlerFunc(listProjects))))
	mux.Handle("POST /projects", m.Handler(m.MustRequireScopes("write")(http.HandlerFunc(createProject))))
	mux.Handle("GET /me", m.Handler(http.HandlerFunc(me)))

	for _, p := range []apikey.Params{
		{Name: "demo read-write", OwnerID: "user_1", Scopes: []string{"read", "write"}},
		{Name: "demo read-only", OwnerID: "user_2", Scopes: []string{"read"}},
	} {
		key, _, err := apikey.Issue(ctx, keys, format, nil, p)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "%s key: %s\n  curl -H \"Authorization: Bearer %s\" http://%s/projects\n", p.Name, key, key, addr)
	}
	return mux, nil
}

func listProjects(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []string{"apollo", "gemini"})
}

func createProject(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusCreated, map[string]string{"status": "created"})
}

func me(w http.ResponseWriter, r *http.Request) {
	p, _ := gatehouse.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"id": p.ID, "kind": p.Kind, "scopes": p.Scopes})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
