package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
)

// HeaderRequestID carries the request id, in requests and responses.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLength is the longest incoming request id that is kept.
const maxRequestIDLength = 64

// requestID accepts a well-formed incoming X-Request-Id (at most 64 of
// [A-Za-z0-9_-]) or makes a new one, and echoes it in the response.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !validRequestID(id) {
				id = rand.Text()
			}
			request.SetID(c, id)
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
					slog.String("request_id", request.ID(c)),
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

// drainGrace is how long net/http may go on reading a request body that
// the handler left unread, once the answer is out (it reads at most 256 KiB
// more, to end the connection cleanly). A client sending at any useful
// speed is drained in that time; a trickle is cut.
const drainGrace = time.Second

// guardBody bounds the time a request body may take, so that no one holds
// a connection and a goroutine by sending slowly:
//
//   - while a handler reads the body, each read waits at most timeout for
//     the client's next bytes, and the body must arrive at minRate bytes
//     per second on average over the time spent waiting for it, after a
//     head start of timeout; else the read fails with a
//     *problem.SlowBodyError (408). A large upload may take as long as it needs.
//   - a body the handler did not read to its end (a refusal, which is
//     decided before the body is read; an error; a method that takes no
//     body) is not drained before the answer, as net/http would do for up
//     to 256 KiB: the HTTP/1 answer says Connection: close, and net/http
//     gets drainGrace to read what is left before the connection ends (an
//     HTTP/2 stream is reset alone).
//
// The read deadlines are set through http.ResponseController, per stream
// on HTTP/2; where the writer cannot set them (a test recorder), reads are
// not bounded.
func guardBody(timeout time.Duration, minRate int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req, res := c.Request(), c.Response()
			if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
				return next(c)
			}
			g := &guardedBody{
				body: req.Body, rc: http.NewResponseController(res), timeout: timeout, minRate: minRate,
				left: req.ContentLength, now: time.Now,
			}
			req.Body = g
			// On HTTP/2 a stream's unread body is reset on its own, and
			// Connection: close would end every stream of the connection.
			closing := req.ProtoMajor < 2
			res.Before(func() {
				// The handler answers: it is done with the body.
				if g.abandon() && closing {
					res.Header().Set("Connection", "close")
				}
			})
			err := next(c)
			if g.abandon() && closing && !res.Committed {
				// The error is answered after this returns.
				res.Header().Set("Connection", "close")
			}
			return err
		}
	}
}

// guardedBody is a request body read under guardBody's deadlines.
type guardedBody struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	minRate int64
	now     func() time.Time

	mu sync.Mutex
	// read is the bytes read so far, left those still expected (-1 when
	// the length is unknown); waited is the time spent in reads.
	read, left int64
	waited     time.Duration
	// done is set at the end of the body, stopped once it is abandoned or
	// cut: no more reads are allowed either way.
	done, stopped bool
	err           error
}

// Read reads within the deadline of bodyWait. Reads are not concurrent;
// the lock guards against abandon, called as the handler answers.
func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.err != nil {
		g.mu.Unlock()
		return 0, g.err
	}
	start := g.now()
	wait := bodyWait(g.timeout, g.minRate, g.read, g.waited)
	if wait <= 0 {
		defer g.mu.Unlock()
		return 0, g.cut()
	}
	// An error means no deadlines here (ErrNotSupported): reads are then
	// only as bounded as the server's own timeouts make them.
	deadline := g.rc.SetReadDeadline(start.Add(wait)) == nil
	g.mu.Unlock()

	n, err := g.body.Read(p)

	g.mu.Lock()
	defer g.mu.Unlock()
	g.read += int64(n)
	if g.left > 0 {
		g.left -= int64(n)
	}
	g.waited += g.now().Sub(start)
	switch {
	case err == io.EOF || err == nil && g.left == 0:
		g.done = true
		if deadline && !g.stopped {
			// No deadline may outlive the body: net/http's read of the
			// next request, and its watch for the client going away, are
			// bounded by its own timeouts.
			g.rc.SetReadDeadline(time.Time{})
		}
	case err != nil && isTimeout(err) && !g.stopped:
		err = g.cut()
	case err != nil && g.stopped && g.err != nil:
		err = g.err
	}
	return n, err
}

// bodyWait is how long the next read of a body may wait: timeout, less
// when the body would otherwise fall below minRate bytes per second on
// average over the time waited, after a head start of timeout. Zero or
// less means the body is too slow already.
func bodyWait(timeout time.Duration, minRate, read int64, waited time.Duration) time.Duration {
	wait := timeout
	if minRate > 0 {
		// The first read bytes are due by timeout, each later one
		// 1/minRate of a second later.
		credit := timeout + time.Duration(float64(read)/float64(minRate)*float64(time.Second)) - waited
		wait = min(wait, credit)
	}
	return wait
}

// cut ends the body for being too slow.
func (g *guardedBody) cut() error {
	g.stopped = true
	g.err = &problem.SlowBodyError{Timeout: g.timeout, MinRate: g.minRate, Read: g.read}
	return g.err
}

// abandon reports whether the body was left before its end, and makes sure
// that what remains of it is read for no longer than drainGrace.
func (g *guardedBody) abandon() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return false
	}
	if !g.stopped {
		g.stopped = true
		if g.err == nil {
			g.err = errBodyAbandoned
		}
		g.rc.SetReadDeadline(g.now().Add(min(drainGrace, g.timeout)))
	}
	return true
}

// Close closes the body.
func (g *guardedBody) Close() error { return g.body.Close() }

// errBodyAbandoned is read from a body after its handler answered.
var errBodyAbandoned = errors.New("server: request body read after the answer")

// isTimeout reports whether err is a read deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
