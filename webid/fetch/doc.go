// Package fetch is Kluis's one door to the open web: every document the
// server dereferences on someone else's say-so — WebID profiles, OpenID
// Provider metadata and key sets, and later Client ID documents and group
// documents — is fetched through a Client from this package.
//
// Those URLs come from requests (a token's webid and iss claims, an ACL's
// agentGroup), so a plain http.Client would let anyone make the server
// connect to its own loopback, the private network around it, or a cloud
// metadata service (server-side request forgery). A Client therefore:
//
//   - fetches http and https URLs only, on every redirect hop too, and
//     follows at most Config.MaxRedirects redirects;
//   - checks every address it connects to at dial time, after name
//     resolution (net.Dialer.Control), so DNS rebinding and redirects
//     cannot reach loopback, private (RFC 1918, ULA), link-local, CGNAT,
//     multicast, unspecified, documentation, NAT64 or cloud-metadata
//     addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200, ...),
//     unless Config.Allow lists a range that holds them (ParseAllowList
//     reads the KLUIS_FETCH_ALLOW setting);
//   - bounds connection set-up (Config.DialTimeout), each request as a
//     whole (Config.Timeout) and the size of every response body
//     (Config.MaxBodyBytes, ErrTooLarge), gzip-decoded size included;
//   - never uses a proxy from the environment, sends no cookies and no
//     credentials.
//
// Client.Get adds a bounded cache of successful GET responses, kept for
// as long as their Cache-Control max-age or Expires says (no-store and
// no-cache are not kept), but never less than Config.CacheMinTTL nor more
// than Config.CacheMaxTTL, and a single flight per URL, so a burst of
// requests naming the same WebID costs one fetch. Client.HTTPClient is the
// same guarded client without the cache, for libraries such as go-oidc
// that take an *http.Client.
//
// fetch is its own package, not a type in webid, because its users are not
// all about identity: access control will fetch group documents with it,
// and main parses KLUIS_FETCH_ALLOW with it, without either depending on
// the Solid-OIDC verifier or go-oidc.
//
// It must not import server, storage or ldp, nor anything else of Kluis
// but webid/internal; it holds no package-level mutable state.
package fetch
