package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/httpget"

	"github.com/gatehouse-go/gatehouse"
)

// JWKSConfig holds the optional settings of a [JWKS]. The zero value is
// usable.
type JWKSConfig struct {
	// Client fetches the key set. Its own Timeout, if any, also applies.
	// Default: a new http.Client that follows at most three redirects, and
	// only to https URLs unless InsecureAllowHTTP is set.
	Client *http.Client
	// Timeout bounds one fetch, connection to last byte. Default 5
	// seconds.
	Timeout time.Duration
	// MaxSize is the largest response body read, in bytes; a larger one
	// is a failed fetch. Default 1 MiB.
	MaxSize int64
	// TTL is how long a fetched set is fresh. The background refresh
	// (see [JWKS.Start]) fetches again when three quarters of it have
	// passed; without it, the first lookup after TTL fetches. A set whose
	// refresh fails is kept, however old, until a fetch succeeds. Default
	// 10 minutes.
	TTL time.Duration
	// RefetchInterval is the least time between two fetches caused by a
	// token naming a kid the set does not hold (a key the issuer just
	// added), counted from the last fetch of any kind. Tokens with other
	// unknown kids meanwhile are refused without a fetch, so a flood of
	// made-up kids costs at most one fetch per interval. Default 30
	// seconds.
	RefetchInterval time.Duration
	// RetryInterval is the least time between a failed fetch and the next
	// one, except those caused by an unknown kid. Until it has passed a
	// lookup uses the set it has (past its TTL or not) and, when there has
	// never been one, fails at once. Default 5 seconds.
	RetryInterval time.Duration
	// Algorithms lists the algorithms keys of the set may be bound to. A
	// key with an "alg" off the list is skipped; a key without one is
	// bound to its type's default (RS256 for RSA). HMAC algorithms are
	// never allowed: a published set holds public keys. Default RS256,
	// PS256, ES256, ES384 and EdDSA.
	Algorithms []string
	// InsecureAllowHTTP allows an http:// URL. Anyone on the path could
	// then substitute the keys: use it only in development. Default false
	// (https only).
	InsecureAllowHTTP bool
	// OnError, when set, is told of every failed fetch (for logs and
	// metrics). It must not block. Default none.
	OnError func(error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// JWKS is a [KeySource] backed by a remote JSON Web Key Set (RFC 7517
// section 5), such as an identity provider's jwks_uri. The set is fetched
// on first use with a timeout and a size cap, cached for TTL, refreshed in
// the background once [JWKS.Start] is called, and refetched when a token
// names an unknown kid, at most once per RefetchInterval. Concurrent
// fetches are coalesced into one. When a fetch fails the previous set is
// kept; only when there has never been a set is a lookup an error, which
// the authenticator turns into 503.
//
// A key that disappears from the set, or whose material changes, is
// revoked: tokens it verified leave the token cache on their next use.
//
// A JWKS is safe for concurrent use. Call Close to stop the background
// refresh.
type JWKS struct {
	url    string
	cfg    JWKSConfig
	client *http.Client

	set atomic.Pointer[keySet]
	// lastFetch is when the last fetch began (Unix nanoseconds), and
	// failedAt when the last one failed (0 after a success).
	lastFetch atomic.Int64
	failedAt  atomic.Int64

	mu     sync.Mutex // guards flight
	flight *fetchFlight

	life    sync.Mutex // guards started, closed, cancel, done
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}

	// after is the timer of the refresh loop; tests replace it.
	after func(time.Duration) <-chan time.Time
	// locate, when set, runs at the start of every fetch and returns the
	// URL to fetch instead of url: a [DiscoveredKeys] refreshes its
	// discovery document there. Fetches are serialized, so it never runs
	// twice at once.
	locate func(ctx context.Context) string
}

// keySet is one fetched set.
type keySet struct {
	byID    map[string]*Key
	only    *Key // the sole key, when the set holds exactly one
	fetched time.Time
}

// fetchFlight is one fetch that concurrent callers wait for.
type fetchFlight struct {
	done chan struct{}
	err  error
}

var _ KeySource = (*JWKS)(nil)

// NewJWKS returns a key source for the key set at rawURL. It fetches
// nothing until the first lookup or [JWKS.Start].
func NewJWKS(rawURL string, cfg JWKSConfig) (*JWKS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("jwtauth: jwks: invalid URL")
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !cfg.InsecureAllowHTTP) {
		return nil, errors.New("jwtauth: jwks: the URL must be https (see InsecureAllowHTTP)")
	}
	return newJWKS(u.String(), cfg)
}

