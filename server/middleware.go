package server

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// HeaderRequestID carries the request id, in requests and responses.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLength is the longest incoming request id that is kept.
const maxRequestIDLength = 64

// ctxKeyRequestID is the echo.Context key of the request id.
const ctxKeyRequestID = "kluis.request_id"

// requestID accepts a well-formed incoming X-Request-Id (at most 64 of
// [A-Za-z0-9_-]) or makes a new one, and echoes it in the response.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !validRequestID(id) {
				id = rand.Text()
			}
			c.Set(ctxKeyRequestID, id)
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// requestIDOf returns the id that requestID gave the request.
func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxKeyRequestID).(string)
	return id
}

// requestLog answers any error the handlers return (through the echo error
// handler, so the status is final) and then logs one line per request:
// request id, method, path, status, bytes, duration, the client's
// address (proxy.go) and, when it is traced, the trace id. It logs the
// path only: never the query string (which may carry tokens), and no
// header, so never Authorization, DPoP or Cookie.
func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			completed := false
			defer func() {
				req, res := c.Request(), c.Response()
				level := slog.LevelInfo
				if res.Status >= 500 || !completed {
					level = slog.LevelWarn
				}
				attrs := []slog.Attr{
					slog.String("request_id", requestIDOf(c)),
					slog.String("method", req.Method),
					slog.String("path", redactChannel(req.URL.EscapedPath())),
					slog.Int("status", res.Status),
					slog.Int64("bytes", res.Size),
					slog.Duration("duration", time.Since(start)),
				}
				// The client's address: behind a trusted proxy, the one it
				// forwarded (proxy.go), with the proxy's own.
				attrs = append(attrs, slog.String("client", hostOf(req.RemoteAddr)))
				if id, ok := c.Get(ctxKeyTraceID).(string); ok {
					// Tracing on and this request recorded (observe.go).
					attrs = append(attrs, slog.String("trace_id", id))
				}
				if fw, ok := c.Get(ctxKeyForwarded).(*forwarded); ok {
					attrs = append(attrs, slog.String("proxy", hostOf(fw.proxy)))
					if fw.proto != "" {
						attrs = append(attrs, slog.String("forwarded_proto", fw.proto))
					}
					if fw.host != "" {
						attrs = append(attrs, slog.String("forwarded_host", fw.host))
					}
				}
				if !completed {
					// The response was cut off (see errorResponder.respond).
					attrs = append(attrs, slog.Bool("aborted", true))
				}
				logger.LogAttrs(req.Context(), level, "request", attrs...)
			}()
			if err := next(c); err != nil {
				c.Error(err)
			}
			completed = true
			return nil
		}
	}
}

// hostOf is the host part of a host:port address, or the address itself
// when it has no port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// panicError is a recovered panic, kept with its stack for the log.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// recoverPanic turns a panic in a handler into an error, which the error
// responder answers with a generic 500 and logs with the stack. The
// sentinel http.ErrAbortHandler passes through: it is how a response is
// deliberately cut off.
func recoverPanic() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err = &panicError{value: v, stack: debug.Stack()}
			}()
			return next(c)
		}
	}
}

// limitBody refuses request bodies longer than max bytes: at once when the
// declared Content-Length is too long, else when reading passes the limit.
// A max of zero or less means no limit.
func limitBody(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if max <= 0 {
			return next
		}
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > max {
				return &http.MaxBytesError{Limit: max}
			}
			if req.Body != nil && req.Body != http.NoBody {
				// The underlying writer, so that net/http knows to close the
				// connection instead of reading the rest of the body.
				req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, max)
			}
			return next(c)
		}
	}
}
