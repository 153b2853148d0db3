package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// The budget (DESIGN.md): a decision on a warm key allocates nothing.
// benchmarks/ratelimit_test.go compares the middleware with its peers.

var benchPolicy = MustPolicy("bench", 1_000_000, time.Second, MaxLimit)

func BenchmarkMemoryAllow(b *testing.B) {
	m, err := NewMemory(MemoryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	k := AddrKey(mustAddr(b, "203.0.113.7"))
	_, _ = m.Allow(ctx, k, benchPolicy, 1)
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := m.Allow(ctx, k, benchPolicy, 1); !d.Allowed {
			b.Fatal("refused")
		}
	}
}

// BenchmarkMemoryAllowParallel gives each goroutine a warm key of its own.
func BenchmarkMemoryAllowParallel(b *testing.B) {
	m, err := NewMemory(MemoryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := NewKey("user", "u"+strconv.FormatInt(n.Add(1), 10))
		for pb.Next() {
			if d, _ := m.Allow(ctx, k, benchPolicy, 1); !d.Allowed {
				b.Error("refused")
				return
			}
		}
	})
}

func BenchmarkMiddleware(b *testing.B) {
	m, err := NewMemory(MemoryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h := MustNew(m, benchPolicy, ByRemoteAddr, Config{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.7:51000"
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.code != http.StatusNoContent {
		b.Fatalf("status %d, want 204: the requests were refused, not served", w.code)
	}
}

func BenchmarkClientIPKey(b *testing.B) {
	c := MustClientIP(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:443"
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.3")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Key(r); err != nil {
			b.Fatal(err)
		}
	}
}
