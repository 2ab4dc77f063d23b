package consent

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
)

// PagePath is the consent page: the access management UI that the
// library's redirectToAccessManagementUi sends a person to, with
// requestVcUrl and redirectUrl, and that sends them back with
// accessGrantUrl (redirectToRequestor).
const PagePath = Prefix + "consent"

// ConsentUIPredicate is where the library looks for the page, in a WebID
// profile or a storage description.
const ConsentUIPredicate = "http://inrupt.com/ns/ess#ConsentManagementUI"

// Session finds the person logged in to their account on a browser
// request: the session token (for the CSRF token) and their WebIDs; ""
// when no one is logged in.
type Session func(r *http.Request) (token string, webIDs []string, err error)

// pageCSP is the Content-Security-Policy of the consent page: no script,
// no frames; the form posts to this origin only, and the answer
// redirects to the app.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access request</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
dt{font-weight:600;margin-top:.8rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.8rem}</style></head>
<body><main>
<h1>Access request</h1>
{{if .Error}}<p role="alert"><strong>{{.Error}}</strong></p>{{end}}
{{if .Done}}<p>{{.Done}}</p>{{else}}
<p><strong>{{.Requestor}}</strong> asks to {{.Modes}} your data:</p>
<dl>
<dt>What</dt>{{range .Resources}}<dd><code>{{.}}</code></dd>{{end}}
<dt>Why</dt>{{range .Purposes}}<dd>{{.}}</dd>{{else}}<dd>No purpose was given.</dd>{{end}}
<dt>Until</dt><dd>{{.Until}}</dd>
<dt>You decide as</dt><dd><code>{{.Owner}}</code></dd>
</dl>
<p>You can revoke access at any time; it then ends at the next request.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="requestVcUrl" value="{{.Request}}">
<input type="hidden" name="redirectUrl" value="{{.Redirect}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>{{end}}
</main></body></html>
`))

type pageData struct {
	Error, Done                     string
	Requestor, Modes, Until, Owner  string
	Resources, Purposes             []string
	Action, Request, Redirect, CSRF string
}

// csrfOf is the page's CSRF token: a digest of the session token, which
// a page of another origin can neither read nor compute.
func csrfOf(session string) string {
	h := sha256.Sum256([]byte("kluis consent page\x00" + session))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (h *Handler) render(c echo.Context, status int, d pageData) error {
	return renderPage(c, status, consentPage, pageCSP, d)
}

// renderPage answers one of the room's pages: t executed with data, under
// csp, never framed, sniffed, cached or sent as a referrer.
func renderPage(c echo.Context, status int, t *template.Template, csp string, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", request.PageReferrerPolicy)
	hdr.Add("Vary", "Cookie")
	return c.HTMLBlob(status, buf.Bytes())
}

// person is who decides: the account's WebID that owns the request's
// data (its isConsentForDataSubject, else one that controls it).
func (h *Handler) person(c echo.Context, reqIRI string) (credential.Agent, *credential.Access, string, error) {
	tok, webIDs, err := h.Session(c.Request())
	if err != nil {
		return credential.Agent{}, nil, "", err
	}
	if tok == "" {
		return credential.Agent{}, nil, "", credential.ErrUnauthenticated
	}
	var last error = credential.ErrNotFound
	for _, w := range webIDs {
		a := credential.Agent{WebID: w}
		_, acc, err := h.Service.Get(c.Request().Context(), a, reqIRI)
		if err == nil && (acc.Owner == w || acc.Owner == "") {
			return a, acc, tok, nil
		}
		if err == nil {
			last = credential.ErrForbidden
		}
	}
	return credential.Agent{}, nil, tok, last
}

// redirectTarget checks redirectUrl: an absolute http(s) URL.
func redirectTarget(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 2048 {
		return nil, false
	}
	return u, true
}

// page shows the request in plain words, with Allow and Deny.
func (h *Handler) page(c echo.Context) error {
	if h.Session == nil {
		return credential.ErrNotFound
	}
	reqIRI, redirect := c.QueryParam("requestVcUrl"), c.QueryParam("redirectUrl")
	if _, ok := redirectTarget(redirect); !ok || reqIRI == "" {
		return &problem.BadRequestError{Reason: "The page needs requestVcUrl and an absolute redirectUrl."}
	}
	a, acc, tok, err := h.person(c, reqIRI)
	if errors.Is(err, credential.ErrUnauthenticated) {
		back := PagePath + "?" + c.QueryString()
		return c.Redirect(http.StatusSeeOther, "/.account/login/?"+url.Values{"return": {back}}.Encode())
	}
	if err != nil {
		return err
	}
	if acc.Kind != credential.Request {
		return &problem.BadRequestError{Reason: "This is not an access request."}
	}
	d := pageData{
		Requestor: acc.Requestor, Modes: modeWords(acc.Modes), Owner: a.WebID,
		Resources: acc.Resources, Until: "no end date",
		Action: PagePath, Request: reqIRI, Redirect: redirect, CSRF: csrfOf(tok),
	}
	for _, p := range acc.Purposes {
		d.Purposes = append(d.Purposes, purposeLabel(p))
	}
	if !acc.Expires.IsZero() {
		d.Until = acc.Expires.UTC().Format("2 January 2006, 15:04 MST")
	}
	return h.render(c, http.StatusOK, d)
}

// decide issues the grant or denial and sends the person back to the app
// with accessGrantUrl.
func (h *Handler) decide(c echo.Context) error {
	if h.Session == nil {
		return credential.ErrNotFound
	}
	if !request.FromOrigin(c.Request(), h.Origin) {
		return problem.ErrCSRF
	}
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 16<<10)
	reqIRI, redirect := r.PostFormValue("requestVcUrl"), r.PostFormValue("redirectUrl")
	back, ok := redirectTarget(redirect)
	if !ok {
		return &problem.BadRequestError{Reason: "The form needs an absolute redirectUrl."}
	}
	a, _, tok, err := h.person(c, reqIRI)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(csrfOf(tok))) != 1 {
		return problem.ErrCSRF
	}
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "deny":
	default:
		return &problem.BadRequestError{Reason: "Choose Allow or Deny."}
	}
	doc, _, err := h.Service.Decide(r.Context(), a, reqIRI, approve)
	if err != nil {
		return err
	}
	q := back.Query()
	q.Set("accessGrantUrl", doc["id"].(string))
	back.RawQuery = q.Encode()
	return c.Redirect(http.StatusSeeOther, back.String())
}

// modeWords says the modes in plain words.
func modeWords(modes []string) string {
	var w []string
	for _, m := range modes {
		switch strings.TrimPrefix(m, nsACL) {
		case "Read":
			w = append(w, "see")
		case "Append":
			w = append(w, "add to")
		case "Write":
			w = append(w, "change and delete")
		}
	}
	switch len(w) {
	case 0:
		return "use"
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// purposeLabel is a DPV purpose's name in words ("ServiceProvision":
// "Service provision"), or the IRI of any other purpose.
func purposeLabel(iri string) string {
	name, ok := strings.CutPrefix(iri, nsDPV)
	if !ok || name == "" {
		return iri
	}
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String() + " (" + iri + ")"
}
