package loopback

import "testing"

func TestHost(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "localhost.evil.example": false, "10.0.0.1": false, "example.com": false,
		"": false, "0.0.0.0": false, "::": false,
	}
	for host, want := range tests {
		if got := Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}
