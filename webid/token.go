package webid

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// tokenClaims are the claims of a Solid-OIDC access token read here
// (Solid-OIDC #tokens-id, DPoP-bound OIDC ID Token).
type tokenClaims struct {
	Iss      string       `json:"iss"`
	Sub      string       `json:"sub"`
	Aud      audience     `json:"aud"`
	Exp      *numericDate `json:"exp"`
	Iat      *numericDate `json:"iat"`
	Nbf      *numericDate `json:"nbf"`
	WebID    string       `json:"webid"`
	ClientID string       `json:"client_id"`
	Azp      string       `json:"azp"`
	Cnf      *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// token is an access token parsed once. Verify keeps the ones whose
// signature verified (verifiedTokens) and never changes them after.
type token struct {
	raw      string
	sum      [32]byte // SHA-256 of raw, the key of verifiedTokens
	verified bool     // its signature verified (it came from verifiedTokens)
	payload  []byte   // the signed payload, as parsed
	claims   tokenClaims
	webid    string
	clientID string
}

// audience is the aud claim: a string or an array of strings (RFC 7519
// §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("aud is neither a string nor an array of strings")
	}
	*a = ss
	return nil
}

// parseToken parses an access token and checks its claims, but not yet
// its signature nor its issuer: those need the network.
func (v *Verifier) parseToken(raw string, sum [32]byte, now time.Time) (*token, error) {
	bad := func(desc, format string, args ...any) (*token, error) {
		return nil, authErr(desc, fmt.Errorf("%w: "+format, append([]any{ErrToken}, args...)...))
	}
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		if e, ok := err.(*jose.ErrUnexpectedSignatureAlgorithm); ok {
			return bad("access token signature algorithm not allowed", "alg %.20q", e.Got)
		}
		return bad("malformed access token", "%s", joseReason(err))
	}
	t := &token{raw: raw, sum: sum, payload: jws.UnsafePayloadWithoutVerification()}
	c := &t.claims
	if err := json.Unmarshal(t.payload, c); err != nil {
		return bad("malformed access token claims", "claims: %s", jsonReason(err))
	}
	if !isHTTPURL(c.Iss) {
		return bad("access token iss is not an http(s) URL", "iss %.100q", c.Iss)
	}
	// Solid-OIDC #tokens-id: "The values MUST include ... the string
	// `solid`".
	if !slices.Contains(c.Aud, "solid") {
		return nil, authErr("access token audience does not include solid", ErrAudience)
	}
	skew := v.cfg.ClockSkew
	if c.Exp == nil {
		return bad("access token has no exp", "no exp")
	}
	if exp := c.Exp.time(); now.After(exp.Add(skew)) {
		return nil, authErr("access token expired", fmt.Errorf("%w: exp %s", ErrExpired, exp.UTC().Format(time.RFC3339)))
	}
	if c.Iat == nil {
		return bad("access token has no iat", "no iat")
	}
	if iat := c.Iat.time(); iat.After(now.Add(skew)) {
		return nil, authErr("access token issued in the future", fmt.Errorf("%w: iat %s", ErrExpired, iat.UTC().Format(time.RFC3339)))
	}
	if c.Nbf != nil {
		if nbf := c.Nbf.time(); nbf.After(now.Add(skew)) {
			return nil, authErr("access token not valid yet", fmt.Errorf("%w: nbf %s", ErrExpired, nbf.UTC().Format(time.RFC3339)))
		}
	}
	// The webid claim, or sub when it is a WebID itself (some issuers put
	// it there).
	switch {
	case c.WebID != "":
		t.webid = c.WebID
	case isHTTPURL(c.Sub):
		t.webid = c.Sub
	default:
		return bad("access token has no webid", "no webid, sub not an http(s) URL")
	}
	if !isHTTPURL(t.webid) {
		return bad("access token webid is not an http(s) URL", "webid %.100q", t.webid)
	}
	t.clientID = c.ClientID
	if t.clientID == "" {
		t.clientID = c.Azp
	}
	return t, nil
}

// isHTTPURL reports whether s is an absolute http or https URL.
func isHTTPURL(s string) bool {
	if len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// normalizeIssuer is the form issuers are compared in: scheme and host
// lower case, default port dropped, no trailing slash.
func normalizeIssuer(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return strings.TrimRight(s, "/")
	}
	n, err := normalizeHTU(s)
	if err != nil {
		return strings.TrimRight(s, "/")
	}
	if u.RawQuery != "" {
		n += "?" + u.RawQuery
	}
	return strings.TrimRight(n, "/")
}
