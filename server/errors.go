package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid"
)

// This file is the one place where an error becomes an HTTP response. Every
// handler returns errors (domain sentinels wrapped with context, or the
// small error types below); classify decides status, headers and reason.

// problem is the HTTP form of an error.
type problem struct {
	status int
	// reason is the short plain-text body of a 4xx answer. 5xx answers
	// always get a generic body.
	reason string
	// header holds extra response headers, such as Allow or Content-Range.
	header http.Header
}

// classify maps an error to its response. To teach Kluis a new error, add
// a case: errors.As cases for types that carry data come before the
// errors.Is cases of the sentinels they wrap.
func classify(err error) problem {
	var (
		httpErr   *echo.HTTPError
		tooLarge  *http.MaxBytesError
		badReq    *badRequestError
		method    *methodNotAllowedError
		rng       *rangeNotSatisfiableError
		body      *bodyReadError
		authErr   *webid.AuthError
		ldpBad    *ldp.BadRequestError
		conflict  *ldp.ConflictError
		ldpMethod *ldp.MethodNotAllowedError
	)
	switch {
	case errors.As(err, &tooLarge):
		return problem{status: http.StatusRequestEntityTooLarge,
			reason: fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &body):
		return problem{status: http.StatusBadRequest, reason: "could not read the request body"}
	case errors.As(err, &badReq):
		return problem{status: http.StatusBadRequest, reason: badReq.reason}
	case errors.As(err, &method):
		return problem{status: http.StatusMethodNotAllowed,
			header: http.Header{"Allow": {strings.Join(method.allow, ", ")}}}
	case errors.As(err, &ldpBad):
		return problem{status: http.StatusBadRequest, reason: ldpBad.Reason + detail(ldpBad.Err)}
	case errors.As(err, &conflict):
		return problem{status: http.StatusConflict, reason: conflict.Reason}
	case errors.As(err, &ldpMethod):
		return problem{status: http.StatusMethodNotAllowed,
			header: http.Header{"Allow": {strings.Join(ldpMethod.Allow, ", ")}}}
	case errors.As(err, &authErr):
		return problem{status: http.StatusUnauthorized, reason: authErr.Description}
	case errors.Is(err, ErrUnauthenticated):
		return problem{status: http.StatusUnauthorized, reason: "authentication required"}
	case errors.Is(err, ErrForbidden):
		return problem{status: http.StatusForbidden, reason: "forbidden"}
	case errors.Is(err, ldp.ErrUnsupportedMediaType):
		return problem{status: http.StatusUnsupportedMediaType, reason: "unsupported media type"}
	case errors.Is(err, ldp.ErrNotAcceptable):
		return problem{status: http.StatusNotAcceptable, reason: "no acceptable representation; try text/turtle or application/ld+json"}
	case errors.Is(err, ldp.ErrTooLarge):
		return problem{status: http.StatusRequestEntityTooLarge, reason: "RDF document too large"}
	case errors.Is(err, ldp.ErrInvalidPatch):
		return problem{status: http.StatusUnprocessableEntity, reason: "invalid N3 patch" + detail(errors.Unwrap(err))}
	case errors.Is(err, rdfx.ErrPatchConflict):
		return problem{status: http.StatusConflict, reason: "the patch does not apply to the resource as it is"}
	case errors.Is(err, ldp.ErrNotModified):
		return problem{status: http.StatusNotModified}
	case errors.As(err, &rng):
		return problem{status: http.StatusRequestedRangeNotSatisfiable,
			header: http.Header{"Content-Range": {"bytes */" + strconv.FormatInt(rng.size, 10)}}}

	case errors.Is(err, storage.ErrNotFound):
		return problem{status: http.StatusNotFound}
	case errors.Is(err, storage.ErrPreconditionFailed):
		return problem{status: http.StatusPreconditionFailed}
	case errors.Is(err, storage.ErrInvalidKey):
		return problem{status: http.StatusBadRequest, reason: "invalid resource path"}
	case errors.Is(err, storage.ErrInvalidMetadata):
		return problem{status: http.StatusBadRequest, reason: "invalid metadata"}
	case errors.Is(err, storage.ErrInvalidRange):
		return problem{status: http.StatusRequestedRangeNotSatisfiable}
	case errors.Is(err, storage.ErrConflict):
		return problem{status: http.StatusConflict}
	case errors.Is(err, storage.ErrUnavailable):
		return problem{status: http.StatusServiceUnavailable}

	case errors.As(err, &httpErr):
		// echo's own errors: no route (404), wrong method (405, with the
		// Allow header echo has already set), and the like.
		p := problem{status: httpErr.Code}
		if msg, ok := httpErr.Message.(string); ok {
			p.reason = msg
		}
		return p
	}
	return problem{status: http.StatusInternalServerError}
}

