package ratelimit

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/store"
)

// Header names, in the canonical form net/http stores them under.
const (
	// HeaderPolicy is the RateLimit-Policy field of
	// draft-ietf-httpapi-ratelimit-headers.
	HeaderPolicy = "Ratelimit-Policy"
	// HeaderRateLimit is the RateLimit field of the same draft.
	HeaderRateLimit = "Ratelimit"
)

// SetHeaders sets the RateLimit-Policy and RateLimit fields of h for d
// (draft-ietf-httpapi-ratelimit-headers, structured fields):
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=30
//
// q is the policy's limit and w its window in seconds; a burst that
// differs from the limit is added as the vendor parameter gatehouse-burst.
// r is the remaining units. t is, when d allows, the seconds until the
// bucket is full again, and when d refuses, the seconds until the refused
// cost would be allowed, so that a Retry-After of at least t agrees with
// it. Both are rounded up. Nothing is set for a decision without a policy.
func SetHeaders(h http.Header, d Decision) { setHeaders(h, d, nil) }

// setHeaders sets both fields; pk, when not nil, is the partition key
// digest to add to both.
func setHeaders(h http.Header, d Decision, pk []byte) {
	p := d.Policy
	if p == nil {
		return
	}
	if pk == nil {
		h[HeaderPolicy] = []string{p.header}
	} else {
		h[HeaderPolicy] = []string{string(p.appendPolicyItem(make([]byte, 0, 96), pk))}
	}
	var buf [128]byte
	b := appendSFString(buf[:0], p.name)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(max(d.Remaining, 0)), 10)
	b = append(b, ";t="...)
	t := d.Reset
	if !d.Allowed {
		t = d.RetryAfter
	}
	b = strconv.AppendInt(b, ceilSeconds(t), 10)
	if pk != nil {
		b = appendPK(b, pk)
	}
	h[HeaderRateLimit] = []string{string(b)}
}

// appendPolicyItem writes the policy's RateLimit-Policy list member.
func (p *Policy) appendPolicyItem(b, pk []byte) []byte {
	b = appendSFString(b, p.name)
	b = append(b, ";q="...)
	b = strconv.AppendInt(b, int64(p.limit), 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, int64(p.window/time.Second), 10)
	if p.burst != p.limit {
		b = append(b, ";gatehouse-burst="...)
		b = strconv.AppendInt(b, int64(p.burst), 10)
	}
	if pk != nil {
		b = appendPK(b, pk)
	}
	return b
}

// appendSFString writes a structured-field string. Policy names hold only
// characters that need no escape.
func appendSFString(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendPK writes the pk parameter: a structured-field byte sequence.
func appendPK(b, pk []byte) []byte {
	b = append(b, ";pk=:"...)
	b = base64.StdEncoding.AppendEncode(b, pk)
	return append(b, ':')
}

// partitionKey returns the digest a response may show for a bucket: the
// first 16 bytes of HMAC-SHA-256 under the secret h was made with, of the
// policy name, a zero byte and the key's String form. Clients can compare
// it between responses; nobody can read the key (an address, an ID) out of
// it without the secret. The input is built on the stack and h computes
// the HMAC without allocating, so that HeadersOnAllowed with a secret adds
// no allocation per request.
func partitionKey(h *store.Hasher, p *Policy, k Key) [16]byte {
	var buf [128]byte
	b := append(buf[:0], p.name...)
	b = append(b, 0)
	b = append(b, k.scope...)
	b = append(b, ':')
	if k.addr.IsValid() {
		b = k.addr.AppendTo(b)
	} else {
		b = append(b, k.value...)
	}
	d := h.SumBytes(b)
	return [16]byte(d[:16])
}

// ceilSeconds rounds d up to whole seconds, never below zero.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
