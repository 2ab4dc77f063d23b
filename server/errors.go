package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/databrowser"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid"
)

// errorResponder is echo's HTTPErrorHandler.
type errorResponder struct {
	logger *slog.Logger
	// challenge is the WWW-Authenticate value of a 401 (Solid-OIDC, RFC
	// 9449 §7.1), given the error; nil sends none.
	challenge func(error) string
	// uma, when set, is the UMA challenge sent first on a 401 from a
	// resource route ("" for none; grants.go).
	uma func(echo.Context) string
	// observer, when set, counts refused credentials (observe.go).
	observer Observer
	// browser, when set, is the data browser, whose page answers a
	// browser's refused or missing resource (browserPage).
	browser *databrowser.Handler
}

// respond answers err. 4xx get a short plain-text reason; 5xx get a
// generic body, and the error is logged with the request id (a panic with
// its stack). When the response has already begun, the status can no
// longer change: the error is logged and the connection is cut with
// http.ErrAbortHandler, so that the client sees a broken response rather
// than a short one that looks whole.
func (r *errorResponder) respond(err error, c echo.Context) {
	p := problem.Classify(err)
	req, res := c.Request(), c.Response()
	if r.observer != nil {
		if reason, ok := authFailureReason(err); ok {
			r.observer.ObserveAuthFailure(reason)
		}
	}

	attrs := []slog.Attr{
		slog.String("request_id", request.ID(c)),
		slog.Int("status", p.Status),
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
	case p.Status >= 500 && !p.Told:
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
	for name, values := range p.Header {
		h[name] = values
	}
	jsonErrors := problem.AnsweredAsJSON(c)
	if p.Status == http.StatusUnauthorized && r.challenge != nil && h.Get("WWW-Authenticate") == "" && !jsonErrors {
		if r.uma != nil {
			if v := r.uma(c); v != "" {
				h.Set("WWW-Authenticate", v)
			}
		}
		var ae *webid.AuthError
		if errors.As(err, &ae) {
			h.Add("WWW-Authenticate", r.challenge(err))
		} else {
			h.Add("WWW-Authenticate", r.challenge(nil))
		}
	}
	text := p.Reason
	if p.Status >= 500 && !p.Told || text == "" {
		text = http.StatusText(p.Status)
	}
	if text == "" {
		text = "error " + strconv.Itoa(p.Status)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if r.browserPage(c, p.Status) {
		_ = r.browser.ServePage(c, p.Status)
		return
	}
	if jsonErrors {
		_ = c.JSON(p.Status, problem.JSON(p, text))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if req.Method == http.MethodHead {
		// The headers of the GET answer, Content-Length included (RFC 9110
		// §9.3.2).
		h.Set("Content-Length", strconv.Itoa(len(text)+1))
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.String(p.Status, text+"\n")
}

// browserPage tells whether a refusal (401, 403) or a 404 of a resource is
// answered with the data browser's page, with that status and the
// refusal's headers: when a browser navigates to a pod's resource and
// prefers HTML. From the page the person logs in (the page then reads
// the resource with the token), and whether the resource exists, and its
// kind, are told no more than the status tells; a browser on a missing
// resource sees the data browser say so.
func (r *errorResponder) browserPage(c echo.Context, status int) bool {
	if r.browser == nil || c.Path() != "/*" {
		return false
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
	default:
		return false
	}
	req := c.Request()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	vary(c.Response().Header(), "Accept")
	return req.URL.Path != "/" && ldp.Prefers(req.Header.Get("Accept"), "text/html")
}
