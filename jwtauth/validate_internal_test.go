package jwtauth

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
)

// jwtTimeError is what the authenticator did before validateTimes: run
// golang-jwt's validator and map what it found. The validator joins all
// its findings; this order picks the one the client is told.
func jwtTimeError(claims jwt.MapClaims, now time.Time, leeway time.Duration) error {
	err := jwt.NewValidator(jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return now })).Validate(claims)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrInvalidType), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errBadClaims
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errNotYetValid
	}
	return errBadClaims
}

func TestValidateTimes(t *testing.T) {
	now := time.Unix(1_800_000_000, 250_000_000) // a quarter second past a whole second
	const lw = 30 * time.Second
	n := float64(now.Unix())
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   error
	}{
		{"valid", jwt.MapClaims{"exp": n + 60, "nbf": n - 60, "iat": n - 60}, nil},
		{"exp only", jwt.MapClaims{"exp": n + 1}, nil},
		{"exp missing", jwt.MapClaims{"iat": n}, errBadClaims},
		{"exp zero is missing", jwt.MapClaims{"exp": 0.0}, errBadClaims},
		{"exp a string", jwt.MapClaims{"exp": "soon"}, errBadClaims},
		{"exp null", jwt.MapClaims{"exp": nil}, errBadClaims},
		{"exp an array", jwt.MapClaims{"exp": []any{n + 60}}, errBadClaims},
		{"exp past the leeway", jwt.MapClaims{"exp": n - 31}, errExpired},
		{"exp within the leeway", jwt.MapClaims{"exp": n - 29}, nil},
		// now is 0.25 s past n: exp+leeway = n is no longer ahead of it.
		{"exp exactly the leeway ago", jwt.MapClaims{"exp": n - 30}, errExpired},
		{"exp within the leeway by a second", jwt.MapClaims{"exp": n - 29}, nil},
		// n-29.1 is read as n-30, as golang-jwt reads it: expired.
		{"exp fraction rounded down", jwt.MapClaims{"exp": n - 30 + 0.9}, errExpired},
		{"exp negative", jwt.MapClaims{"exp": -5.0}, errExpired},
		{"nbf future", jwt.MapClaims{"exp": n + 60, "nbf": n + 31}, errNotYetValid},
		{"nbf within the leeway", jwt.MapClaims{"exp": n + 60, "nbf": n + 30}, nil},
		{"nbf zero is absent", jwt.MapClaims{"exp": n + 60, "nbf": 0.0}, nil},
		{"nbf a string", jwt.MapClaims{"exp": n + 60, "nbf": "now"}, errBadClaims},
		{"iat future", jwt.MapClaims{"exp": n + 600, "iat": n + 60}, errNotYetValid},
		{"iat a bool", jwt.MapClaims{"exp": n + 600, "iat": true}, errBadClaims},
		{"malformed beats expired", jwt.MapClaims{"exp": n - 600, "nbf": "x"}, errBadClaims},
		{"expired beats not yet valid", jwt.MapClaims{"exp": n - 600, "nbf": n + 600}, errExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := validateTimes(tt.claims, now, lw)
			assert.Equal(t, tt.want, err)
			assert.Equal(t, jwtTimeError(tt.claims, now, lw), err, "differs from golang-jwt's validator")
			if err == nil {
				// The expiry handed to the cache is the one just checked.
				assert.Equal(t, time.Unix(int64(math.Floor(tt.claims["exp"].(float64))), 0).UTC(), exp)
			}
		})
	}
	// Dates golang-jwt would turn into times past the year 2^40 s: refused
	// here as malformed rather than compared.
	for _, f := range []float64{1 << 41, -(1 << 41), math.MaxFloat64} {
		_, err := validateTimes(jwt.MapClaims{"exp": f}, now, lw)
		assert.Equal(t, errBadClaims, err, fmt.Sprint(f))
	}
}

// FuzzValidateTimes holds validateTimes to golang-jwt's validator for any
// exp, nbf and iat in range: the same refusal class or none.
func FuzzValidateTimes(f *testing.F) {
	f.Add(int64(1_800_000_000), 60.0, -60.0, -60.0, uint8(7), int64(30))
	f.Add(int64(1_800_000_000), -30.5, 31.0, 0.0, uint8(3), int64(0))
	f.Add(int64(0), 0.0, 0.0, 0.0, uint8(1), int64(120))
	f.Fuzz(func(t *testing.T, nowSec int64, exp, nbf, iat float64, present uint8, leewaySec int64) {
		if nowSec < 0 || nowSec > 1<<36 || leewaySec < 0 || leewaySec > 120 {
			return
		}
		now := time.Unix(nowSec, 0)
		claims := jwt.MapClaims{}
		base := float64(nowSec)
		for i, c := range []struct {
			name string
			v    float64
		}{{"exp", exp}, {"nbf", nbf}, {"iat", iat}} {
			if present&(1<<i) == 0 {
				continue
			}
			v := base + c.v
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1<<40 {
				return
			}
			claims[c.name] = v
		}
		lw := time.Duration(leewaySec) * time.Second
		if _, got := validateTimes(claims, now, lw); got != jwtTimeError(claims, now, lw) {
			want := jwtTimeError(claims, now, lw)
			t.Fatalf("claims %v at %v, leeway %v: got %v, golang-jwt's validator gives %v", claims, now, lw, got, want)
		}
	})
}
