package grpcauth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/gatehouse-go/gatehouse"
	"github.com/gatehouse-go/gatehouse/middleware"
)

// Default messages, one per code, as the HTTP middleware's details.
const (
	msgNoCredentials = "Authentication required: send a credential in the authorization metadata"
	msgInvalidReq    = "The request's credentials are malformed"
	msgInvalidToken  = "Invalid or expired credentials"
	msgScope         = "The credential lacks a required scope"
	msgForbidden     = "You are not allowed to do this"
	msgUnavailable   = "Authentication is temporarily unavailable; retry later"
)

// StatusError returns [Status] of err as an error, nil for a nil err. It
// is the default Config.ErrorHandler, and handlers that refuse a call
// themselves with a gatehouse error may return it.
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	return Status(err).Err()
}

// Status maps a refusal to the gRPC status a client gets, by the gatehouse
// sentinel err wraps (tested with errors.Is, in the order the HTTP
// middleware's Classify uses):
//
//	ErrInvalidRequest     InvalidArgument    (HTTP 400)
//	ErrNoCredentials      Unauthenticated    (HTTP 401)
//	ErrInvalidToken       Unauthenticated    (HTTP 401)
//	ErrInsufficientScope  PermissionDenied   (HTTP 403)
//	ErrForbidden          PermissionDenied   (HTTP 403)
//	ErrCreditsExhausted   ResourceExhausted  (HTTP 429), with a RetryInfo until the refill
//	ErrRateLimited        ResourceExhausted  (HTTP 429), with a RetryInfo
//	ErrUnavailable        Unavailable        (HTTP 503)
//	any other error       Unavailable        (fail closed)
//
// The message is a fixed sentence: the Detail of a [*gatehouse.Error]
// (written by Gatehouse for the client), or the default of the code; never
// err.Error(), never the credential. A RetryInfo's delay is the
// [*gatehouse.RateLimitError]'s RetryAfter, or 1 second without one. Status
// of nil is OK.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	httpStatus, _ := middleware.Classify(err)
	var detail string
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge != nil {
		detail = ge.Detail
	}
	switch httpStatus {
	case http.StatusBadRequest:
		return status.New(codes.InvalidArgument, or(detail, msgInvalidReq))
	case http.StatusUnauthorized:
		if errors.Is(err, gatehouse.ErrNoCredentials) {
			return status.New(codes.Unauthenticated, or(detail, msgNoCredentials))
		}
		return status.New(codes.Unauthenticated, or(detail, msgInvalidToken))
	case http.StatusForbidden:
		if errors.Is(err, gatehouse.ErrInsufficientScope) {
			return status.New(codes.PermissionDenied, or(detail, scopeMessage(err)))
		}
		return status.New(codes.PermissionDenied, or(detail, msgForbidden))
	case http.StatusTooManyRequests:
		return rateLimited(err, detail)
	default:
		if !errors.Is(err, gatehouse.ErrUnavailable) {
			detail = ""
		}
		return status.New(codes.Unavailable, or(detail, msgUnavailable))
	}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// scopeMessage names the scopes a method requires, as the HTTP
// middleware's detail does. They come from the server's configuration,
// never from the request.
func scopeMessage(err error) string {
	var se *gatehouse.ScopeError
	if !errors.As(err, &se) || len(se.Required) == 0 {
		return msgScope
	}
	if se.Any {
		return msgScope + ": one of " + strings.Join(se.Required, " ")
	}
	return msgScope + ": " + strings.Join(se.Required, " ")
}

// rateLimited is ResourceExhausted with a RetryInfo; msg is the
// refusal's Detail, if any.
func rateLimited(err error, msg string) *status.Status {
	delay := time.Second
	var rl *gatehouse.RateLimitError
	var ce *gatehouse.CreditsError
	switch {
	case errors.As(err, &rl):
		if rl.RetryAfter > 0 {
			delay = rl.RetryAfter
		}
		msg = rl.Detail
	case errors.As(err, &ce):
		// Credits spent: the spend's sentence (in the Detail), and a
		// delay until the refill (an hour when there is none).
		delay = time.Hour
		if !ce.RefillAt.IsZero() {
			delay = max(time.Second, ce.RetryAfter)
		}
	}
	if msg == "" {
		secs := max(1, int64((delay+time.Second-1)/time.Second))
		if secs == 1 {
			msg = "Too many requests: retry after 1 second"
		} else {
			msg = "Too many requests: retry after " + strconv.FormatInt(secs, 10) + " seconds"
		}
	}
	st := status.New(codes.ResourceExhausted, msg)
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		return withInfo
	}
	return st
}
