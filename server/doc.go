// Package server is Kluis's HTTP front: it keeps what every request passes
// through, and mounts the rooms of each audience.
//
// It owns the router and the middleware (request id, structured request
// log, panic recovery, CORS, body size and rate limits, trusted proxies,
// the metrics and tracing seams), the readiness and liveness probes, the
// authentication and authorization seams, the error responder (errors.go,
// which writes what server/problem decides), and the Solid Protocol
// resource handlers (ldp.go over an ldp.Store). New builds the shared
// parts, builds each audience's handler, and mounts them.
//
// The resource handlers stay here rather than in a subpackage of their
// own: every request to a pod passes through them and through the seams
// beside them (conditions, ranges, Link headers, WAC-Allow), they are the
// fallback route that the audiences' static paths win over, and splitting
// them from the seams would only move the same arrows to another package.
//
// It is the only package besides its subpackages that imports
// github.com/labstack/echo/v4, and no echo.Context or *http.Request
// travels below it. It may import ldp, acl, webid and storage; nothing but
// main imports server.
//
// Every request passes two seams before the store acts: an Authenticator
// that finds the Agent (Solid-OIDC, authn.go; tests fill it directly, and
// the real binary accepts no test-only header), and Permissions, which is
// Web Access Control (wac.go over package acl) in a real server. CORS is
// answered by cors.go as Solid Protocol §8.1 asks, before authentication.
//
// Hosting (proxy.go, observe.go, listener.go): the client address behind
// trusted reverse proxies (Forwarded, X-Forwarded-*; dropped from anyone
// else, and never used for URLs), the connections per client, and the
// Observer seam that server/metrics fills: requests by method, route
// class and status, and refused credentials by reason; and the Tracer
// seam that server/tracing fills: a span around every request, named
// after its route class, with the request id, its trace id in the log
// line, and an incoming traceparent continued only from trusted proxies.
// The Prometheus client lives in server/metrics, OpenTelemetry in
// server/tracing, TLS certificates in server/certs; main wires them, and
// server imports none.
//
// The rooms of the audiences, each a Handler with a Mount method, built
// from a small config of its dependencies:
//
//   - server/accounts: the account API at /.account/ (compatible with the
//     Community Solid Server's JSON API), its HTML pages, password reset,
//     deleting pods and accounts, and making pods (also for main's
//     command line, accounts.Admin).
//   - server/oidc: the built-in OpenID provider's routes, over webid/idp.
//   - server/notifications: the Solid Notifications routes over
//     server/notify; notifications.go here builds the Service, feeds it
//     the store's changes, and gives the routes the seams (Access).
//   - server/consent: reserved for the consent work (credential service,
//     UMA, consent page, access log).
//
// They share two small packages and nothing else: server/problem, the one
// error-to-status map, and server/request, what the middleware leaves on
// a request (its id, the client's address, the form origin check). They
// import neither server nor each other (deps_test.go).
package server
