package apikey_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/apikey"
	"github.com/gatehouse-go/gatehouse/store"
)

func TestIssue(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	mem := store.NewMemory()
	key, rec, err := apikey.Issue(context.Background(), mem, testFormat, nil, apikey.Params{
		Name: "CI", Description: "deploys", OwnerID: "usr_1", TenantID: "org_1", Scopes: []string{"write", "read", "read"},
		ExpiresAt: now.Add(24 * time.Hour), CreatedBy: "usr_admin", Metadata: map[string]string{"team": "infra"}, Now: now,
	})
	require.NoError(t, err)
	require.NoError(t, testFormat.Parse(key))
	assert.True(t, wellFormed(testPrefix, key))

	assert.True(t, strings.HasPrefix(rec.ID, "key_"))
	assert.Equal(t, store.Digest(sha256Of(key)), rec.Digest, "SHA-256 without a pepper")
	assert.Equal(t, testPrefix, rec.Prefix)
	assert.Equal(t, key[len(key)-4:], rec.Last4)
	assert.Equal(t, "CI", rec.Name)
	assert.Equal(t, "deploys", rec.Description)
	assert.Equal(t, "usr_1", rec.OwnerID)
	assert.Equal(t, "org_1", rec.TenantID)
	assert.Equal(t, []string{"read", "write"}, rec.Scopes, "normalized")
	assert.Equal(t, "usr_admin", rec.CreatedBy)
	assert.Equal(t, now.UTC(), rec.CreatedAt)
	assert.Equal(t, time.UTC, rec.CreatedAt.Location())
	assert.Equal(t, now.Add(24*time.Hour).UTC(), rec.ExpiresAt)
	assert.Equal(t, map[string]string{"team": "infra"}, rec.Metadata)
	assertNoPlaintext(t, rec, key)

	stored, err := mem.KeyByID(context.Background(), rec.ID)
	require.NoError(t, err)
	assert.Equal(t, rec, stored)
	assertNoPlaintext(t, stored, key)

	// The returned record is the caller's copy.
	rec.Scopes[0] = "changed"
	rec.Metadata["team"] = "changed"
	stored, err = mem.KeyByID(context.Background(), rec.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, stored.Scopes)
	assert.Equal(t, "infra", stored.Metadata["team"])
}

// assertNoPlaintext checks that no string field of k holds the key or a
// long piece of it: only the digest and the last 4 are stored.
func assertNoPlaintext(t *testing.T, k *store.Key, key string) {
	t.Helper()
	body := key[len(testPrefix):]
	v := reflect.ValueOf(k).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.String {
			assert.NotContains(t, f.String(), body[:8], "field %s", v.Type().Field(i).Name)
			assert.NotContains(t, f.String(), body[len(body)-8:], "field %s", v.Type().Field(i).Name)
		}
	}
}

func TestIssueDefaults(t *testing.T) {
	mem := store.NewMemory()
	before := time.Now()
	key, rec, err := apikey.Issue(context.Background(), mem, testFormat, nil, apikey.Params{Name: "plain"})
	require.NoError(t, err)
	require.NoError(t, testFormat.Parse(key))
	assert.False(t, rec.CreatedAt.Before(before.Truncate(time.Second)), "Now defaults to the time of the call")
	assert.True(t, rec.ExpiresAt.IsZero(), "no expiry")
	assert.Empty(t, rec.Scopes)
}

func TestIssueRoleWithoutScopes(t *testing.T) {
	mem := store.NewMemory()
	_, rec, err := apikey.Issue(context.Background(), mem, testFormat, nil, apikey.Params{Name: "r", Role: "viewer"})
	require.NoError(t, err)
	assert.Equal(t, "viewer", rec.Role)
	assert.Empty(t, rec.Scopes)
}

func TestIssueInvalid(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		format apikey.Format
		p      apikey.Params
	}{
		{name: "no name", format: testFormat, p: apikey.Params{Now: now}},
		{name: "invalid scope", format: testFormat, p: apikey.Params{Name: "x", Scopes: []string{"a b"}, Now: now}},
		{name: "empty scope", format: testFormat, p: apikey.Params{Name: "x", Scopes: []string{""}, Now: now}},
		{name: "expiry in the past", format: testFormat, p: apikey.Params{Name: "x", ExpiresAt: now.Add(-time.Second), Now: now}},
		{name: "expiry now", format: testFormat, p: apikey.Params{Name: "x", ExpiresAt: now, Now: now}},
		{name: "zero format", p: apikey.Params{Name: "x", Now: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probe := &countingStore{KeyStore: store.NewMemory()}
			created := &createCounter{KeyStore: probe}
			key, rec, err := apikey.Issue(context.Background(), created, tt.format, nil, tt.p)
			assert.Error(t, err)
			assert.Empty(t, key)
			assert.Nil(t, rec)
			assert.Zero(t, created.calls.Load(), "nothing is stored")
		})
	}
}

// createCounter counts CreateKey calls and fails the first fails of them
// with err.
type createCounter struct {
	store.KeyStore
	calls atomic.Int64
	fails int64
	err   error
}

func (c *createCounter) CreateKey(ctx context.Context, k *store.Key) error {
	if n := c.calls.Add(1); n <= c.fails {
		return c.err
	}
	return c.KeyStore.CreateKey(ctx, k)
}

func TestIssueStoreErrors(t *testing.T) {
	backend := errors.New("disk full")
	tests := []struct {
		name    string
		fails   int64
		err     error
		wantErr error
		calls   int64
	}{
		{name: "one conflict is retried", fails: 1, err: store.ErrConflict, calls: 2},
		{name: "two conflicts are retried", fails: 2, err: store.ErrConflict, calls: 3},
		{name: "three conflicts give up", fails: 3, err: store.ErrConflict, wantErr: store.ErrConflict, calls: 3},
		{name: "a backend error is not retried", fails: 1, err: backend, wantErr: backend, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &createCounter{KeyStore: store.NewMemory(), fails: tt.fails, err: tt.err}
			key, rec, err := apikey.Issue(context.Background(), c, testFormat, nil, apikey.Params{Name: "x"})
			assert.Equal(t, tt.calls, c.calls.Load())
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, key)
				assert.Nil(t, rec)
				return
			}
			require.NoError(t, err)
			require.NoError(t, testFormat.Parse(key))
			stored, err := c.KeyByDigest(context.Background(), rec.Digest)
			require.NoError(t, err)
			assert.Equal(t, rec.ID, stored.ID)
		})
	}
}

// TestIssueThroughCache issues a key through a KeyCache, as the admin API
// does: the new key authenticates at once.
func TestIssueThroughCache(t *testing.T) {
	e := newEnv(t, true, apikey.Config{})
	key, _, err := apikey.Issue(context.Background(), e.cache, testFormat, nil, apikey.Params{Name: "x", Now: e.clock.Now()})
	require.NoError(t, err)
	p, err := e.auth.Verify(context.Background(), key)
	require.NoError(t, err)
	assert.NotEmpty(t, p.KeyID)
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }
