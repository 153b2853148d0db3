package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/store"
)

// DetailNetwork is the detail of the refusal of a credential used from an
// address outside its allowed networks.
const DetailNetwork = "This API key may not be used from this network"

// HeaderCreditsRemaining is the response header that tells a client whose
// credential has usage credits how many uses it has left after this one.
const HeaderCreditsRemaining = "X-Gatehouse-Credits-Remaining"

var (
	errNoSpender = gatehouse.Unavailable(errors.New("middleware: a credential has credits but Config.Credits is not set"))
	errGone      = &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown, Detail: detailInvalidToken}
)

// remoteAddr is the default Config.ClientAddr: the connection's peer.
func remoteAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr(), true
}

// checkNetwork refuses p's use by r when p has allowed networks and r's
// client address is not in them (or is not known: fail closed).
func (m *Middleware) checkNetwork(r *http.Request, p *gatehouse.Principal) error {
	if a, ok := m.clientAddr(r); ok && p.AllowsAddr(a) {
		return nil
	}
	return NetworkRefusal(p)
}

// NetworkRefusal is the refusal of p's use from a client address outside
// p's allowed networks (or not known): 403, reason network, detail
// [DetailNetwork].
func NetworkRefusal(p *gatehouse.Principal) *gatehouse.Error {
	return &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonNetwork, Detail: DetailNetwork,
		KeyID: p.KeyID, TenantID: p.TenantID}
}

// SpendCredit spends one use of p's credits (see Config.Credits) and
// returns how many are left, or -1 when p has none to spend. Handler,
// Optional and the scope guards inside them call it before they serve a
// request; adapters that serve requests themselves call it (Authenticate
// does). The error is a refusal for [Middleware.Error]: 429
// credits_exhausted, 401 for a key deleted meanwhile, 503 when the backend
// fails or no spender is configured (fail closed).
func (m *Middleware) SpendCredit(r *http.Request, p *gatehouse.Principal) (int64, error) {
	if p == nil || p.Credits == nil {
		return -1, nil
	}
	if m.credits == nil {
		return 0, errNoSpender
	}
	return SpendCreditContext(r.Context(), m.credits, m.creditsTimeout, m.now(), p)
}

// SpendCreditContext spends one use of p's credits at now with spender,
// within timeout, and returns how many are left; it is
// [Middleware.SpendCredit] for callers without a request (grpcauth), and
// returns -1 when p has no credits to spend. spender must not be nil when
// p has credits. The error is a refusal: credits exhausted, invalid token
// for a key deleted meanwhile, unavailable when the backend fails.
func SpendCreditContext(ctx context.Context, spender store.CreditSpender, timeout time.Duration, now time.Time,
	p *gatehouse.Principal) (int64, error) {
	if p == nil || p.Credits == nil {
		return -1, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	left, err := spender.SpendCredit(ctx, p.KeyID, p.Credits, now)
	if err == nil {
		return left, nil
	}
	var ce *gatehouse.CreditsError // escapes: declared past the common case
	switch {
	case errors.As(err, &ce):
		return 0, &gatehouse.Error{Err: gatehouse.ErrCreditsExhausted, Reason: gatehouse.ReasonCreditsExhausted, Cause: ce,
			Detail: creditsDetail(ce), KeyID: p.KeyID, TenantID: p.TenantID}
	case errors.Is(err, store.ErrNotFound):
		e := *errGone
		e.KeyID, e.TenantID = p.KeyID, p.TenantID
		return 0, &e
	}
	return 0, gatehouse.Unavailable(err)
}

// spend spends a use of p's credits and sets the remaining count on w; it
// refuses the request and returns false when it may not be served.
func (m *Middleware) spend(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) bool {
	if err := m.spendCredit(w, r, p); err != nil {
		m.refuse(w, r, err)
		return false
	}
	return true
}

// spendCredit spends a use of p's credits and sets the remaining count on
// w, or returns the refusal.
func (m *Middleware) spendCredit(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	left, err := m.SpendCredit(r, p)
	if err != nil {
		return err
	}
	if left >= 0 {
		w.Header().Set(HeaderCreditsRemaining, strconv.FormatInt(left, 10))
	}
	return nil
}

// spender is the layer that spends credits right before the handler, when
// no scope guard of the same middleware does it after its check. It is a
// value built once per handler: a request does not allocate it.
type spender struct {
	m    *Middleware
	next http.Handler
}

func (s spender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := gatehouse.FromContext(r.Context()); ok && p.Credits != nil && !s.m.spend(w, r, p) {
		return
	}
	s.next.ServeHTTP(w, r)
}

// creditsDetail is the detail of a credits refusal: when they refill.
func creditsDetail(ce *gatehouse.CreditsError) string {
	if ce == nil || ce.RefillAt.IsZero() {
		return "This API key has no credits left"
	}
	return "This API key has no credits left; they refill at " + ce.RefillAt.UTC().Format(time.RFC3339)
}
