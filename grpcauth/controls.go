package grpcauth

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"google.golang.org/grpc/peer"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
	"github.com/gatehouse-go/gatehouse/store"
)

var errNoSpender = gatehouse.Unavailable(errors.New("grpcauth: a credential has credits but Config.Credits is not set"))

// peerAddr is the default Config.ClientAddr: the connection's peer.
func peerAddr(ctx context.Context) (netip.Addr, bool) {
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.Addr == nil {
		return netip.Addr{}, false
	}
	if tcp, ok := pr.Addr.(*net.TCPAddr); ok {
		a, ok := netip.AddrFromSlice(tcp.IP)
		return a, ok
	}
	ap, err := netip.ParseAddrPort(pr.Addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr(), true
}

// checkNetwork refuses p's use from the caller's address when p has
// allowed networks that do not hold it (or the address is not known).
func (i *Interceptor) checkNetwork(ctx context.Context, p *gatehouse.Principal) error {
	if a, ok := i.clientAddr(ctx); ok && p.AllowsAddr(a) {
		return nil
	}
	return &gatehouse.Error{Err: gatehouse.ErrForbidden, Reason: gatehouse.ReasonNetwork, Detail: middleware.DetailNetwork,
		KeyID: p.KeyID, TenantID: p.TenantID}
}

// spend spends one use of p's credits, when it has any, within
// Config.CreditsTimeout.
func (i *Interceptor) spend(ctx context.Context, p *gatehouse.Principal) error {
	if p == nil || p.Credits == nil {
		return nil
	}
	if i.credits == nil {
		return errNoSpender
	}
	ctx, cancel := context.WithTimeout(ctx, i.creditsLimit)
	defer cancel()
	_, err := i.credits.SpendCredit(ctx, p.KeyID, p.Credits, i.now())
	if err == nil {
		return nil
	}
	var ce *gatehouse.CreditsError // escapes: declared past the common case
	switch {
	case errors.As(err, &ce):
		return &gatehouse.Error{Err: gatehouse.ErrCreditsExhausted, Reason: gatehouse.ReasonCreditsExhausted, Cause: ce,
			KeyID: p.KeyID, TenantID: p.TenantID}
	case errors.Is(err, store.ErrNotFound):
		return &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: gatehouse.ReasonUnknown, KeyID: p.KeyID, TenantID: p.TenantID}
	}
	return gatehouse.Unavailable(err)
}
