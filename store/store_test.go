package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse-go/gatehouse/store"
)

var (
	_ store.KeyStore = (*store.Memory)(nil)
	_ store.KeyStore = (*store.KeyCache)(nil)
)

func TestKeyRevoked(t *testing.T) {
	assert.False(t, (&store.Key{}).Revoked())
	assert.True(t, (&store.Key{RevokedAt: time.Unix(1, 0)}).Revoked())
}

func TestKeyExpiredAt(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		expiresAt time.Time
		at        time.Time
		want      bool
	}{
		{name: "never expires", expiresAt: time.Time{}, at: exp.AddDate(100, 0, 0)},
		{name: "one second before", expiresAt: exp, at: exp.Add(-time.Second)},
		{name: "one nanosecond before", expiresAt: exp, at: exp.Add(-1)},
		{name: "at expiry", expiresAt: exp, at: exp, want: true},
		{name: "at expiry in another zone", expiresAt: exp, at: exp.In(time.FixedZone("X", 3600)), want: true},
		{name: "one second after", expiresAt: exp, at: exp.Add(time.Second), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &store.Key{ExpiresAt: tt.expiresAt}
			assert.Equal(t, tt.want, k.ExpiredAt(tt.at))
		})
	}
}

func TestKeyClone(t *testing.T) {
	k := &store.Key{
		ID:       "key_1",
		Digest:   store.Digest{1, 2, 3},
		Scopes:   []string{"read"},
		Metadata: map[string]string{"team": "a"},
	}
	c := k.Clone()
	assert.Equal(t, k, c)
	assert.NotSame(t, k, c)

	c.Scopes[0] = "write"
	c.Metadata["team"] = "b"
	c.Digest[0] = 9
	assert.Equal(t, []string{"read"}, k.Scopes)
	assert.Equal(t, map[string]string{"team": "a"}, k.Metadata)
	assert.Equal(t, byte(1), k.Digest[0])

	bare := (&store.Key{ID: "key_2"}).Clone()
	assert.Nil(t, bare.Scopes)
	assert.Nil(t, bare.Metadata)
}

func TestPageLimit(t *testing.T) {
	tests := []struct {
		in, want int
	}{
		{in: -5, want: 100},
		{in: 0, want: 100},
		{in: 1, want: 1},
		{in: 100, want: 100},
		{in: 1000, want: 1000},
		{in: 1001, want: 1000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			assert.Equal(t, tt.want, store.PageLimit(tt.in))
		})
	}
}
