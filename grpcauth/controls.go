package grpcauth

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"google.golang.org/grpc/peer"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
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
	return middleware.NetworkRefusal(p)
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
	_, err := middleware.SpendCreditContext(ctx, i.credits, i.creditsLimit, i.now(), p)
	return err
}
