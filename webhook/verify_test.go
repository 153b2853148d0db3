package webhook_test

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-go/gatehouse/webhook"
)

// The example of the Standard Webhooks specification: this secret, id,
// timestamp and body give this signature.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set(webhook.HeaderID, id)
	}
	if ts != "" {
		h.Set(webhook.HeaderTimestamp, ts)
	}
	if sig != "" {
		h.Set(webhook.HeaderSignature, sig)
	}
	return h
}

func TestSignMatchesSpecExample(t *testing.T) {
	s, err := webhook.NewSigner(specSecret)
	require.NoError(t, err)
	assert.Equal(t, specSig, s.Sign(specID, time.Unix(specTS, 0), []byte(specBody)))
	h := http.Header{}
	s.SetHeaders(h, specID, time.Unix(specTS, 0), []byte(specBody))
	assert.Equal(t, specID, h.Get("Webhook-Id"))
	assert.Equal(t, strconv.Itoa(specTS), h.Get("Webhook-Timestamp"))
	assert.Equal(t, specSig, h.Get("Webhook-Signature"))
}

func TestVerify(t *testing.T) {
	now := time.Unix(specTS, 0)
	ts := strconv.Itoa(specTS)
	other, err := webhook.NewSecret()
	require.NoError(t, err)
	otherSigner, err := webhook.NewSigner(other)
	require.NoError(t, err)
	wrongSig := otherSigner.Sign(specID, now, []byte(specBody))
	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"valid", specSecret, headers(specID, ts, specSig), specBody, now, nil},
		{"valid among several", specSecret, headers(specID, ts, "v1a,abc "+wrongSig+" "+specSig), specBody, now, nil},
		{"at the tolerance", specSecret, headers(specID, ts, specSig), specBody, now.Add(5 * time.Minute), nil},
		{"past the tolerance", specSecret, headers(specID, ts, specSig), specBody, now.Add(5*time.Minute + time.Second), webhook.ErrTimestamp},
		{"from the future", specSecret, headers(specID, ts, specSig), specBody, now.Add(-5*time.Minute - time.Second), webhook.ErrTimestamp},
		{"body changed", specSecret, headers(specID, ts, specSig), specBody + " ", now, webhook.ErrSignature},
		{"id changed", specSecret, headers(specID+"x", ts, specSig), specBody, now, webhook.ErrSignature},
		{"other secret", specSecret, headers(specID, ts, wrongSig), specBody, now, webhook.ErrSignature},
		{"v2 only", specSecret, headers(specID, ts, "v2,"+strings.TrimPrefix(specSig, "v1,")), specBody, now, webhook.ErrSignature},
		{"bad base64", specSecret, headers(specID, ts, "v1,!!!"), specBody, now, webhook.ErrSignature},
		{"truncated signature", specSecret, headers(specID, ts, specSig[:20]), specBody, now, webhook.ErrSignature},
		{"no id", specSecret, headers("", ts, specSig), specBody, now, webhook.ErrMissingHeaders},
		{"no timestamp", specSecret, headers(specID, "", specSig), specBody, now, webhook.ErrMissingHeaders},
		{"no signature", specSecret, headers(specID, ts, ""), specBody, now, webhook.ErrMissingHeaders},
		{"huge signature", specSecret, headers(specID, ts, strings.Repeat(specSig+" ", 200)), specBody, now, webhook.ErrMissingHeaders},
		{"timestamp in ms", specSecret, headers(specID, ts+"000", specSig), specBody, now, webhook.ErrTimestamp},
		{"timestamp not a number", specSecret, headers(specID, "16142653x0", specSig), specBody, now, webhook.ErrTimestamp},
		{"timestamp with sign", specSecret, headers(specID, "+"+ts, specSig), specBody, now, webhook.ErrTimestamp},
		{"secret without prefix", strings.TrimPrefix(specSecret, "whsec_"), headers(specID, ts, specSig), specBody, now, webhook.ErrSecret},
		{"secret too short", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), headers(specID, ts, specSig), specBody, now, webhook.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.h, []byte(tt.body), tt.now, 0)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, err := webhook.NewSecret()
	require.NoError(t, err)
	b, err := webhook.NewSecret()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "whsec_"))
	key, err := webhook.ParseSecret(a)
	require.NoError(t, err)
	assert.Len(t, key, 32)
	// A round trip through a signer and Verify.
	s, err := webhook.NewSigner(a)
	require.NoError(t, err)
	now := time.Now()
	h := http.Header{}
	s.SetHeaders(h, "msg_1", now, []byte("{}"))
	assert.NoError(t, webhook.Verify(a, h, []byte("{}"), now, time.Minute))
	assert.ErrorIs(t, webhook.Verify(b, h, []byte("{}"), now, time.Minute), webhook.ErrSignature)
}

func FuzzVerify(f *testing.F) {
	f.Add(specID, strconv.Itoa(specTS), specSig, []byte(specBody))
	f.Add("", "", "", []byte(nil))
	// The same bytes in non-canonical base64 (other padding bits).
	f.Add(specID, strconv.Itoa(specTS), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OH=", []byte(specBody))
	f.Add(specID, "-1", "v1, v1,,,", []byte("x"))
	f.Add(specID, "99999999999999999999", "v1,"+strings.Repeat("A", 100), []byte("x"))
	now := time.Unix(specTS, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := webhook.Verify(specSecret, headers(id, ts, sig), body, now, 0)
		if err == nil {
			// Only the genuine signature of this exact message passes.
			s, _ := webhook.NewSigner(specSecret)
			sec, perr := strconv.ParseInt(ts, 10, 64)
			require.NoError(t, perr)
			want := s.Sign(id, time.Unix(sec, 0), body)
			require.Contains(t, strings.Split(sig, " "), want)
		}
	})
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/gatehouse", true},
		{"https://hooks.example.com:8443/x?y=1", true},
		{"http://127.0.0.1:9000/hook", true},
		{"http://localhost/hook", true},
		{"http://[::1]:80/hook", true},
		{"http://hooks.example.com/gatehouse", false},
		{"http://10.0.0.1/hook", false},
		{"ftp://hooks.example.com/", false},
		{"https://user:pass@hooks.example.com/", false},
		{"https:///path-only", false},
		{"hooks.example.com/gatehouse", false},
		{"https://hooks.example.com/#frag", false},
		{"https://hooks.example.com/" + strings.Repeat("a", 2048), false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := webhook.CheckURL(tt.url)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, webhook.ErrURL)
			}
		})
	}
}
