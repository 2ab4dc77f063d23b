package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
)

// This file is the one place where an error becomes an HTTP response. Every
// handler returns errors (domain sentinels wrapped with context, or the
// small error types below); classify decides status, headers and reason.

// problem is the HTTP form of an error.
type problem struct {
	status int
	// reason is the short plain-text body of a 4xx answer. 5xx answers
	// get a generic body, unless told.
	reason string
	// header holds extra response headers, such as Allow or Content-Range.
	header http.Header
	// told marks a 5xx whose reason is the client's to read and no fault
	// of the server (507, a full pod): it is sent and not logged as an
	// error.
	told bool
	// details are extra fields of a JSON error (the account API's
	// "details"), such as the triple that proves control of a WebID.
	details map[string]string
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
		slow      *slowBodyError
		authErr   *webid.AuthError
		ldpBad    *ldp.BadRequestError
		conflict  *ldp.ConflictError
		ldpMethod *ldp.MethodNotAllowedError
		limited   *account.RateLimitedError
		input     *account.InputError
		proof     *account.ProofRequiredError
		podName   *ldp.PodNameError
		subReq    *notify.RequestError
		quota     *ldp.QuotaError
		denied    *acl.DeniedError
	)
	switch {
	case errors.As(err, &quota):
		// Quotas (ldp/quota.go): RFC 4918 §11.5, 507 Insufficient Storage.
		return problem{status: http.StatusInsufficientStorage, reason: quota.Error(), told: true}
	case errors.As(err, &tooLarge):
		return problem{status: http.StatusRequestEntityTooLarge,
			reason: fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &slow):
		// RFC 9110 §15.5.9: the server "did not receive a complete request
		// message within the time that it was prepared to wait"
		// (middleware.go, guardBody).
		return problem{status: http.StatusRequestTimeout, reason: "the request body came too slowly"}
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

	// Accounts and pods (account.go): the messages are the Community
	// Solid Server's where it has one.
	case errors.As(err, &limited):
		return problem{status: http.StatusTooManyRequests, reason: "Too many attempts; try again later.",
			header: http.Header{"Retry-After": {strconv.Itoa(int(limited.RetryAfter.Round(time.Second).Seconds()))}}}
	case errors.As(err, &input):
		return problem{status: http.StatusBadRequest, reason: sentence(input.Reason)}
	case errors.As(err, &proof):
		return problem{status: http.StatusBadRequest, reason: proof.Error(), details: map[string]string{"quad": proof.Triple}}
	case errors.As(err, &podName):
		return problem{status: http.StatusBadRequest, reason: "Invalid pod name: " + podName.Reason + "."}
	case errors.Is(err, errCSRF):
		return problem{status: http.StatusForbidden, reason: "The form is stale or comes from another site; reload the page and try again."}
	case errors.Is(err, account.ErrBadCredentials):
		return problem{status: http.StatusForbidden, reason: "Invalid email/password combination."}
	case errors.Is(err, account.ErrEmailTaken):
		return problem{status: http.StatusBadRequest, reason: "There already is a login for this e-mail address."}
	case errors.Is(err, account.ErrLoginExists):
		return problem{status: http.StatusBadRequest, reason: "This account already has a password login."}
	case errors.Is(err, account.ErrNoLogin):
		return problem{status: http.StatusBadRequest, reason: "An account needs at least 1 login method."}
	case errors.Is(err, account.ErrAlreadyLinked):
		return problem{status: http.StatusBadRequest, reason: "This WebID is already registered to this account."}
	case errors.Is(err, account.ErrNotLinked):
		return problem{status: http.StatusBadRequest, reason: "WebID does not belong to this account."}
	case errors.Is(err, account.ErrTooMany):
		return problem{status: http.StatusBadRequest, reason: "Limit reached" + detail(errors.Unwrap(err))}
	case errors.Is(err, account.ErrResetInvalid):
		return problem{status: http.StatusBadRequest, reason: "This reset password link is no longer valid."}
	case errors.Is(err, errMailOff):
		return problem{status: http.StatusNotFound, reason: "This server sends no e-mail, so it cannot reset passwords by e-mail. Its administrator can help."}
	case errors.Is(err, account.ErrNotFound):
		return problem{status: http.StatusNotFound, reason: "Not found."}
	case errors.Is(err, ldp.ErrPodExists):
		return problem{status: http.StatusBadRequest, reason: "Pod creation failed: there already is a pod with this name."}
	case errors.Is(err, ldp.ErrPodsDisabled):
		return problem{status: http.StatusBadRequest, reason: "Pod creation failed: this server does not host pods."}

	// Notifications (notifications.go): Solid Notifications Protocol §2.2
	// answers 422 to a request it cannot process.
	case errors.As(err, &subReq):
		return problem{status: http.StatusUnprocessableEntity, reason: subReq.Reason}
	case errors.Is(err, notify.ErrTooManyChannels):
		return problem{status: http.StatusTooManyRequests, reason: "too many notification channels" + detail(errors.Unwrap(err))}
	case errors.Is(err, notify.ErrUnknownChannel):
		return problem{status: http.StatusNotFound, reason: "no such notification channel"}
	case errors.Is(err, notify.ErrChannelInUse):
		return problem{status: http.StatusConflict, reason: "the channel is connected already"}

	case errors.As(err, &denied) && errors.Is(err, ErrUnauthenticated):
		return problem{status: http.StatusUnauthorized, reason: deniedReason(denied, true)}
	case errors.As(err, &denied) && errors.Is(err, ErrForbidden):
		return problem{status: http.StatusForbidden, reason: deniedReason(denied, false)}
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

// deniedReason words a refusal of Web Access Control so that an app can
// act on it: the modes it lacked, where, and whether the Origin (WAC 1.0
// §5.3.2, note "Access Subject and Origin Rejection Reason") or the
// token's app or identity provider (WAC ED §4.4) was the cause. It says
// nothing the requester could not learn from WAC-Allow.
func deniedReason(d *acl.DeniedError, anonymous bool) string {
	need := acl.ModeString(d.Requirement.Modes)
	if d.Requirement.AnyOf {
		need = "one of " + need
	}
	if anonymous {
		return "authentication required: " + need + " access to " + d.Requirement.IRI + " is not open to everyone"
	}
	msg := "forbidden: " + need + " access to " + d.Requirement.IRI + " is needed; you have " + modeList(d.Granted)
	switch {
	case d.Origin:
		msg += "; refused for the request's Origin: no authorization for you lists this app's origin in acl:origin" +
			" (on a server with KLUIS_WAC_ORIGIN=strict, the pod's owner can also list it as an acl:trustedApp in their WebID profile)"
	case d.Conditions:
		msg += "; refused for the app (client_id) or identity provider of your access token: an ACL condition does not admit it"
	}
	return msg
}

// modeList is a mode set in words, "none" when empty.
func modeList(m acl.Mode) string {
	if m == 0 {
		return "none"
	}
	return acl.ModeString(m)
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
	// observer, when set, counts refused credentials (observe.go).
	observer Observer
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
	if r.observer != nil {
		if reason, ok := authFailureReason(err); ok {
			r.observer.ObserveAuthFailure(reason)
		}
	}

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
	case p.status >= 500 && !p.told:
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
	jsonErrors, _ := c.Get(ctxKeyJSONErrors).(bool)
	if p.status == http.StatusUnauthorized && r.challenge != nil && h.Get("WWW-Authenticate") == "" && !jsonErrors {
		var ae *webid.AuthError
		if errors.As(err, &ae) {
			h.Set("WWW-Authenticate", r.challenge(err))
		} else {
			h.Set("WWW-Authenticate", r.challenge(nil))
		}
	}
	text := p.reason
	if p.status >= 500 && !p.told || text == "" {
		text = http.StatusText(p.status)
	}
	if text == "" {
		text = "error " + strconv.Itoa(p.status)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if jsonErrors {
		_ = c.JSON(p.status, jsonError(p, text))
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if req.Method == http.MethodHead {
		// The headers of the GET answer, Content-Length included (RFC 9110
		// §9.3.2).
		h.Set("Content-Length", strconv.Itoa(len(text)+1))
		_ = c.NoContent(p.status)
		return
	}
	_ = c.String(p.status, text+"\n")
}

// jsonError is the body of an error of the account API, as the Community
// Solid Server writes its errors (ErrorToJsonConverter): name, message,
// statusCode, errorCode and details. No stack, unlike CSS.
func jsonError(p problem, message string) map[string]any {
	details := map[string]string{}
	for k, v := range p.details {
		details[k] = v
	}
	return map[string]any{
		"name": cssErrorName(p.status), "message": message, "statusCode": p.status,
		"errorCode": "H" + strconv.Itoa(p.status), "details": details,
	}
}

// cssErrorName is the Community Solid Server's name of the error class of
// a status.
func cssErrorName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequestHttpError"
	case http.StatusUnauthorized:
		return "UnauthorizedHttpError"
	case http.StatusForbidden:
		return "ForbiddenHttpError"
	case http.StatusNotFound:
		return "NotFoundHttpError"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowedHttpError"
	case http.StatusConflict:
		return "ConflictHttpError"
	case http.StatusRequestEntityTooLarge:
		return "PayloadHttpError"
	case http.StatusUnsupportedMediaType:
		return "UnsupportedMediaTypeHttpError"
	case http.StatusTooManyRequests:
		return "TooManyRequestsHttpError"
	}
	if status >= 500 {
		return "InternalServerError"
	}
	return "HttpError"
}

// sentence makes a reason start with a capital and end with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
