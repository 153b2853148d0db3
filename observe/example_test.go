package observe_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/observe"
	"github.com/gatehouse-go/gatehouse/store"
)

// Count decisions and cache outcomes, and log refusals, from one observer
// given to both the key cache and the middleware.
func Example() {
	counters := &observe.Counters{}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // stable output for the example
			}
			return a
		},
	}))
	obs := observe.Multi(observe.NewSlog(logger, nil), counters)

	keys, _ := store.NewKeyCache(store.NewMemory(), store.CacheConfig{Observer: obs})
	format := apikey.MustFormat("cpx_live.")
	auth, _ := apikey.NewAuthenticator(format, keys, apikey.Config{})
	m, _ := middleware.New(middleware.Config{Observer: obs}, auth)
	key, _, _ := apikey.Issue(context.Background(), keys, format, nil, apikey.Params{Name: "CI", OwnerID: "user_1"})
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for _, auth := range []string{"Bearer " + key, "Bearer " + key, ""} {
		req := httptest.NewRequest("GET", "/projects", nil)
		req.RemoteAddr = "192.0.2.7:41000"
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	s := counters.Snapshot()
	fmt.Println("ok:", s.Authenticated, "refused:", s.Refused, "hits:", s.Hits, "misses:", s.Misses)
	// Output:
	// level=INFO msg=gatehouse.auth.refused status=401 code=unauthenticated client_ip=192.0.2.7 method=GET path=/projects reason=missing
	// ok: 2 refused: map[unauthenticated:1] hits: 1 misses: 1
}
