package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/databrowser"
)

// publicURLKey keys the public URL of a request whose host was a pod's.
type publicURLKey struct{}

// podHosts maps requests for a pod's own host (<name>.<base host>, with
// KLUIS_POD_MODE=subdomain) onto the pod's path before routing, so every
// handler sees the resource path (/<name>/...) and the store answers with
// the pod's IRIs. It remembers the public URL the client used, which the
// DPoP proof's htu names. Requests for the base host pass unchanged, and
// so do those for the data browser's assets, which its page on the pod's
// host loads from there (server/databrowser: mashlib's worker must be of
// the page's origin); browser is nil when it is off.
func podHosts(space *ldp.Store, scheme string, browser *databrowser.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if browser != nil && browser.Serves(r.URL.Path) {
				return next(c)
			}
			mapped, ok := space.HostPath(r.Host, r.URL.Path)
			if !ok {
				return next(c)
			}
			public := scheme + "://" + r.Host + r.URL.EscapedPath()
			label := mapped[1 : len(mapped)-len(r.URL.Path)]
			r.URL.Path = mapped
			if r.URL.RawPath != "" {
				r.URL.RawPath = "/" + label + r.URL.RawPath
			}
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), publicURLKey{}, public)))
			return next(c)
		}
	}
}

// publicURLOf returns the public URL of a request that came for a pod's
// own host.
func publicURLOf(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(publicURLKey{}).(string)
	return u, ok
}
