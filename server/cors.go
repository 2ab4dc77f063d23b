package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// exposedHeaders are the response headers a Solid app may read (Solid
// Protocol §8.1 "CORS Server": list every used header, not "*").
const exposedHeaders = "Accept-Patch, Accept-Post, Accept-Put, Accept-Ranges, Allow, Content-Length, " +
	"Content-Range, Content-Type, ETag, Last-Modified, Link, Location, Updates-Via, WAC-Allow, " +
	"WWW-Authenticate, X-Request-Id, MS-Author-Via"

// defaultAllowedHeaders are allowed in preflights that list none.
const defaultAllowedHeaders = "Accept, Authorization, Content-Type, DPoP, If-Match, If-None-Match, " +
	"If-Modified-Since, If-Unmodified-Since, Link, Range, Slug"

// allMethods are the methods a preflight may ask for.
const allMethods = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"

// cors implements the CORS protocol as Solid Protocol §8.1 requires: for
// any request with an Origin, echo that origin, allow credentials, expose
// every header, and vary by Origin; answer preflights with whatever method
// and headers they ask for. Blocking is left to access control (401/403).
func cors() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			h := c.Response().Header()
			h.Add("Vary", "Origin")
			origin := req.Header.Get("Origin")
			if origin == "" {
				return next(c)
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", exposedHeaders)
			method := req.Header.Get("Access-Control-Request-Method")
			if req.Method != http.MethodOptions || method == "" {
				return next(c)
			}
			// A preflight: answered here, before authentication.
			h.Set("Access-Control-Allow-Methods", allMethods)
			if !slices.Contains(strings.Split(allMethods, ", "), method) {
				// Methods are case-sensitive; answer with the one asked.
				h.Set("Access-Control-Allow-Methods", allMethods+", "+method)
			}
			if asked := req.Header.Get("Access-Control-Request-Headers"); asked != "" {
				h.Set("Access-Control-Allow-Headers", asked)
			} else {
				h.Set("Access-Control-Allow-Headers", defaultAllowedHeaders)
			}
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			return c.NoContent(http.StatusNoContent)
		}
	}
}
