package main

import (
	"bytes"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetrics(t *testing.T) {
	var out bytes.Buffer
	h, err := newServer(&out, "127.0.0.1:0", prometheus.NewRegistry())
	require.NoError(t, err)
	m := regexp.MustCompile(`demo key: (demo_live\.\S+)`).FindStringSubmatch(out.String())
	require.Len(t, m, 2)
	key := m[1]

	for _, auth := range []string{"Bearer " + key, "Bearer " + key, "", "Bearer " + flipLast(key)} {
		req := httptest.NewRequest("GET", "/projects", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	body := rec.Body.String()
	for _, line := range []string{
		`gatehouse_auth_requests_total{result="ok"} 2`,
		`gatehouse_auth_requests_total{result="unauthenticated"} 1`,
		`gatehouse_auth_requests_total{result="invalid_token"} 1`,
		`gatehouse_cache_lookups_total{outcome="hit"} 1`,
		`gatehouse_cache_lookups_total{outcome="miss"} 1`,
		`gatehouse_store_load_seconds_count{result="found"} 1`,
	} {
		assert.Contains(t, body, line)
	}
	assert.NotContains(t, body, key[len("demo_live."):], "metrics never carry a credential")
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