// newJWKS checks cfg and returns a key source for rawURL, which the caller
// has checked.
func newJWKS(rawURL string, cfg JWKSConfig) (*JWKS, error) {
	if cfg.Timeout < 0 || cfg.MaxSize < 0 || cfg.TTL < 0 || cfg.RefetchInterval < 0 || cfg.RetryInterval < 0 {
		return nil, errors.New("jwtauth: jwks: sizes and durations must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 1 << 20
	}
	if cfg.TTL == 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.RefetchInterval == 0 {
		cfg.RefetchInterval = 30 * time.Second
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = asymmetricAlgorithms
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	for _, a := range cfg.Algorithms {
		if _, ok := algorithms[a]; !ok || isHMAC(a) {
			return nil, fmt.Errorf("jwtauth: jwks: algorithm %q is not allowed for a key set", safeForError(a))
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	j := &JWKS{url: rawURL, cfg: cfg, client: cfg.Client, after: time.After}
	if j.client == nil {
		j.client = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != "https" && !cfg.InsecureAllowHTTP {
				return errors.New("jwtauth: jwks: redirect to a URL that is not https")
			}
			if len(via) >= 3 {
				return errors.New("jwtauth: jwks: too many redirects")
			}
			return nil
		}}
	}
	return j, nil
}

// Algorithms implements [KeySource].
func (j *JWKS) Algorithms() []string { return slices.Clone(j.cfg.Algorithms) }

// Key implements [KeySource].
func (j *JWKS) Key(ctx context.Context, kid string) (*Key, error) {
	set, err := j.current(ctx)
	if err != nil {
		return nil, err
	}
	if k := set.lookup(kid); k != nil {
		return k, nil
	}
	// An unknown kid: the issuer may have added a key since the last
	// fetch. Fetch again, at most once per RefetchInterval.
	now := j.cfg.Now().UnixNano()
	last := j.lastFetch.Load()
	if now-last >= int64(j.cfg.RefetchInterval) && j.lastFetch.CompareAndSwap(last, now) {
		_ = j.refresh(ctx, true)
	} else if f := j.inFlight(); f != nil {
		j.wait(ctx, f)
	}
	if k := j.set.Load().lookup(kid); k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// current returns the set to look keys up in: fetched now if there is
// none, refreshed first when it is past its TTL, unless a fetch failed
// less than RetryInterval ago. Only when there is no set at all is it an
// error.
func (j *JWKS) current(ctx context.Context) (*keySet, error) {
	set := j.set.Load()
	if set != nil && j.cfg.Now().Sub(set.fetched) < j.cfg.TTL {
		return set, nil
	}
	if j.mayRetry() {
		j.refreshStale(ctx, set)
	}
	if set = j.set.Load(); set == nil {
		return nil, errNoKeySet
	}
	return set, nil
}

// errNoKeySet is a lookup's error while no fetch has succeeded.
var errNoKeySet = gatehouse.Unavailable(errors.New("jwtauth: jwks: no key set could be fetched"))

// mayRetry reports whether a fetch may start now: the last one did not
// fail, or failed at least RetryInterval ago.
func (j *JWKS) mayRetry() bool {
	failed := j.failedAt.Load()
	return failed == 0 || j.cfg.Now().UnixNano()-failed >= int64(j.cfg.RetryInterval)
}

func (s *keySet) lookup(kid string) *Key {
	if s == nil {
		return nil
	}
	if kid == "" {
		return s.only
	}
	return s.byID[kid]
}

// Refresh fetches the set now, or waits for a fetch already under way, and
// returns its error. On an error the previous set is kept. The fetch ends
// with ctx.
func (j *JWKS) Refresh(ctx context.Context) error { return j.refresh(ctx, false) }

// refresh runs one fetch, or joins the one under way. The first caller
// runs it. With detach, its context is detached (the fetch is still bounded
// by Timeout), so that a client going away does not fail the fetch for
// everyone waiting. Every caller stops waiting when its own context ends.
func (j *JWKS) refresh(ctx context.Context, detach bool) error {
	j.mu.Lock()
	if f := j.flight; f != nil {
		j.mu.Unlock()
		return j.wait(ctx, f)
	}
	return j.runLocked(ctx, detach)
}

// refreshStale refreshes a set found stale, seen, unless a fetch has
// replaced it or failed less than RetryInterval ago since the caller looked:
// callers that found the set stale together cause one fetch, not one each.
func (j *JWKS) refreshStale(ctx context.Context, seen *keySet) {
	j.mu.Lock()
	if f := j.flight; f != nil {
		j.mu.Unlock()
		_ = j.wait(ctx, f)
		return
	}
	if j.set.Load() != seen || !j.mayRetry() {
		j.mu.Unlock()
		return
	}
	_ = j.runLocked(ctx, true)
}

// runLocked starts a fetch while j.mu is held (and releases it), runs it
// and returns its error.
func (j *JWKS) runLocked(ctx context.Context, detach bool) error {
	f := &fetchFlight{done: make(chan struct{})}
	j.flight = f
	j.mu.Unlock()
	j.lastFetch.Store(j.cfg.Now().UnixNano())

	fctx := ctx
	if detach {
		fctx = context.WithoutCancel(ctx)
	}
	f.err = j.fetch(fctx)
	if f.err != nil {
		j.failedAt.Store(max(1, j.cfg.Now().UnixNano()))
	} else {
		j.failedAt.Store(0)
	}

	j.mu.Lock()
	j.flight = nil
	j.mu.Unlock()
	close(f.done)
	if f.err != nil && j.cfg.OnError != nil {
		j.cfg.OnError(f.err)
	}
	return f.err
}

func (j *JWKS) inFlight() *fetchFlight {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.flight
}

func (j *JWKS) wait(ctx context.Context, f *fetchFlight) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch gets, parses and installs the set.
func (j *JWKS) fetch(ctx context.Context) error {
	u := j.url
	if j.locate != nil {
		u = j.locate(ctx)
	}
	body, err := httpget.Capped(ctx, j.client, u, "application/jwk-set+json, application/json", j.cfg.Timeout, j.cfg.MaxSize, "jwtauth: jwks")
	if err != nil {
		return err
	}
	keys, err := parseJWKS(body, j.cfg.Algorithms)
	if err != nil {
		return err
	}
	j.install(keys, j.cfg.Now())
	return nil
}

// install replaces the set. A key whose kid, algorithm and material are
// unchanged keeps its *Key, so the tokens it verified stay cached; the
// others of the old set are revoked.
func (j *JWKS) install(keys []*Key, now time.Time) {
	old := j.set.Load()
	next := &keySet{byID: make(map[string]*Key, len(keys)), fetched: now}
	for _, k := range keys {
		if prev := old.lookupExact(k.id); prev != nil && prev.alg == k.alg && prev.fingerprint == k.fingerprint {
			k = prev
		}
		next.byID[k.id] = k
	}
	if len(keys) == 1 {
		next.only = next.byID[keys[0].id]
	}
	j.set.Store(next)
	if old != nil {
		for id, k := range old.byID {
			if next.byID[id] != k {
				k.revoke()
			}
		}
	}
}

func (s *keySet) lookupExact(kid string) *Key {
	if s == nil {
		return nil
	}
	return s.byID[kid]
}

// parseJWKS reads a key set, skipping keys it cannot use (another type,
// "use": "enc", an algorithm off the list, a malformed key). Keys that
// share a kid are all skipped: which one a token means would be a guess. A
// key without a kid is kept only when it is the set's sole usable key. A
// set with no usable key is an error.
func parseJWKS(body []byte, allowed []string) ([]*Key, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("jwtauth: jwks: response is not a JSON key set")
	}
	var keys []*Key
	seen := map[string]int{}
	for _, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			continue
		}
		k, err := j.key(allowed)
		if err != nil {
			continue
		}
		seen[k.id]++
		keys = append(keys, k)
	}
	keys = slices.DeleteFunc(keys, func(k *Key) bool { return seen[k.id] > 1 })
	if len(keys) > 1 {
		keys = slices.DeleteFunc(keys, func(k *Key) bool { return k.id == "" })
	}
	if len(keys) == 0 {
		return nil, errors.New("jwtauth: jwks: the set holds no usable key")
	}
	return keys, nil
}

