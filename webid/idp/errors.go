package idp

import (
	"errors"
	"net/http"
	"time"
)

// OAuth 2.0 error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1,
// RFC 7591 §3.2.2, RFC 9449 §5, OpenID Connect Core §3.1.2.6).
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeServerError             = "server_error"
	CodeInvalidDPoPProof        = "invalid_dpop_proof"
	CodeInvalidRedirectURI      = "invalid_redirect_uri"
	CodeInvalidClientMetadata   = "invalid_client_metadata"
	CodeLoginRequired           = "login_required"
	CodeConsentRequired         = "consent_required"
	CodeRequestNotSupported     = "request_not_supported"
	CodeRequestURINotSupported  = "request_uri_not_supported"
	CodeUnsupportedTokenType    = "unsupported_token_type"
	// CodeTemporarilyUnavailable (RFC 6749 §4.1.2.1) answers a request
	// refused by a limit, with Error.RetryAfter set (429).
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// ErrNotLoggedIn is the error Accounts.SessionAccount returns (wrapped)
// for a session that does not hold. Any other error is treated the same,
// and logged.
var ErrNotLoggedIn = errors.New("idp: not logged in")

// Error is an OAuth 2.0 error answered to a client: Code and Description
// go in the JSON body (RFC 6749 §5.2). Err, when set, is the cause for
// the log; it never reaches the client. Neither holds a token, a code or
// a secret.
type Error struct {
	Code        string
	Description string
	Err         error
	// RetryAfter, when positive, marks a request refused by a limit: the
	// answer is 429 with a Retry-After of it.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := "idp: " + e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status of the error's response: 429 for a request
// refused by a limit (RetryAfter), 401 for a client that failed to
// authenticate (RFC 6749 §5.2), 500 for server_error and 400 for the rest.
func (e *Error) Status() int {
	if e.RetryAfter > 0 {
		return http.StatusTooManyRequests
	}
	switch e.Code {
	case CodeInvalidClient:
		return http.StatusUnauthorized
	case CodeServerError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func oauthErr(code, desc string) *Error { return &Error{Code: code, Description: desc} }
