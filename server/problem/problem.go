package problem

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
)

// Problem is the HTTP form of an error.
type Problem struct {
	// Status is the HTTP status.
	Status int
	// Reason is the short plain-text body of a 4xx answer. 5xx answers
	// get a generic body, unless Told.
	Reason string
	// Header holds extra response headers, such as Allow or Content-Range.
	Header http.Header
	// Told marks a 5xx whose reason is the client's to read and no fault
	// of the server (507, a full pod): it is sent and not logged as an
	// error.
	Told bool
	// Details are extra fields of a JSON error (the account API's
	// "details"), such as the triple that proves control of a WebID.
	Details map[string]string
}

// Classify maps an error to its response. To teach Kluis a new error, add
// a case: errors.As cases for types that carry data come before the
// errors.Is cases of the sentinels they wrap.
func Classify(err error) Problem {
	var (
		httpErr   *echo.HTTPError
		tooLarge  *http.MaxBytesError
		badReq    *BadRequestError
		method    *MethodNotAllowedError
		rng       *RangeNotSatisfiableError
		body      *BodyReadError
		slow      *SlowBodyError
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
		return Problem{Status: http.StatusInsufficientStorage, Reason: quota.Error(), Told: true}
	case errors.As(err, &tooLarge):
		return Problem{Status: http.StatusRequestEntityTooLarge,
			Reason: fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &slow):
		// RFC 9110 §15.5.9: the server "did not receive a complete request
		// message within the time that it was prepared to wait"
		// (server/middleware.go, guardBody).
		return Problem{Status: http.StatusRequestTimeout, Reason: "the request body came too slowly"}
	case errors.As(err, &body):
		return Problem{Status: http.StatusBadRequest, Reason: "could not read the request body"}
	case errors.As(err, &badReq):
		return Problem{Status: http.StatusBadRequest, Reason: badReq.Reason}
	case errors.As(err, &method):
		return Problem{Status: http.StatusMethodNotAllowed,
			Header: http.Header{"Allow": {strings.Join(method.Allow, ", ")}}}
	case errors.As(err, &ldpBad):
		return Problem{Status: http.StatusBadRequest, Reason: ldpBad.Reason + detail(ldpBad.Err)}
	case errors.As(err, &conflict):
		return Problem{Status: http.StatusConflict, Reason: conflict.Reason}
	case errors.As(err, &ldpMethod):
		return Problem{Status: http.StatusMethodNotAllowed,
			Header: http.Header{"Allow": {strings.Join(ldpMethod.Allow, ", ")}}}

	// Accounts and pods (server/account): the messages are the Community
	// Solid Server's where it has one.
	case errors.As(err, &limited):
		return Problem{Status: http.StatusTooManyRequests, Reason: "Too many attempts; try again later.",
			Header: http.Header{"Retry-After": {strconv.Itoa(int(limited.RetryAfter.Round(time.Second).Seconds()))}}}
	case errors.As(err, &input):
		return Problem{Status: http.StatusBadRequest, Reason: sentence(input.Reason)}
	case errors.As(err, &proof):
		return Problem{Status: http.StatusBadRequest, Reason: proof.Error(), Details: map[string]string{"quad": proof.Triple}}
	case errors.As(err, &podName):
		return Problem{Status: http.StatusBadRequest, Reason: "Invalid pod name: " + podName.Reason + "."}
	case errors.Is(err, ErrCSRF):
		return Problem{Status: http.StatusForbidden, Reason: "The form is stale or comes from another site; reload the page and try again."}
	case errors.Is(err, account.ErrBadCredentials):
		return Problem{Status: http.StatusForbidden, Reason: "Invalid email/password combination."}
	case errors.Is(err, account.ErrEmailTaken):
		return Problem{Status: http.StatusBadRequest, Reason: "There already is a login for this e-mail address."}
	case errors.Is(err, account.ErrLoginExists):
		return Problem{Status: http.StatusBadRequest, Reason: "This account already has a password login."}
	case errors.Is(err, account.ErrNoLogin):
		return Problem{Status: http.StatusBadRequest, Reason: "An account needs at least 1 login method."}
	case errors.Is(err, account.ErrAlreadyLinked):
		return Problem{Status: http.StatusBadRequest, Reason: "This WebID is already registered to this account."}
	case errors.Is(err, account.ErrNotLinked):
		return Problem{Status: http.StatusBadRequest, Reason: "WebID does not belong to this account."}
	case errors.Is(err, account.ErrTooMany):
		return Problem{Status: http.StatusBadRequest, Reason: "Limit reached" + detail(errors.Unwrap(err))}
	case errors.Is(err, account.ErrResetInvalid):
		return Problem{Status: http.StatusBadRequest, Reason: "This reset password link is no longer valid."}
	case errors.Is(err, ErrMailOff):
		return Problem{Status: http.StatusNotFound, Reason: "This server sends no e-mail, so it cannot reset passwords by e-mail. Its administrator can help."}
	case errors.Is(err, account.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Reason: "Not found."}
	case errors.Is(err, ldp.ErrPodExists):
		return Problem{Status: http.StatusBadRequest, Reason: "Pod creation failed: there already is a pod with this name."}
	case errors.Is(err, ldp.ErrPodsDisabled):
		return Problem{Status: http.StatusBadRequest, Reason: "Pod creation failed: this server does not host pods."}

	// Access requests and grants (credential, server/consent).
	case errors.Is(err, credential.ErrTooLarge):
		return Problem{Status: http.StatusRequestEntityTooLarge, Reason: "The credential is too large."}
	case errors.Is(err, credential.ErrInvalid), errors.Is(err, credential.ErrRemoteContext):
		return Problem{Status: http.StatusBadRequest, Reason: err.Error()}
	case errors.Is(err, credential.ErrUnauthenticated):
		return Problem{Status: http.StatusUnauthorized, Reason: "Authentication needed."}
	case errors.Is(err, credential.ErrForbidden), errors.Is(err, credential.ErrProof):
		return Problem{Status: http.StatusForbidden, Reason: err.Error()}
	case errors.Is(err, credential.ErrToken):
		return Problem{Status: http.StatusUnauthorized, Reason: "The access token is invalid or expired."}
	case errors.Is(err, credential.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Reason: "Not found."}
	case errors.Is(err, credential.ErrTooMany):
		return Problem{Status: http.StatusTooManyRequests, Reason: err.Error()}

	// Notifications (server/notifications): Solid Notifications Protocol §2.2
	// answers 422 to a request it cannot process.
	case errors.As(err, &subReq):
		return Problem{Status: http.StatusUnprocessableEntity, Reason: subReq.Reason}
	case errors.Is(err, notify.ErrTooManyChannels):
		return Problem{Status: http.StatusTooManyRequests, Reason: "too many notification channels" + detail(errors.Unwrap(err))}
	case errors.Is(err, notify.ErrUnknownChannel):
		return Problem{Status: http.StatusNotFound, Reason: "no such notification channel"}
	case errors.Is(err, notify.ErrChannelInUse):
		return Problem{Status: http.StatusConflict, Reason: "the channel is connected already"}

	case errors.As(err, &denied) && errors.Is(err, ErrUnauthenticated):
		return Problem{Status: http.StatusUnauthorized, Reason: deniedReason(denied, true)}
	case errors.As(err, &denied) && errors.Is(err, ErrForbidden):
		return Problem{Status: http.StatusForbidden, Reason: deniedReason(denied, false)}
	case errors.As(err, &authErr):
		return Problem{Status: http.StatusUnauthorized, Reason: authErr.Description}
	case errors.Is(err, ErrUnauthenticated):
		return Problem{Status: http.StatusUnauthorized, Reason: "authentication required"}
	case errors.Is(err, ErrForbidden):
		return Problem{Status: http.StatusForbidden, Reason: "forbidden"}
	case errors.Is(err, ldp.ErrUnsupportedMediaType):
		return Problem{Status: http.StatusUnsupportedMediaType, Reason: "unsupported media type"}
	case errors.Is(err, ldp.ErrNotAcceptable):
		return Problem{Status: http.StatusNotAcceptable, Reason: "no acceptable representation; try text/turtle or application/ld+json"}
	case errors.Is(err, ldp.ErrTooLarge):
		return Problem{Status: http.StatusRequestEntityTooLarge, Reason: "RDF document too large"}
	case errors.Is(err, ldp.ErrInvalidPatch):
		return Problem{Status: http.StatusUnprocessableEntity, Reason: "invalid N3 patch" + detail(errors.Unwrap(err))}
	case errors.Is(err, rdfx.ErrPatchConflict):
		return Problem{Status: http.StatusConflict, Reason: "the patch does not apply to the resource as it is"}
	case errors.Is(err, ldp.ErrNotModified):
		return Problem{Status: http.StatusNotModified}
	case errors.As(err, &rng):
		return Problem{Status: http.StatusRequestedRangeNotSatisfiable,
			Header: http.Header{"Content-Range": {"bytes */" + strconv.FormatInt(rng.Size, 10)}}}

	case errors.Is(err, storage.ErrNotFound):
		return Problem{Status: http.StatusNotFound}
	case errors.Is(err, storage.ErrPreconditionFailed):
		return Problem{Status: http.StatusPreconditionFailed}
	case errors.Is(err, storage.ErrInvalidKey):
		return Problem{Status: http.StatusBadRequest, Reason: "invalid resource path"}
	case errors.Is(err, storage.ErrInvalidMetadata):
		return Problem{Status: http.StatusBadRequest, Reason: "invalid metadata"}
	case errors.Is(err, storage.ErrInvalidRange):
		return Problem{Status: http.StatusRequestedRangeNotSatisfiable}
	case errors.Is(err, storage.ErrConflict):
		return Problem{Status: http.StatusConflict}
	case errors.Is(err, storage.ErrUnavailable):
		return Problem{Status: http.StatusServiceUnavailable}

	case errors.As(err, &httpErr):
		// echo's own errors: no route (404), wrong method (405, with the
		// Allow header echo has already set), and the like.
		p := Problem{Status: httpErr.Code}
		if msg, ok := httpErr.Message.(string); ok {
			p.Reason = msg
		}
		return p
	}
	return Problem{Status: http.StatusInternalServerError}
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

// BadRequestError is a request the server cannot act on, with the reason
// to tell the client.
type BadRequestError struct {
	Reason string
}

func (e *BadRequestError) Error() string { return "bad request: " + e.Reason }

// MethodNotAllowedError is a method the target does not support.
type MethodNotAllowedError struct {
	Allow []string
}

func (e *MethodNotAllowedError) Error() string {
	return "method not allowed; allowed: " + strings.Join(e.Allow, ", ")
}

// RangeNotSatisfiableError is a Range that does not overlap the object;
// the Size goes into Content-Range (RFC 9110, section 15.5.17).
type RangeNotSatisfiableError struct {
	Size int64
	Err  error
}

func (e *RangeNotSatisfiableError) Error() string {
	return fmt.Sprintf("range not satisfiable for %d bytes: %v", e.Size, e.Err)
}

func (e *RangeNotSatisfiableError) Unwrap() error { return e.Err }

// BodyReadError is a failure to read the request body: the client's
// fault (a broken upload), not the backend's.
type BodyReadError struct {
	Err error
}

func (e *BodyReadError) Error() string { return "reading request body: " + e.Err.Error() }

func (e *BodyReadError) Unwrap() error { return e.Err }

// SlowBodyError is a request body that came too slowly (the server's
// body guard): 408.
type SlowBodyError struct {
	Timeout time.Duration
	MinRate int64
	Read    int64
}

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("request body too slow: %d bytes, then no %d bytes per second (after %s) or a pause over %s",
		e.Read, e.MinRate, e.Timeout, e.Timeout)
}

