// Package oidc is the HTTP room of Kluis's built-in OpenID provider: the
// Solid-OIDC endpoints under /.oidc/ and the discovery document under
// /.well-known/ (discovery, keys, authorization and consent, token,
// dynamic client registration, revocation, end of session), thin handlers
// over webid/idp, which holds the protocol and knows no HTTP framework.
//
// Its Handler is built by New from Config (server.Config.IdP) and the
// server's base URL, storage and safe fetcher, and adds its routes with
// Mount; package server builds it and mounts it. Accounts adapts the
// account store of webid/account to the provider's idp.Accounts. The
// session cookie it reads is the one server/accounts sets; server.New
// passes its name in Config.SessionCookie.
//
// OAuth errors are answered here as JSON (RFC 6749 §5.2); any other
// error is returned, and becomes a status in server/problem.
//
// It may import echo, storage, webid/account, webid/fetch, webid/idp,
// server/problem and server/request; never package server or another
// audience's subpackage.
package oidc
