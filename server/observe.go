package server

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
)

// Observer is told what the server does, for metrics (server/metrics
// implements it). Its methods are called concurrently on every request
// and must return quickly. The label values it receives come from small
// fixed sets, so that the number of series stays bounded.
type Observer interface {
	// ObserveRequest is called once per request, when its answer is
	// complete: the method (a standard method or "OTHER"), the route class
	// (one of the Route constants), the status and the time taken.
	ObserveRequest(method, route string, status int, elapsed time.Duration)
	// ObserveAuthFailure is called when credentials are refused, with one
	// of the AuthFailure constants.
	ObserveAuthFailure(reason string)
}

// Tracer traces requests (server/tracing implements it with
// OpenTelemetry). When Config.Tracer is nil nothing of it runs.
type Tracer interface {
	// Handler wraps the whole server so that each request has a span in
	// its context. trusted tells whether a request comes from a trusted
	// proxy (Config.TrustedProxies, by the TCP peer): only such a
	// request's incoming trace context may be continued. skip names the
	// requests that are not traced: the liveness and readiness probes.
	Handler(next http.Handler, trusted, skip func(*http.Request) bool) http.Handler
	// Annotate names the request's span after its method (as
	// ObserveRequest gets it) and route class and gives it the request id.
	// It returns the trace id for the request log, "" when the request is
	// not traced.
	Annotate(ctx context.Context, method, route, requestID string) string
	// Span starts a span for one step of a request (authentication,
	// authorization) under the request's span; end ends it with the
	// step's error. Outside a traced request it is free and returns ctx.
	Span(ctx context.Context, name string) (_ context.Context, end func(error))
}

// ctxKeyTraceID is the echo.Context key of the request's trace id.
const ctxKeyTraceID = "kluis.trace_id"

// traceRequest annotates the request's span once the request id is known
// and the path is final (after podHosts), and keeps the trace id for the
// request log. It runs inside Tracer.Handler, which ends the span with
// the final status.
func traceRequest(t Tracer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if id := t.Annotate(req.Context(), methodLabel(req.Method), routeClass(req.URL.Path), request.ID(c)); id != "" {
				c.Set(ctxKeyTraceID, id)
			}
			return next(c)
		}
	}
}

// trustedPeer tells whether a request's TCP peer is one of the trusted
// proxies; it reads RemoteAddr, so it must run before proxies.middleware
// replaces it with the client's address.
func trustedPeer(trusted []netip.Prefix) func(*http.Request) bool {
	p := proxies{trusted: trusted}
	return func(r *http.Request) bool {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		return err == nil && p.trusts(peer.Addr())
	}
}

// isProbe tells whether a request asks a health probe, which is not
// traced: orchestrators ask every few seconds.
func isProbe(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, probePrefix) }

// The route classes of ObserveRequest, computed from the path alone.
const (
	RouteResource  = "resource"   // a non-container resource
	RouteContainer = "container"  // a container (the path ends in "/")
	RouteACL       = "acl"        // an .acl auxiliary resource
	RouteMeta      = "meta"       // a .meta auxiliary resource
	RouteAccount   = "account"    // the account API and pages, /.account/
	RouteOIDC      = "oidc"       // the OpenID provider, /.oidc/ and its discovery document
	RouteWellKnown = "well-known" // other /.well-known/ resources
	RouteHealth    = "health"     // the liveness and readiness probes
)

// routeClass is the route class of a request path.
func routeClass(path string) string {
	switch {
	case strings.HasPrefix(path, probePrefix):
		return RouteHealth
	case path == "/.account" || strings.HasPrefix(path, "/.account/"):
		return RouteAccount
	case path == "/.oidc" || strings.HasPrefix(path, "/.oidc/") || path == "/.well-known/openid-configuration":
		return RouteOIDC
	case strings.HasPrefix(path, "/.well-known/"):
		return RouteWellKnown
	case strings.HasSuffix(path, "/"):
		return RouteContainer
	case strings.HasSuffix(path, ".acl"):
		return RouteACL
	case strings.HasSuffix(path, ".meta"):
		return RouteMeta
	}
	return RouteResource
}

// methodLabel is the method, or "OTHER" for one outside the standard set
// (any token is a valid method; the label must stay bounded).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// The reasons of ObserveAuthFailure: one per webid sentinel, "password" for
// a wrong account password, and "other".
const (
	AuthFailureMalformed       = "malformed"
	AuthFailureBearer          = "bearer"
	AuthFailureProof           = "proof"
	AuthFailureProofTime       = "proof_time"
	AuthFailureReplay          = "replay"
	AuthFailureToken           = "token"
	AuthFailureExpired         = "expired"
	AuthFailureAudience        = "audience"
	AuthFailureBinding         = "binding"
	AuthFailureUntrustedIssuer = "untrusted_issuer"
	AuthFailureUnavailable     = "unavailable"
	AuthFailurePassword        = "password"
	AuthFailureOther           = "other"
)

// authFailureReason tells whether err refuses credentials, and why. A
// request without credentials is no failure.
func authFailureReason(err error) (string, bool) {
	var ae *webid.AuthError
	if errors.As(err, &ae) {
		for _, r := range []struct {
			err    error
			reason string
		}{
			{webid.ErrMalformed, AuthFailureMalformed},
			{webid.ErrBearer, AuthFailureBearer},
			{webid.ErrReplay, AuthFailureReplay},
			{webid.ErrProofTime, AuthFailureProofTime},
			{webid.ErrProof, AuthFailureProof},
			{webid.ErrExpired, AuthFailureExpired},
			{webid.ErrAudience, AuthFailureAudience},
			{webid.ErrBinding, AuthFailureBinding},
			{webid.ErrUntrustedIssuer, AuthFailureUntrustedIssuer},
			{webid.ErrUnavailable, AuthFailureUnavailable},
			{webid.ErrToken, AuthFailureToken},
		} {
			if errors.Is(err, r.err) {
				return r.reason, true
			}
		}
		return AuthFailureOther, true
	}
	if errors.Is(err, account.ErrBadCredentials) {
		return AuthFailurePassword, true
	}
	return "", false
}

// observeRequests tells o of every request once its answer is complete.
// It runs outside requestLog, which answers the handlers' errors, so the
// status it reports is final; a response cut off by a panic is reported
// too.
func observeRequests(o Observer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			defer func() {
				o.ObserveRequest(methodLabel(req.Method), routeClass(req.URL.Path), c.Response().Status, time.Since(start))
			}()
			return next(c)
		}
	}
}
