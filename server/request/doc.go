// Package request reads what the HTTP front's middleware leaves on a
// request, for the handlers of every audience: its id (ID, set by the
// request-id middleware of package server), the client's address
// (ClientAddr, after the trusted-proxy middleware), and whether a browser
// form comes from this server's own origin (FromOrigin) with the
// Referrer-Policy of Kluis's own pages.
//
// It is shared by package server and its audience subpackages
// (server/accounts, server/oidc, ...), like server/problem, and imports
// nothing of Kluis: no subpackage needs package server to read a request.
package request
