// Package server is Kluis's HTTP front: it owns the routes, the middleware
// (request id, structured request log, panic recovery, body size limit), the
// readiness and liveness probes, the thin handlers that turn requests into
// calls on the packages below, and errors.go, the one place where an error
// becomes an HTTP status.
//
// It is the only package that imports github.com/labstack/echo/v4, and no
// echo.Context or *http.Request travels below it. It may import ldp, acl,
// webid and storage; nothing but main imports server.
//
// The Solid Protocol is served by ldp.go over an ldp.Store. Every request
// passes two seams before the store acts: an Authenticator that finds the
// Agent (anonymous until Solid-OIDC is configured; tests fill it directly,
// and the real binary accepts no test-only header), and Permissions, which
// is Web Access Control (wac.go over package acl) in a real server. CORS is
// answered by cors.go as Solid Protocol §8.1 asks, before authentication.
//
// Accounts and pods (account.go, account_pages.go, pods.go): the account
// API at /.account/, compatible with the Community Solid Server's JSON API,
// and its HTML pages (sign-up, login, account overview), over
// webid/account; pods are made by ldp.Store.CreatePod and recorded in the
// account that made them, for the API, the pages and main's command line
// (Admin) alike.
//
// Hosting (proxy.go, observe.go): the client address behind trusted
// reverse proxies (Forwarded, X-Forwarded-*; dropped from anyone else, and
// never used for URLs), and the Observer seam that server/metrics fills:
// requests by method, route class and status, and refused credentials by
// reason; and the Tracer seam that server/tracing fills: a span around
// every request, named after its route class, with the request id, its
// trace id in the log line, and an incoming traceparent continued only
// from trusted proxies. The Prometheus client lives in server/metrics,
// OpenTelemetry in server/tracing, TLS certificates in server/certs; main
// wires them, and server imports none.
//
// Notifications (notifications.go over server/notify): the subscription
// services under /.notifications/, listed in every storage description,
// the receiveFrom endpoints of channels, and the legacy solid-0.1
// WebSocket that the Updates-Via header names. Subscribing is authorized
// here, with the Authenticator and Permissions of every request.
package server
