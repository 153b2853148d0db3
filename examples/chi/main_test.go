package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRouter(t *testing.T) {
	var out bytes.Buffer
	h, err := newRouter(&out, "127.0.0.1:0")
	require.NoError(t, err)
	m := regexp.MustCompile(`key: (demo_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2)
	key := m[1]

	tests := []struct {
		name, method, path, key string
		want                    int
		wantCode                string
	}{
		{"public route", "GET", "/health", "", 200, ""},
		{"no key", "GET", "/projects/7", "", 401, "unauthenticated"},
		{"reader reads", "GET", "/projects/7", key, 200, ""},
		{"reader cannot delete", "DELETE", "/projects/7", key, 403, "insufficient_scope"},
		{"bad checksum", "GET", "/projects/7", flipLast(key), 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.want, rec.Code)
			if tt.wantCode != "" {
				var body struct{ Code string }
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tt.wantCode, body.Code)
			}
		})
	}
	t.Run("principal reaches the handler", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/projects/7", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.JSONEq(t, `{"id":"7","viewer":"user_1"}`, rec.Body.String())
	})
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
