package sqlstore

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/internal/testproxy"
	"github.com/gatehouse-go/gatehouse/store"
)

// throughProxy returns dsn with its host replaced by a proxy the test
// controls.
func throughProxy(t *testing.T, dsn string) (string, *testproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	p := testproxy.Start(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// TestWriteInHungNetworkDoesNotCommit holds a key creation in the network
// at two points, the INSERT and the COMMIT, past the caller's deadline,
// then lets the held bytes through as a healed partition would. The caller
// got an error, so the key must not exist: a key whose secret nobody
// received. Without the transaction (INSERT) or the commit fence (COMMIT)
// the held statement commits when it arrives.
func TestWriteInHungNetworkDoesNotCommit(t *testing.T) {
	tests := []struct {
		name string
		hang func(*testproxy.Proxy)
	}{
		{"the INSERT's execution", func(p *testproxy.Proxy) { p.HangAfter("INSERT INTO gatehouse_keys") }},
		{"the COMMIT", func(p *testproxy.Proxy) { p.HangOn("commit") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := postgresDSN(t)
			viaProxy, proxy := throughProxy(t, dsn)
			s := open(t, viaProxy)
			direct := open(t, dsn)

			tc.hang(proxy)
			k := testKey("held")
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err := s.CreateKey(ctx, k)
			elapsed := time.Since(start)
			require.Error(t, err, "the write could not be acknowledged")
			assert.True(t, errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil, "the caller's deadline ended it: %v", err)
			assert.Less(t, elapsed, 2*time.Second, "the write ends with its context")

			// The partition heals after the deadline: the held bytes go
			// through.
			time.Sleep(300 * time.Millisecond)
			proxy.Resume()
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				_, err := direct.KeyByID(context.Background(), k.ID)
				require.ErrorIs(t, err, store.ErrNotFound, "a write whose caller got an error committed afterwards")
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestStatementTimeout: the database's own guard ends a statement the
// client no longer waits for.
func TestStatementTimeout(t *testing.T) {
	s, err := Open(context.Background(), postgresDSN(t), Config{StatementTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	start := time.Now()
	_, err = s.DB().ExecContext(context.Background(), `SELECT pg_sleep(5)`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "statement timeout")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestCheckPepper(t *testing.T) {
	hasher := func(pepper string) *store.Hasher {
		h, err := store.NewHasher([]byte(pepper))
		require.NoError(t, err)
		return h
	}
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			tests := []struct {
				name          string
				first, second string
				ok            bool
			}{
				{"same pepper", "pepper-0123456789abcdef", "pepper-0123456789abcdef", true},
				{"neither peppered", "", "", true},
				{"pepper missing", "pepper-0123456789abcdef", "", false},
				{"pepper where none was used", "", "pepper-0123456789abcdef", false},
				{"another pepper", "pepper-0123456789abcdef", "pepper-fedcba9876543210", false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					dsn := d.fresh(t)
					require.NoError(t, open(t, dsn).CheckPepper(ctx, hasher(tc.first)))
					err := open(t, dsn).CheckPepper(ctx, hasher(tc.second))
					if tc.ok {
						assert.NoError(t, err)
						return
					}
					assert.ErrorIs(t, err, ErrPepperMismatch)
					assert.NotContains(t, err.Error(), "pepper-", "the pepper is never in a message")
				})
			}
		})
		t.Run(d.name+"/racing first processes agree", func(t *testing.T) {
			dsn := d.fresh(t)
			open(t, dsn) // migrated once
			peppers := []string{"", "pepper-0123456789abcdef", "pepper-fedcba9876543210"}
			errs := make([]error, 9)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = open(t, dsn).CheckPepper(ctx, hasher(peppers[i%3]))
				}()
			}
			wg.Wait()
			var ok int
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					assert.ErrorIs(t, err, ErrPepperMismatch)
				}
			}
			assert.Equal(t, 3, ok, "exactly the processes with the first recorded pepper pass")
		})
	}
}