// Start refreshes the set in the background until ctx ends or Close is
// called: first at once, then when three quarters of TTL have passed since
// the last fetch, or RetryInterval after a failure. It returns an error if
// the source was started before or closed.
func (j *JWKS) Start(ctx context.Context) error {
	j.life.Lock()
	defer j.life.Unlock()
	if j.closed {
		return errors.New("jwtauth: jwks: closed")
	}
	if j.started {
		return errors.New("jwtauth: jwks: already started")
	}
	j.started = true
	j.done = make(chan struct{})
	lctx, cancel := context.WithCancel(ctx)
	j.cancel = cancel
	go func() {
		defer close(j.done)
		j.loop(lctx)
	}()
	return nil
}

func (j *JWKS) loop(ctx context.Context) {
	for {
		select {
		case <-j.after(j.nextRefresh()):
		case <-ctx.Done():
			return
		}
		_ = j.refresh(ctx, false)
	}
}

// nextRefresh returns how long the loop waits before its next fetch.
func (j *JWKS) nextRefresh() time.Duration {
	now := j.cfg.Now()
	at := now
	if set := j.set.Load(); set != nil {
		at = set.fetched.Add(j.cfg.TTL * 3 / 4)
	}
	if failed := j.failedAt.Load(); failed != 0 {
		if retry := time.Unix(0, failed).Add(j.cfg.RetryInterval); retry.After(at) {
			at = retry
		}
	}
	return max(0, at.Sub(now))
}

// Close stops the background refresh and waits for it to end. It is
// idempotent; lookups keep working on the last set (and fetch on demand).
func (j *JWKS) Close() error {
	j.life.Lock()
	if j.closed {
		j.life.Unlock()
		return nil
	}
	j.closed = true
	started := j.started
	j.life.Unlock()
	if started {
		j.cancel()
		<-j.done
	}
	return nil
}
