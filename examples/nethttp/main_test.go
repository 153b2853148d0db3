package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServer(t *testing.T) {
	var out bytes.Buffer
	h, err := newServer(&out, "127.0.0.1:0")
	require.NoError(t, err)
	keys := regexp.MustCompile(`key: (demo_live\.\S+)`).FindAllStringSubmatch(out.String(), -1)
	require.Len(t, keys, 2)
	rw, ro := keys[0][1], keys[1][1]

	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		name, method, path, key string
		want                    int
	}{
		{"no key", "GET", "/projects", "", 401},
		{"read-write key reads", "GET", "/projects", rw, 200},
		{"read-write key writes", "POST", "/projects", rw, 201},
		{"read-only key reads", "GET", "/projects", ro, 200},
		{"read-only key cannot write", "POST", "/projects", ro, 403},
		{"made-up key", "GET", "/projects", "demo_live.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401},
		{"me", "GET", "/me", ro, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			require.NoError(t, err)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
			if tt.want >= 400 {
				assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			}
		})
	}
}