// detail is the first line of an error's text, for a 4xx reason, or "".
// Parser errors carry the line and column here.
func detail(err error) string {
	if err == nil {
		return ""
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return ": " + msg
}

// badRequestError is a request the server cannot act on, with the reason
// to tell the client.
type badRequestError struct {
	reason string
}

func (e *badRequestError) Error() string { return "bad request: " + e.reason }

// methodNotAllowedError is a method the target does not support.
type methodNotAllowedError struct {
	allow []string
}

func (e *methodNotAllowedError) Error() string {
	return "method not allowed; allowed: " + strings.Join(e.allow, ", ")
}

// rangeNotSatisfiableError is a Range that does not overlap the object;
// the size goes into Content-Range (RFC 9110, section 15.5.17).
type rangeNotSatisfiableError struct {
	size int64
	err  error
}

func (e *rangeNotSatisfiableError) Error() string {
	return fmt.Sprintf("range not satisfiable for %d bytes: %v", e.size, e.err)
}

func (e *rangeNotSatisfiableError) Unwrap() error { return e.err }

// bodyReadError is a failure to read the request body: the client's
// fault (a broken upload), not the backend's.
type bodyReadError struct {
	err error
}

func (e *bodyReadError) Error() string { return "reading request body: " + e.err.Error() }

func (e *bodyReadError) Unwrap() error { return e.err }

// errorResponder is echo's HTTPErrorHandler.
type errorResponder struct {
	logger *slog.Logger
	// challenge is the WWW-Authenticate value of a 401 (Solid-OIDC, RFC
	// 9449 §7.1), given the error; nil sends none.
	challenge func(error) string
}

// respond answers err. 4xx get a short plain-text reason; 5xx get a
// generic body, and the error is logged with the request id (a panic with
// its stack). When the response has already begun, the status can no
// longer change: the error is logged and the connection is cut with
// http.ErrAbortHandler, so that the client sees a broken response rather
// than a short one that looks whole.
func (r *errorResponder) respond(err error, c echo.Context) {
	p := classify(err)
	req, res := c.Request(), c.Response()

	attrs := []slog.Attr{
		slog.String("request_id", requestIDOf(c)),
		slog.Int("status", p.status),
		slog.String("error", err.Error()),
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.stack)))
	}
	level := slog.LevelDebug
	switch {
	case req.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client went away; nothing is wrong with the server.
		level = slog.LevelInfo
		attrs = append(attrs, slog.Bool("client_gone", true))
	case p.status >= 500:
		level = slog.LevelError
	}
	if res.Committed {
		r.logger.LogAttrs(req.Context(), max(level, slog.LevelWarn), "response cut off", attrs...)
		panic(http.ErrAbortHandler)
	}
	r.logger.LogAttrs(req.Context(), level, "request failed", attrs...)

	// Drop what a handler may have set for the success it did not reach.
	h := res.Header()
	for _, name := range []string{"Content-Length", "Content-Range", "Content-Type", "ETag", "Last-Modified", "Location"} {
		h.Del(name)
	}
	for name, values := range p.header {
		h[name] = values
	}
	if p.status == http.StatusUnauthorized && r.challenge != nil && h.Get("WWW-Authenticate") == "" {
		var ae *webid.AuthError
		if errors.As(err, &ae) {
			h.Set("WWW-Authenticate", r.challenge(err))
		} else {
			h.Set("WWW-Authenticate", r.challenge(nil))
		}
	}
	text := p.reason
	if p.status >= 500 || text == "" {
		text = http.StatusText(p.status)
	}
	if text == "" {
		text = "error " + strconv.Itoa(p.status)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if req.Method == http.MethodHead {
		// The headers of the GET answer, Content-Length included (RFC 9110
		// §9.3.2).
		h.Set("Content-Length", strconv.Itoa(len(text)+1))
		_ = c.NoContent(p.status)
		return
	}
	_ = c.String(p.status, text+"\n")
}
