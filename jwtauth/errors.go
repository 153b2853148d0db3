package jwtauth

import (
	"github.com/gatehouse-go/gatehouse"
)

// Details: the fixed sentences a refused client reads, one per class of
// problem. They never carry the token or an internal error.
const (
	DetailTooLong      = "The token is too long"
	DetailMalformed    = "The token is not a well-formed signed JWT"
	DetailAlgorithm    = "The token's signing algorithm is not accepted"
	DetailBadSignature = "The token's signature is invalid"
	DetailUnknownKey   = "The token's signing key is unknown"
	DetailKeyExpired   = "The token's signing key has expired"
	DetailExpired      = "The token has expired"
	DetailNotYetValid  = "The token is not valid yet"
	DetailBadIssuer    = "The token's issuer is not accepted"
	DetailBadAudience  = "The token is not meant for this service (audience)"
	DetailBadType      = "The token's type (typ header) is not accepted"
	DetailBadClaims    = "The token's claims are missing or malformed"
	DetailTooLongLived = "The token's lifetime is longer than this service accepts"
	DetailRevoked      = "The token has been revoked"
)

// Refusals, shared so that refusing a token does not allocate.
var (
	errTooLong      = refusal(gatehouse.ReasonTooLong, DetailTooLong)
	errMalformed    = refusal(gatehouse.ReasonMalformed, DetailMalformed)
	errAlgorithm    = refusal(gatehouse.ReasonBadSignature, DetailAlgorithm)
	errBadSignature = refusal(gatehouse.ReasonBadSignature, DetailBadSignature)
	errUnknownKey   = refusal(gatehouse.ReasonUnknownKeyID, DetailUnknownKey)
	errKeyExpired   = refusal(gatehouse.ReasonExpired, DetailKeyExpired)
	errExpired      = refusal(gatehouse.ReasonExpired, DetailExpired)
	errNotYetValid  = refusal(gatehouse.ReasonNotYetValid, DetailNotYetValid)
	errBadIssuer    = refusal(gatehouse.ReasonBadIssuer, DetailBadIssuer)
	errBadAudience  = refusal(gatehouse.ReasonBadAudience, DetailBadAudience)
	errBadType      = refusal(gatehouse.ReasonBadClaims, DetailBadType)
	errBadClaims    = refusal(gatehouse.ReasonBadClaims, DetailBadClaims)
	errTooLongLived = refusal(gatehouse.ReasonBadClaims, DetailTooLongLived)
	errRevoked      = refusal(gatehouse.ReasonRevoked, DetailRevoked)
)

func refusal(r gatehouse.Reason, detail string) *gatehouse.Error {
	return &gatehouse.Error{Err: gatehouse.ErrInvalidToken, Reason: r, Detail: detail}
}

// keyfuncError carries a refusal or a source failure out of golang-jwt's
// key function, which wraps it.
type keyfuncError struct{ err error }

func (e *keyfuncError) Error() string { return "jwtauth: key lookup: " + e.err.Error() }
func (e *keyfuncError) Unwrap() error { return e.err }
