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
// Until the Solid/LDP issue lands, resources.go serves plain GET, HEAD, PUT
// and DELETE of stored objects. It is registered as one routes value in
// New, so LDP handlers can take its place without touching the rest.
package server
