// Package webid owns agents and identity on the resource side: it turns
// the credentials of a request into an Identity (WebID, client, issuer)
// for access control, by Solid-OIDC (https://solidproject.org/TR/oidc,
// ../shared/specs/solid-oidc.bs.txt) and DPoP (RFC 9449).
//
// What it owns:
//
//   - Verifier.Verify: `Authorization: DPoP <access token>` with one
//     `DPoP: <proof>` header. The proof is checked as RFC 9449 §4.3 says
//     (typ, an asymmetric alg from an allow-list, a public jwk, signature,
//     htm, htu, iat, ath when present, jti never seen within the window);
//     the token as Solid-OIDC #tokens-id and #id-token-validation say (signature by its issuer's keys found
//     through OpenID Connect Discovery, aud "solid", exp/iat/nbf with a
//     clock skew, webid, client_id or azp, cnf.jkt equal to the proof key's
//     RFC 7638 thumbprint); and the issuer must be a solid:oidcIssuer of
//     the WebID's profile (Solid-OIDC #oidc-issuer-discovery). Bearer tokens are refused
//     unless Config.InsecureAllowBearer.
//   - LocalProfiles, the seam through which profiles hosted by this server
//     are read from storage without an HTTP round trip.
//   - Caches that keep per-request work low: issuer metadata and key sets
//     (go-oidc's RemoteKeySet, refreshed on an unknown kid at most once
//     per Config.JWKSRefreshInterval), the issuers each WebID trusts (as
//     long as the fetch cache keeps the profile), and a bounded replay
//     cache of proof jti values.
//   - AuthError, the Err sentinels and Challenge: every refusal is an
//     *AuthError that the server answers with 401 and
//     `WWW-Authenticate: DPoP realm=..., error="invalid_token",
//     error_description=..., algs=...` — an unreachable issuer or profile
//     included. No error or log line holds a token, a proof or a key.
//
// Subpackages: webid/fetch is the one guarded HTTP client for documents
// named by requests (SSRF rules, limits, cache); webid/webidtest is a real
// test issuer, DPoP client and profile server; webid/internal/lru a small
// LRU map. The built-in identity provider will live in webid/idp.
//
// Signatures are verified with github.com/go-jose/go-jose/v4 (proofs,
// thumbprints) and github.com/coreos/go-oidc/v3 (discovery, key sets).
// Profiles are parsed with ldp/rdfx. webid must not import server,
// storage or ldp (ldp/rdfx is allowed); it holds no package-level mutable
// state.
package webid
