package otelauth

import (
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// Authenticated implements [middleware.Observer]: it counts the decision
// by kind and sets outcome, kind and tenant on the request's span.
func (o *Observer) Authenticated(r *http.Request, p *gatehouse.Principal) {
	ctx := r.Context()
	opts, ok := o.kinds[p.Kind]
	if !ok {
		opts = kindOptions(p.Kind) // a kind of an application's own
	}
	o.decisions.Add(ctx, 1, opts...)

	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		kvs := make([]attribute.KeyValue, 0, 3)
		kvs = append(kvs, AttrOutcome.String(OutcomeAuthenticated))
		if p.Kind != "" {
			kvs = append(kvs, AttrKind.String(string(p.Kind)))
		}
		if p.TenantID != "" {
			kvs = append(kvs, AttrTenant.String(p.TenantID))
		}
		span.SetAttributes(kvs...)
	}
}

// Refused implements [middleware.Observer]: it counts the refusal by code
// and reason and sets outcome, code and reason on the request's span, with
// the kind and tenant when they are known (a principal refused a scope, or
// a found key refused as revoked or expired). The error's text, which may
// hold an internal cause, is never recorded.
func (o *Observer) Refused(r *http.Request, err error) {
	ctx := r.Context()
	var reason gatehouse.Reason
	ge, _ := errors.AsType[*gatehouse.Error](err)
	if ge != nil {
		reason = ge.Reason
	}
	code := classify(err, ge)
	opts, ok := o.refused[refusal{code, reason}]
	if !ok {
		opts = refusalOptions(refusal{code, reason}) // a reason of an application's own
	}
	o.decisions.Add(ctx, 1, opts...)

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	kvs := make([]attribute.KeyValue, 0, 5)
	kvs = append(kvs, AttrOutcome.String(OutcomeRefused), AttrCode.String(code))
	if reason != "" {
		kvs = append(kvs, AttrReason.String(string(reason)))
	}
	tenant := ""
	if p, ok := gatehouse.FromContext(ctx); ok {
		if p.Kind != "" {
			kvs = append(kvs, AttrKind.String(string(p.Kind)))
		}
		tenant = p.TenantID
	} else if ge != nil {
		tenant = ge.TenantID
	}
	if tenant != "" {
		kvs = append(kvs, AttrTenant.String(tenant))
	}
	span.SetAttributes(kvs...)
}

// classify returns the code of middleware.Classify(err). When err is a
// *gatehouse.Error without a cause (the refusals of bad credentials, which
// a flood of them is made of), its tree is err and its sentinel, and err
// matches no sentinel itself: classifying the sentinel gives the same
// code without the allocation of each (*gatehouse.Error).Unwrap call that
// errors.Is makes on err.
func classify(err error, ge *gatehouse.Error) string {
	if ge != nil && ge.Cause == nil && err == error(ge) {
		err = ge.Err
	}
	_, code := middleware.Classify(err)
	return code
}
