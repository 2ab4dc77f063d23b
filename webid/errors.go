package webid

import (
	"errors"
	"strings"
)

// The reasons a request's credentials fail, found with errors.Is in the
// Err of an *AuthError. Each maps to 401 with a WWW-Authenticate challenge
// (see Challenge).
var (
	// ErrMalformed: the Authorization or DPoP header cannot be read, or
	// there are several DPoP headers.
	ErrMalformed = errors.New("webid: malformed credentials")
	// ErrBearer: a Bearer token, refused unless Config.InsecureAllowBearer.
	ErrBearer = errors.New("webid: bearer token refused")
	// ErrProof: the DPoP proof is not valid or does not match the request
	// (typ, alg, jwk, signature, htm, htu, ath).
	ErrProof = errors.New("webid: invalid DPoP proof")
	// ErrProofTime: the proof's iat is outside the acceptance window.
	ErrProofTime = errors.New("webid: DPoP proof too old or issued in the future")
	// ErrReplay: the proof's jti was already used within the window.
	ErrReplay = errors.New("webid: DPoP proof replayed")
	// ErrToken: the access token is not a valid token of its issuer
	// (format, alg, signature, claims).
	ErrToken = errors.New("webid: invalid access token")
	// ErrExpired: the access token has expired or is not valid yet.
	ErrExpired = errors.New("webid: access token expired or not yet valid")
	// ErrAudience: the access token's aud does not include "solid".
	ErrAudience = errors.New("webid: access token audience lacks solid")
	// ErrBinding: the access token is not bound (cnf.jkt) to the key that
	// signed the proof.
	ErrBinding = errors.New("webid: access token not bound to the proof key")
	// ErrUntrustedIssuer: the WebID profile does not name the token's
	// issuer as a solid:oidcIssuer.
	ErrUntrustedIssuer = errors.New("webid: issuer not trusted by the WebID")
	// ErrUnavailable: the WebID profile or the issuer's metadata or keys
	// could not be fetched or read.
	ErrUnavailable = errors.New("webid: WebID profile or issuer unavailable")
)

// AuthError is the error of Verify when credentials do not hold: the
// server answers 401 with Challenge(realm, err). Description is meant for
// the client and says what failed in fixed words; Err carries one of the
// Err sentinels above, wrapped with details for the log. Neither ever
// holds the access token, the proof or a key.
type AuthError struct {
	Description string
	Err         error
}

func (e *AuthError) Error() string {
	if e.Err == nil {
		return "webid: " + e.Description
	}
	return "webid: " + e.Description + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *AuthError) Unwrap() error { return e.Err }

// defaultAlgs are the DPoP and token signature algorithms accepted when
// Config.AllowedAlgs is empty, as the algs challenge parameter lists them
// (RFC 9449 §7.1): asymmetric only, never "none" or HMAC.
const defaultAlgs = "ES256 ES384 PS256 RS256 EdDSA"

// Challenge is the WWW-Authenticate value of a 401 answer (RFC 9449 §7.1,
// RFC 6750 §3) for the default algorithms: with err nil, a plain
// challenge, `DPoP realm="...", algs="..."`; with an error, also
// error="invalid_token" and the error_description of an *AuthError (or a
// generic one). Verifier.Challenge lists the verifier's own algorithms.
func Challenge(realm string, err error) string {
	return challenge(realm, err, defaultAlgs)
}

func challenge(realm string, err error, algs string) string {
	var b strings.Builder
	b.WriteString(`DPoP realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	if err != nil {
		desc := "invalid access token or DPoP proof"
		if ae, ok := errors.AsType[*AuthError](err); ok && ae.Description != "" {
			desc = ae.Description
		}
		b.WriteString(`, error="invalid_token", error_description="`)
		b.WriteString(quotable(desc))
		b.WriteByte('"')
	}
	b.WriteString(`, algs="`)
	b.WriteString(algs)
	b.WriteByte('"')
	return b.String()
}

// quotable keeps the characters RFC 6750 §3 allows in error_description
// (%x20-21 / %x23-5B / %x5D-7E): printable ASCII without '"' and '\'.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
