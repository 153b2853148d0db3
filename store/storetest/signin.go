package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/store"
)

// RunSignInTokenStore runs the conformance suite for
// [store.SignInTokenStore]: a token is consumed once and only once (also
// by 20 concurrent callers), an expired token is deleted and reported
// missing, at exactly its expiry too, and a duplicate digest conflicts.
// newStore must return a new, empty store for each call.
func RunSignInTokenStore(t *testing.T, newStore func(t *testing.T) store.SignInTokenStore) {
	t.Helper()
	ctx := context.Background()
	var n int
	newToken := func() *store.SignInToken {
		n++
		return &store.SignInToken{Digest: sha256.Sum256([]byte(store.NewID("sit") + string(rune('a'+n)))),
			UserID: "usr_1", CreatedAt: base, ExpiresAt: base.Add(15 * time.Minute)}
	}
	runCases(t, newStore, []suiteCase[store.SignInTokenStore]{
		{"ConsumeOnce", func(t *testing.T, s store.SignInTokenStore) {
			tok := newToken()
			tok.Digest = store.Digest{0x00, 0x27, 0x5c, 0xff} // NULs, quote, backslash
			require.NoError(t, s.CreateSignInToken(ctx, tok))
			got, err := s.ConsumeSignInToken(ctx, tok.Digest, base.Add(time.Minute))
			require.NoError(t, err)
			assert.Equal(t, tok.Digest, got.Digest)
			assert.Equal(t, tok.UserID, got.UserID)
			assertTime(t, "CreatedAt", tok.CreatedAt, got.CreatedAt)
			assertTime(t, "ExpiresAt", tok.ExpiresAt, got.ExpiresAt)
			_, err = s.ConsumeSignInToken(ctx, tok.Digest, base.Add(time.Minute))
			assert.ErrorIs(t, err, store.ErrNotFound, "a token works once")
		}},
		{"Conflict", func(t *testing.T, s store.SignInTokenStore) {
			tok := newToken()
			require.NoError(t, s.CreateSignInToken(ctx, tok))
			other := *tok
			other.UserID = "usr_2"
			assert.ErrorIs(t, s.CreateSignInToken(ctx, &other), store.ErrConflict)
			got, err := s.ConsumeSignInToken(ctx, tok.Digest, base)
			require.NoError(t, err)
			assert.Equal(t, "usr_1", got.UserID, "the first token stays")
		}},
		{"Unknown", func(t *testing.T, s store.SignInTokenStore) {
			require.NoError(t, s.CreateSignInToken(ctx, newToken()))
			_, err := s.ConsumeSignInToken(ctx, store.Digest{1, 2, 3}, base)
			assert.ErrorIs(t, err, store.ErrNotFound)
		}},
		{"Expiry", func(t *testing.T, s store.SignInTokenStore) {
			tests := []struct {
				name string
				at   time.Duration // after ExpiresAt
				ok   bool
			}{
				{"a microsecond before expiry", -time.Microsecond, true},
				{"at expiry", 0, false},
				{"after expiry", time.Second, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					tok := newToken()
					require.NoError(t, s.CreateSignInToken(ctx, tok))
					got, err := s.ConsumeSignInToken(ctx, tok.Digest, tok.ExpiresAt.Add(tc.at))
					if tc.ok {
						require.NoError(t, err)
						assert.Equal(t, tok.UserID, got.UserID)
						return
					}
					assert.ErrorIs(t, err, store.ErrNotFound)
					assert.Nil(t, got)
					// The expired token is gone: not even an earlier clock finds it.
					_, err = s.ConsumeSignInToken(ctx, tok.Digest, base)
					assert.ErrorIs(t, err, store.ErrNotFound, "an expired token is deleted")
				})
			}
		}},
		{"ConcurrentConsume", func(t *testing.T, s store.SignInTokenStore) {
			for range 5 {
				tok := newToken()
				require.NoError(t, s.CreateSignInToken(ctx, tok))
				const racers = 20
				errs := make([]error, racers)
				got := make([]*store.SignInToken, racers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range racers {
					wg.Go(func() {
						<-start
						got[i], errs[i] = s.ConsumeSignInToken(ctx, tok.Digest, base)
					})
				}
				close(start)
				wg.Wait()
				won := 0
				for i, err := range errs {
					if err == nil {
						won++
						assert.Equal(t, tok.UserID, got[i].UserID)
						continue
					}
					assert.ErrorIs(t, err, store.ErrNotFound)
				}
				assert.Equal(t, 1, won, "exactly one of %d concurrent callers gets the token", racers)
			}
		}},
		{"CancelledContext", func(t *testing.T, s store.SignInTokenStore) {
			tok := newToken()
			require.NoError(t, s.CreateSignInToken(ctx, tok))
			c, cancel := context.WithCancel(ctx)
			cancel()
			other := newToken()
			assert.ErrorIs(t, s.CreateSignInToken(c, other), context.Canceled)
			_, err := s.ConsumeSignInToken(c, tok.Digest, base)
			assert.ErrorIs(t, err, context.Canceled)
			got, err := s.ConsumeSignInToken(ctx, tok.Digest, base)
			require.NoError(t, err, "a consume under a cancelled context left the token")
			assert.Equal(t, tok.UserID, got.UserID)
			_, err = s.ConsumeSignInToken(ctx, other.Digest, base)
			assert.True(t, errors.Is(err, store.ErrNotFound), "a create under a cancelled context stored nothing: %v", err)
		}},
	})
}
