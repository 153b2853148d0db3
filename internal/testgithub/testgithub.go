// Package testgithub is a fake GitHub secret scanning for tests: P-256
// signing keys published as GitHub publishes its key set, and signatures
// of report bodies as GitHub sends them.
package testgithub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Reporter serves its public keys as a key set document; Fetches counts
// the fetches. It is safe for concurrent use.
type Reporter struct {
	*httptest.Server
	Fetches atomic.Int64

	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
	down bool
}

// New starts a reporter with a key for each of ids, stopped when the test
// ends.
func New(t testing.TB, ids ...string) *Reporter {
	t.Helper()
	r := &Reporter{keys: map[string]*ecdsa.PrivateKey{}}
	for _, id := range ids {
		r.AddKey(t, id)
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.Fetches.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		type pub struct {
			ID      string `json:"key_identifier"`
			Key     string `json:"key"`
			Current bool   `json:"is_current"`
		}
		var doc struct {
			PublicKeys []pub `json:"public_keys"`
		}
		for id, k := range r.keys {
			der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
			if err != nil {
				panic(err)
			}
			doc.PublicKeys = append(doc.PublicKeys, pub{id, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), true})
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(r.Close)
	return r
}

// AddKey publishes a new key under id (GitHub rotating its key) and
// returns its private half.
func (r *Reporter) AddKey(t testing.TB, id string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.keys[id] = k
	r.mu.Unlock()
	return k
}

// Key returns the private key published under id (nil if none).
func (r *Reporter) Key(id string) *ecdsa.PrivateKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[id]
}

// SetDown makes the key set answer 502 (down) or the document again.
func (r *Reporter) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// Sign returns the Github-Public-Key-Signature value of body under k: the
// base64 ASN.1 ECDSA signature of its SHA-256.
func Sign(t testing.TB, k *ecdsa.PrivateKey, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}