// The refusals of access control (server.Permissions) and of the
// audiences' own checks.
var (
	// ErrUnauthenticated is 401: the request needs an agent it did not
	// prove.
	ErrUnauthenticated = errors.New("server: authentication required")
	// ErrForbidden is 403: the agent may not do this.
	ErrForbidden = errors.New("server: forbidden")
	// ErrCSRF refuses a form without the right token, or from another
	// origin.
	ErrCSRF = errors.New("server: the form is stale or comes from another site; reload the page and try again")
	// ErrMailOff answers the password reset routes of a server that sends
	// no mail.
	ErrMailOff = errors.New("server: this server sends no e-mail")
)

// ctxKeyJSONErrors marks a request whose errors are answered as JSON.
const ctxKeyJSONErrors = "kluis.json_errors"

// AnswerAsJSON makes the errors of this request be answered as JSON, the
// way the account API of the Community Solid Server writes them (JSON),
// instead of plain text.
func AnswerAsJSON(c echo.Context) { c.Set(ctxKeyJSONErrors, true) }

// AnsweredAsJSON reports whether AnswerAsJSON was called for c.
func AnsweredAsJSON(c echo.Context) bool {
	v, _ := c.Get(ctxKeyJSONErrors).(bool)
	return v
}

// JSON is the body of an error of the account API, as the Community
// Solid Server writes its errors (ErrorToJsonConverter): name, message,
// statusCode, errorCode and details. No stack, unlike CSS.
func JSON(p Problem, message string) map[string]any {
	details := map[string]string{}
	for k, v := range p.Details {
		details[k] = v
	}
	return map[string]any{
		"name": cssErrorName(p.Status), "message": message, "statusCode": p.Status,
		"errorCode": "H" + strconv.Itoa(p.Status), "details": details,
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
