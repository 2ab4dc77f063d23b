package request

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// ctxKeyID is the echo.Context key of the request id.
const ctxKeyID = "kluis.request_id"

// SetID records the request's id; the front's request-id middleware
// calls it before any handler runs.
func SetID(c echo.Context, id string) { c.Set(ctxKeyID, id) }

// ID is the request's id, for log lines; "" before the middleware ran.
func ID(c echo.Context) string {
	id, _ := c.Get(ctxKeyID).(string)
	return id
}

// ClientAddr is the client's address: the RemoteAddr that the front's
// proxy middleware leaves (the peer, or the client behind trusted
// proxies), for rate limits and logs.
func ClientAddr(r *http.Request) string { return r.RemoteAddr }
