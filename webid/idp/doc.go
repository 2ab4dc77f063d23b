// Package idp is Kluis's built-in OpenID Provider for Solid-OIDC
// (https://solidproject.org/TR/oidc, ../shared/specs/solid-oidc.bs.txt):
// the half of "Identity provider, accounts and pods" that signs people in
// to apps and hands those apps DPoP-bound tokens naming a WebID.
//
// What it owns:
//
//   - Discovery metadata (OpenID Connect Discovery 1.0, with
//     solid_oidc_supported and RFC 9207's
//     authorization_response_iss_parameter_supported) and the public key
//     set (Keys: ES256 signing keys, and RS256 ones for the ID tokens of
//     clients that register id_token_signed_response_alg RS256, persisted
//     in storage and rotated on a schedule every process agrees on; the
//     next key is published before it signs, the previous one stays
//     published until its tokens expire).
//   - Clients: dynamic registration (RFC 7591, public and confidential),
//     Client Identifier Documents (Solid-OIDC §5.1: an https client_id
//     dereferenced through an injected FetchFunc), and account client
//     credentials (Solid-OIDC §10) through the Accounts seam.
//   - The authorization code flow: PKCE S256 required (RFC 7636), the iss
//     parameter on every redirect (RFC 9207, Solid-OIDC §7), a consent page
//     that lets the user pick a WebID, CSRF-protected.
//   - The token endpoint: authorization_code, refresh_token and
//     client_credentials grants, each requiring a DPoP proof (RFC 9449
//     §4.3); access tokens and ID tokens carry cnf.jkt, webid, azp and aud
//     ["solid", client]. Refresh tokens rotate at every use, a replayed one
//     revokes its whole family, and for public clients they stay bound to
//     the DPoP key (RFC 9449 §5).
//   - Revocation (RFC 7009) and RP-initiated logout.
//
// State shared between server processes lives in storage under "sys/idp/",
// which no LDP request can reach (ldp uses "r/" only):
//
//	sys/idp/keys/signing.json       the ES256 signing keys (private JWKs) and their schedule
//	sys/idp/keys/signing-rs256.json the RS256 signing keys, the same way
//	sys/idp/secret                  the HMAC key of CSRF tokens
//	sys/idp/codes/<sha256(code)>    an authorization code, marked used by an If-Match write
//	sys/idp/refresh/<family>        a refresh-token family: the hash of its live token
//	sys/idp/clients/<client_id>     a registered client, the hash of its secret, its expiry
//	sys/idp/client-expiry/<day>/<client_id>  the expiry index: a client expiring that day (UTC)
//	sys/idp/client-expiry-migrated  marks that clients stored before expiry got one
//
// Every read-modify-write is an If-Match write and every creation an
// If-None-Match one, so any process may redeem a code another issued, and
// of two concurrent redemptions of a code or a refresh token exactly one
// wins. Storage never holds a usable code, refresh token or client
// secret, only their SHA-256 (they are 256 random bits). Sweep deletes
// expired codes and families, and expired clients through the expiry
// index.
//
// Registration is anonymous, so it is bounded (ClientLimits): the body
// size, a rate and a count of clients not yet used for a login per client
// address, a count in all (these in memory, per process), and expiry: a
// client that never completes a login is forgotten after a day, one in
// use a while after its last login, never before the refresh tokens that
// login gave.
//
// The HTTP front is the server package's (server/idp.go): this package
// takes and returns plain values (url.Values, strings, HTML bytes), never
// an *http.Request. It imports storage and go-jose, nothing else of Kluis:
// not server, not ldp, not the rest of webid (whose DPoP proof check is
// unexported; the token endpoint's own, in dpop.go, checks RFC 9449 §4.3
// the same way). It holds no package-level mutable state. Nothing here
// logs, or puts in an error, a token, a code, a secret, a DPoP proof or a
// key.
//
// Library choice: zitadel/oidc v3's op package and ory/fosite were
// evaluated; neither can issue DPoP-bound tokens (both hard-code Bearer
// token responses), neither implements RFC 9207 or dynamic registration,
// so the provider is written on github.com/go-jose/go-jose/v4 and the
// standard library.
package idp
