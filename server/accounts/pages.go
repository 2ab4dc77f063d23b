package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/idp"
)

// The account pages: sign-up, login and the account overview (pods,
// WebIDs, client credentials), server-rendered with html/template, with
// no script and nothing loaded from elsewhere. Every form is a plain
// <form method="post"> with labelled fields and real buttons, usable
// from the keyboard in document order.
//
// CSRF: every POST must carry a token in a hidden field: before login,
// the value of the kluis-csrf cookie (double submit); after login, a
// digest of the session token, which a page of another origin can
// neither read nor compute. Cookies are SameSite=Lax, and a POST whose
// Origin (or Sec-Fetch-Site) names another origin is refused.

// pageCSPAccount is the Content-Security-Policy of the account pages. Like
// the provider's, it leaves form-action out: the login form's answer
// redirects on to the authorization endpoint, and from there to an app.
const pageCSPAccount = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"

// pageData is what every page template reads.
type pageData struct {
	Title string
	// Error is a message for the person, shown first, "" when none.
	Error string
	CSRF  string
	// Status is news for the person, such as "You are logged out."
	Status string
	// Login and sign-up. App is the origin of the app that sent the
	// person here to log in, read from Return ("" when none).
	Email, Return, PodName, Name string
	App                          string
	MinPassword                  int
	PodsEnabled                  bool
	// Password reset by e-mail (forgot.go): whether it is offered, how
	// long a link works, and the token of the link a page came from.
	MailEnabled bool
	ResetTTL    string
	RecordID    string
	// Overview.
	Account     account.Account
	Credentials []account.CredentialInfo
	Notice      overviewNotice
	BaseURL     string
	// PodUsage tells, by pod URL, how much each pod holds and may hold
	// (ldp/quota.go).
	PodUsage map[string]string
	// PodNames gives, by pod URL, the pod's name, for its delete form.
	PodNames map[string]string
	// AccessPage is the path of the access page of a pod ("" none).
	AccessPage string
	// Welcome page: whether someone is logged in, and whether pods open
	// in the data browser.
	LoggedIn, DataBrowser bool
}

// overviewNotice is news shown at the top of the overview.
type overviewNotice struct {
	// Message is a plain sentence.
	Message string
	// NewCredential is set once, right after a client credential was
	// made: its secret is shown this one time.
	NewCredential *account.CredentialInfo
	Secret        string
	// Proof is the triple to add to prove control of a WebID.
	Proof string
	// ProofDocument is where to add it.
	ProofDocument string
}

// pageTemplates are the account pages.
func pageTemplates() *template.Template {
	return template.Must(template.New("layout").Parse(pagesHTML))
}

// renderPage writes a page with the headers every account page has.
func (h *Handler) renderPage(c echo.Context, status int, name string, d pageData) error {
	d.MinPassword = account.MinPasswordLength
	d.App = returnApp(d.Return)
	d.PodsEnabled = h.podsEnabled
	d.BaseURL = h.base.String()
	if h.mailer != nil {
		d.MailEnabled, d.ResetTTL = true, humanDuration(h.mailer.ttl)
	}
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, name, d); err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Security-Policy", pageCSPAccount)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", request.PageReferrerPolicy)
	hdr.Add("Vary", "Accept, Cookie")
	return c.HTMLBlob(status, buf.Bytes())
}

// newCSRF returns a fresh random token.
func newCSRF() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// anonCSRF returns the CSRF token of a page shown before login, setting
// the cookie that holds it when the browser has none.
func (h *Handler) anonCSRF(c echo.Context) string {
	if ck, err := c.Cookie(csrfCookieName); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	tok := newCSRF()
	c.SetCookie(&http.Cookie{
		Name: csrfCookieName, Value: tok, Path: accountRoot, HttpOnly: true,
		Secure: h.base.Scheme == "https", SameSite: http.SameSiteLaxMode,
	})
	return tok
}

// sessionCSRF is the CSRF token of the pages of a session.
func sessionCSRF(sessionToken string) string {
	sum := sha256.Sum256([]byte("kluis-csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkForm parses a form POST and checks its origin and CSRF token
// against want.
func (h *Handler) checkForm(c echo.Context, want string) error {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return problem.ErrCSRF
	}
	req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, maxAccountJSON)
	if err := req.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return &problem.BadRequestError{Reason: "the form does not parse"}
	}
	got := req.PostForm.Get("csrf")
	if !h.sameOrigin(req) || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return problem.ErrCSRF
	}
	return nil
}

// formCSRFError answers a refused form with a page that says so.
func (h *Handler) formError(c echo.Context, page string, d pageData, err error) error {
	status, msg := pageProblem(err)
	if status >= 500 {
		return err
	}
	if errors.Is(err, problem.ErrCSRF) {
		// A refused form may come from another site: show none of its
		// fields, so that site cannot fill in Kluis's page. The return
		// target stays (safeReturn keeps it on this origin).
		d.Email, d.PodName, d.Name = "", "", ""
	}
	d.Error = msg
	return h.renderPage(c, status, page, d)
}

// pageProblem turns an error into the status and sentence of a page.
func pageProblem(err error) (int, string) {
	if errors.Is(err, problem.ErrCSRF) {
		return http.StatusForbidden, "This form is stale or was sent from another site. Reload the page and try again."
	}
	p := problem.Classify(err)
	msg := p.Reason
	if msg == "" {
		msg = http.StatusText(p.Status)
	}
	return p.Status, msg
}

// formReturn is the return target of a submitted form, or of the query
// when the form did not parse, so that every error page keeps sending the
// browser back to the app that started the login.
func (h *Handler) formReturn(c echo.Context) string {
	raw := c.Request().PostForm.Get("return")
	if raw == "" {
		raw = c.QueryParam("return")
	}
	ret, _ := safeReturn(h.base, raw)
	return ret
}

// returnApp is the origin of the app that an authorization request in
// ret (a path on this server) would send the person back to, "" when ret
// is not one. It is the app's claim; the consent page says more.
func returnApp(ret string) string {
	u, err := url.Parse(ret)
	if err != nil || u.Path != "/"+idp.PathAuthorize {
		return ""
	}
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil || r.Host == "" || (r.Scheme != "https" && r.Scheme != "http") {
		return ""
	}
	return r.Scheme + "://" + r.Host
}

// safeReturn checks where to send the browser after logging in: a path on
// this server's origin (absolute URLs of this origin are made relative),
// never a scheme-relative "//host", a backslash trick or another origin.
// ok is false when raw is empty or not safe.
func safeReturn(base *url.URL, raw string) (string, bool) {
	if raw == "" || len(raw) > 4096 || strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	if u.Scheme != "" || u.Host != "" {
		if u.Scheme != base.Scheme || u.Host != base.Host {
			return "", false
		}
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", false
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, true
}

// loginPage shows the login form.
func (h *Handler) loginPage(c echo.Context) error {
	ret, _ := safeReturn(h.base, c.QueryParam("return"))
	d := pageData{Title: "Log in", CSRF: h.anonCSRF(c), Return: ret}
	if c.QueryParam("out") == "1" {
		d.Status = "You are logged out."
	}
	return h.renderPage(c, http.StatusOK, "login", d)
}

// pageLogin handles the login form, then sends the browser to its return
// URL (the OpenID provider's authorization request) or to the account
// page.
func (h *Handler) pageLogin(c echo.Context) error {
	d := pageData{Title: "Log in", CSRF: h.anonCSRF(c)}
	err := h.checkForm(c, d.CSRF)
	f := c.Request().PostForm
	d.Email = f.Get("email")
	d.Return = h.formReturn(c)
	if err != nil {
		return h.formError(c, "login", d, err)
	}
	acc, err := h.accounts.Authenticate(c.Request().Context(), f.Get("email"), f.Get("password"), request.ClientAddr(c.Request()))
	if err != nil {
		return h.formError(c, "login", d, err)
	}
	return h.pageSession(c, acc, f.Get("remember") != "", d.Return)
}

// pageSession starts a session for a page's login and redirects.
func (h *Handler) pageSession(c echo.Context, acc account.Account, remember bool, to string) error {
	ctx := c.Request().Context()
	s, err := h.accounts.NewSession(ctx, acc.ID)
	if err != nil {
		return err
	}
	if old, _ := sessionToken(c.Request()); old != "" {
		_ = h.accounts.EndSession(ctx, old)
	}
	h.setSession(c, s, remember)
	if to == "" {
		to = accountRoot
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// signupPage shows the sign-up form.
func (h *Handler) signupPage(c echo.Context) error {
	if !wantsHTML(c) && c.Path() == accountRoot+"login/password/register/" {
		problem.AnswerAsJSON(c)
		return reply(c, map[string]any{})
	}
	ret, _ := safeReturn(h.base, c.QueryParam("return"))
	return h.renderPage(c, http.StatusOK, "signup", pageData{Title: "Sign up", CSRF: h.anonCSRF(c), Return: ret})
}

// pageSignup handles the sign-up form: an account with a password login,
// and a pod when a name is given.
func (h *Handler) pageSignup(c echo.Context) error {
	d := pageData{Title: "Sign up", CSRF: h.anonCSRF(c)}
	err := h.checkForm(c, d.CSRF)
	f := c.Request().PostForm
	d.Email, d.PodName, d.Name = f.Get("email"), strings.TrimSpace(f.Get("pod")), f.Get("name")
	d.Return = h.formReturn(c)
	if err != nil {
		return h.formError(c, "signup", d, err)
	}
	if f.Get("password") != f.Get("password2") {
		return h.formError(c, "signup", d, &problem.BadRequestError{Reason: "The two passwords differ."})
	}
	if d.PodName != "" {
		if !h.podsEnabled {
			return h.formError(c, "signup", d, ldp.ErrPodsDisabled)
		}
		if err := ldp.CheckPodName(d.PodName); err != nil {
			return h.formError(c, "signup", d, err)
		}
	}
	ctx := c.Request().Context()
	acc, err := h.accounts.Register(ctx, f.Get("email"), f.Get("password"), request.ClientAddr(c.Request()))
	if err != nil {
		return h.formError(c, "signup", d, err)
	}
	if d.PodName != "" {
		if _, err := h.pods.createPod(ctx, acc, d.PodName, d.Name, ""); err != nil {
			// The account exists: log in, and say what went wrong.
			s, serr := h.accounts.NewSession(ctx, acc.ID)
			if serr != nil {
				return serr
			}
			h.setSession(c, s, false)
			_, msg := pageProblem(err)
			acc, _ = h.accounts.Get(ctx, acc.ID)
			return h.renderOverview(c, http.StatusBadRequest, acc, s.Token,
				overviewNotice{Message: "Your account was made, but the pod was not: " + msg})
		}
	}
	return h.pageSession(c, acc, false, d.Return)
}

// overview shows the account page of the request's session.
func (h *Handler) overview(c echo.Context, acc account.Account, n overviewNotice) error {
	tok, _ := sessionToken(c.Request())
	return h.renderOverview(c, http.StatusOK, acc, tok, n)
}

func (h *Handler) renderOverview(c echo.Context, status int, acc account.Account, tok string, n overviewNotice) error {
	creds, err := h.accounts.Credentials(c.Request().Context(), acc.ID)
	if err != nil {
		return err
	}
	d := pageData{Title: "Your account", Account: acc, Credentials: creds, Notice: n, CSRF: sessionCSRF(tok),
		PodUsage: h.podUsage(c.Request().Context(), acc.Pods), PodNames: h.podNames(acc.Pods), AccessPage: h.accessPage}
	return h.renderPage(c, status, "overview", d)
}

// overviewAction handles the forms of the account page, POSTed to
// /.account/ with an action field.
func (h *Handler) overviewAction(c echo.Context) error {
	acc, tok, _, err := h.session(c)
	if err != nil {
		return err
	}
	if acc == nil {
		return c.Redirect(http.StatusSeeOther, accountRoot+"login/")
	}
	fail := func(err error) error {
		status, msg := pageProblem(err)
		if status >= 500 {
			return err
		}
		return h.renderOverview(c, status, *acc, tok, overviewNotice{Message: msg})
	}
	if err := h.checkForm(c, sessionCSRF(tok)); err != nil {
		return fail(err)
	}
	ctx := c.Request().Context()
	f := c.Request().PostForm
	switch f.Get("action") {
	case "logout":
		if err := h.accounts.EndSession(ctx, tok); err != nil {
			return err
		}
		h.clearSession(c)
		return c.Redirect(http.StatusSeeOther, accountRoot+"login/?out=1")
	case "create-pod":
		if !h.podsEnabled {
			return fail(ldp.ErrPodsDisabled)
		}
		if _, err := h.pods.createPod(ctx, *acc, f.Get("pod"), f.Get("name"), ""); err != nil {
			return fail(err)
		}
	case "link-webid":
		err := h.accounts.LinkWebID(ctx, acc.ID, strings.TrimSpace(f.Get("webid")))
		var proof *account.ProofRequiredError
		if errors.As(err, &proof) {
			n := overviewNotice{Proof: proof.Triple, ProofDocument: strings.SplitN(proof.WebID, "#", 2)[0],
				Message: "To link this WebID, prove that it is yours: add the line below to its profile document, then link it again."}
			if proof.Err != nil {
				n.Message += " (Its document could not be checked: " + proof.Err.Error() + ")"
			}
			return h.renderOverview(c, http.StatusBadRequest, *acc, tok, n)
		}
		if err != nil {
			return fail(err)
		}
	case "unlink-webid":
		if err := h.accounts.UnlinkWebID(ctx, acc.ID, f.Get("webid")); err != nil {
			return fail(err)
		}
	case "create-credential":
		info, secret, err := h.accounts.CreateCredential(ctx, acc.ID, f.Get("name"), f.Get("webid"))
		if err != nil {
			return fail(err)
		}
		fresh, err := h.accounts.Get(ctx, acc.ID)
		if err != nil {
			return err
		}
		return h.renderOverview(c, http.StatusOK, fresh, tok, overviewNotice{
			Message: "Client credential made. Copy the secret now: it is not shown again.", NewCredential: &info, Secret: secret,
		})
	case "delete-pod":
		if err := h.pageDeletePod(c, *acc, tok); err != nil {
			return fail(err)
		}
		return nil
	case "delete-account":
		if err := h.pageDeleteAccount(c, *acc); err != nil {
			return fail(err)
		}
		return nil
	case "delete-credential":
		if err := h.accounts.DeleteCredential(ctx, acc.ID, f.Get("id")); err != nil {
			return fail(err)
		}
	default:
		return fail(&problem.BadRequestError{Reason: "unknown action"})
	}
	return c.Redirect(http.StatusSeeOther, accountRoot)
}

// Welcome answers a browser at the server root (the root is no one's
// storage in pod mode): what this server is, sign-up and login, and for
// a person who is logged in, their pods (which open in the data browser)
// and their account.
func (h *Handler) Welcome(c echo.Context) error {
	acc, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	d := pageData{Title: "Kluis", DataBrowser: h.dataBrowser}
	if acc != nil {
		d.LoggedIn, d.Account = true, *acc
	}
	return h.renderPage(c, http.StatusOK, "welcome", d)
}

// pagesHTML holds the templates of the account pages.
const pagesHTML = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – Kluis</title>
<style>
body{font:1rem/1.5 system-ui,sans-serif;max-width:42rem;margin:1rem auto;padding:0 1rem;color:#111;background:#fff}
label{display:block;margin-top:.75rem;font-weight:600}
input[type=email],input[type=password],input[type=text],input[type=url],select{width:100%;padding:.4rem;font:inherit;box-sizing:border-box}
button{margin-top:.75rem;padding:.4rem 1rem;font:inherit}
:focus-visible{outline:3px solid #1a55c8;outline-offset:2px}
.error{border:2px solid #b00020;padding:.5rem 1rem;color:#b00020}
.notice{border:2px solid #1a55c8;padding:.5rem 1rem}
code,pre{background:#f3f3f3;word-break:break-all;white-space:pre-wrap}
.hint{font-weight:400;font-size:.9rem;color:#444}
li form{display:inline}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<div class="error" role="alert" id="form-error"><p>{{.Error}}</p></div>{{end}}
{{if .Status}}<div class="notice" role="status"><p>{{.Status}}</p></div>{{end}}
{{if .App}}<p class="notice">The app at <strong>{{.App}}</strong> sent you here. Once you are logged in, Kluis asks you whether it may act for you.</p>{{end}}
{{end}}

{{define "foot"}}</main></body></html>
{{end}}

{{define "login"}}{{template "head" .}}
<form method="post" action="/.account/login/">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="return" value="{{.Return}}">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" required autofocus{{if .Error}} aria-describedby="form-error"{{end}}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<label><input type="checkbox" name="remember" value="1"> <span class="hint">Stay logged in on this device</span></label>
<button type="submit">Log in</button>
</form>
{{if .MailEnabled}}<p><a href="/.account/login/password/forgot/{{if .Return}}?return={{.Return}}{{end}}">Forgot your password?</a></p>{{end}}
<p>No account yet? <a href="/.account/signup/{{if .Return}}?return={{.Return}}{{end}}">Sign up</a>.</p>
{{template "foot" .}}{{end}}

{{define "forgot"}}{{template "head" .}}
<p>Type the e-mail address you log in with. If an account logs in with it, we mail it a link to choose a new password. The link works for {{.ResetTTL}}, once.</p>
<form method="post" action="/.account/login/password/forgot/">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="return" value="{{.Return}}">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="email" required autofocus{{if .Error}} aria-describedby="form-error"{{end}}>
<button type="submit">Mail me a link</button>
</form>
<p><a href="/.account/login/{{if .Return}}?return={{.Return}}{{end}}">Back to log in</a></p>
{{template "foot" .}}{{end}}

{{define "forgot-sent"}}{{template "head" .}}
<p role="status">If an account logs in with <strong>{{.Email}}</strong>, a mail with a link to choose a new password is on its way. The link works for {{.ResetTTL}}, once.</p>
<p>No mail after a few minutes? Look in your spam folder, check the address, and <a href="/.account/login/password/forgot/{{if .Return}}?return={{.Return}}{{end}}">ask again</a>.</p>
<p><a href="/.account/login/{{if .Return}}?return={{.Return}}{{end}}">Back to log in</a></p>
{{template "foot" .}}{{end}}

{{define "reset"}}{{template "head" .}}
<p>Choose a new password. Setting it logs your account out everywhere.</p>
<form method="post" action="/.account/login/password/reset/">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="recordId" value="{{.RecordID}}">
<label for="password">New password <span class="hint" id="password-hint">(at least {{.MinPassword}} characters)</span></label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="{{.MinPassword}}" required autofocus aria-describedby="password-hint{{if .Error}} form-error{{end}}">
<label for="password2">New password, again</label>
<input type="password" id="password2" name="password2" autocomplete="new-password" minlength="{{.MinPassword}}" required>
<button type="submit">Set the new password</button>
</form>
{{template "foot" .}}{{end}}

{{define "reset-done"}}{{template "head" .}}
<p role="status">Your password was changed, and every session of your account has ended.</p>
<p><a href="/.account/login/">Log in</a> with the new password.</p>
{{template "foot" .}}{{end}}

{{define "signup"}}{{template "head" .}}
<form method="post" action="/.account/signup/">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="return" value="{{.Return}}">
<label for="email">E-mail address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="email" required autofocus{{if .Error}} aria-describedby="form-error"{{end}}>
<label for="password">Password <span class="hint" id="password-hint">(at least {{.MinPassword}} characters)</span></label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="{{.MinPassword}}" required aria-describedby="password-hint">
<label for="password2">Password, again</label>
<input type="password" id="password2" name="password2" autocomplete="new-password" minlength="{{.MinPassword}}" required>
{{if .PodsEnabled}}
<label for="pod">Name of your pod <span class="hint" id="pod-hint">(optional: lower-case letters, digits and hyphens; your pod will be at {{.BaseURL}}<em>name</em>/)</span></label>
<input type="text" id="pod" name="pod" value="{{.PodName}}" pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?" autocomplete="off" aria-describedby="pod-hint">
<label for="name">Your name <span class="hint">(optional, shown in your public profile)</span></label>
<input type="text" id="name" name="name" value="{{.Name}}" autocomplete="name">
{{end}}
<button type="submit">Sign up</button>
</form>
<p>Have an account? <a href="/.account/login/{{if .Return}}?return={{.Return}}{{end}}">Log in</a>.</p>
{{template "foot" .}}{{end}}

{{define "welcome"}}{{template "head" .}}
<p>This is a Solid pod server. Your pod is a place on the web for your own data: documents, photos, contacts, whatever your apps keep. You decide which people, apps and organisations may read or change what, and you can take it back.</p>
{{if .LoggedIn}}<p>Logged in as {{.Account.Email}}.</p>
<h2>Your pods</h2>
{{if .Account.Pods}}{{if .DataBrowser}}<p class="hint">A pod opens in the data browser, where you can look at everything in it, add folders and notes, edit documents and share them.</p>{{end}}
<ul>{{range .Account.Pods}}<li><a href="{{.}}">{{.}}</a></li>{{end}}</ul>
{{else}}<p>You have no pod yet: make one on <a href="/.account/">your account page</a>.</p>{{end}}
<p><a href="/.account/">Your account</a>: pods, WebIDs, passwords and client credentials.</p>
{{else}}<p><a href="/.account/signup/">Sign up</a> for a pod, or <a href="/.account/login/">log in</a> to your account.</p>
{{if .DataBrowser}}<p class="hint">Have a pod here already? Open its address in your browser to see it in the data browser, and log in from there.</p>{{end}}{{end}}
<h2>Apps and scripts</h2>
<p>Any Solid app works with pods here, from any web address, and so do scripts that speak the Solid Protocol. Log in to them with this server's address, <code>{{.BaseURL}}</code>.</p>
{{template "foot" .}}{{end}}

{{define "overview"}}{{template "head" .}}
{{with .Notice}}{{if or .Message .NewCredential}}<div class="notice" role="status">
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{with .NewCredential}}<dl><dt>Id</dt><dd><code>{{.ID}}</code></dd><dt>Secret</dt><dd><code>{{$.Notice.Secret}}</code></dd><dt>WebID</dt><dd><code>{{.WebID}}</code></dd></dl>{{end}}
{{if .Proof}}<p>Add to <a href="{{.ProofDocument}}">{{.ProofDocument}}</a>:</p><pre>{{.Proof}}</pre>{{end}}
</div>{{end}}{{end}}
<p>Logged in as {{.Account.Email}}.</p>
<form method="post" action="/.account/"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="action" value="logout"><button type="submit">Log out</button></form>

<h2>Pods</h2>
{{if .Account.Pods}}<ul>{{range .Account.Pods}}<li><a href="{{.}}">{{.}}</a>{{with index $.PodUsage .}} ({{.}}){{end}}
{{if $.AccessPage}}— <a href="{{$.AccessPage}}?storage={{.}}" data-testid="access-page">who can access it</a>{{end}}
{{with index $.PodNames .}}<details><summary>Delete this pod</summary>
<form method="post" action="/.account/"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="delete-pod"><input type="hidden" name="pod" value="{{.}}">
<label for="confirm-pod-{{.}}">This deletes everything in the pod, for good. Type <strong>{{.}}</strong> to confirm</label>
<input type="text" id="confirm-pod-{{.}}" name="confirm" required autocomplete="off">
<button type="submit">Delete the pod {{.}}</button></form></details>{{end}}</li>{{end}}</ul>{{else}}<p>You have no pod yet.</p>{{end}}
{{if .PodsEnabled}}
<form method="post" action="/.account/">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="action" value="create-pod">
<label for="pod">Name of a new pod <span class="hint" id="pod-hint">(lower-case letters, digits and hyphens)</span></label>
<input type="text" id="pod" name="pod" required pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?" autocomplete="off" aria-describedby="pod-hint">
<label for="pod-name">Your name <span class="hint">(optional, shown in the pod's public profile)</span></label>
<input type="text" id="pod-name" name="name" autocomplete="name">
<button type="submit">Create pod</button>
</form>
{{end}}

<h2>WebIDs</h2>
<p class="hint">Apps can log you in as any of these.</p>
{{if .Account.WebIDs}}<ul>{{range .Account.WebIDs}}<li><a href="{{.}}">{{.}}</a>
<form method="post" action="/.account/"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="unlink-webid"><input type="hidden" name="webid" value="{{.}}"><button type="submit" aria-label="Unlink {{.}}">Unlink</button></form></li>{{end}}</ul>{{else}}<p>No WebID is linked yet.</p>{{end}}
<form method="post" action="/.account/">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="action" value="link-webid">
<label for="webid">Link a WebID you have elsewhere</label>
<input type="url" id="webid" name="webid" required placeholder="https://example.org/profile/card#me">
<button type="submit">Link WebID</button>
</form>

<h2>Client credentials</h2>
<p class="hint">Scripts log in with an id and a secret, as one of your WebIDs.</p>
{{if .Credentials}}<ul>{{range .Credentials}}<li><code>{{.ID}}</code> as {{.WebID}}
<form method="post" action="/.account/"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="delete-credential"><input type="hidden" name="id" value="{{.ID}}"><button type="submit" aria-label="Delete {{.ID}}">Delete</button></form></li>{{end}}</ul>{{else}}<p>You have no client credentials.</p>{{end}}
{{if .Account.WebIDs}}
<form method="post" action="/.account/">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="action" value="create-credential">
<label for="cred-name">Name</label>
<input type="text" id="cred-name" name="name" autocomplete="off">
<label for="cred-webid">WebID</label>
<select id="cred-webid" name="webid" required>{{range .Account.WebIDs}}<option value="{{.}}">{{.}}</option>{{end}}</select>
<button type="submit">Create client credential</button>
</form>
{{end}}

<h2>Delete my account</h2>
<form method="post" action="/.account/">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="action" value="delete-account">
<label for="confirm-account">This deletes your account, your pods with everything in them, your WebID links and client credentials, for good. Type your e-mail address{{if not .Account.Email}} (you have none: type your account id, <code>{{.Account.ID}}</code>){{end}} to confirm</label>
<input type="text" id="confirm-account" name="confirm" required autocomplete="off">
<button type="submit">Delete my account</button>
</form>
{{template "foot" .}}{{end}}

{{define "deleted"}}{{template "head" .}}
<p role="status">Your account, its pods and everything in them were deleted.</p>
<p><a href="/.account/signup/">Sign up</a> again, or <a href="/">go to the start page</a>.</p>
{{template "foot" .}}{{end}}
`

// podUsage describes the usage of each pod of an account, by URL, for the
// overview: "12.5 KiB used of 10.0 GiB". It is best effort: a pod whose
// usage cannot be read is left out.
func (h *Handler) podUsage(ctx context.Context, pods []string) map[string]string {
	if h.pods == nil {
		return nil
	}
	out := map[string]string{}
	for _, u := range pods {
		p, ok := h.pods.space.PathOf(u)
		if !ok {
			continue
		}
		usage, err := h.pods.space.PodUsage(ctx, strings.Trim(string(p), "/"))
		if err != nil {
			continue
		}
		text := humanBytes(usage.Bytes) + " used"
		if usage.Quota > 0 {
			text += " of " + humanBytes(usage.Quota)
		}
		out[u] = text
	}
	return out
}

// podNames gives the name of each pod of an account, by URL.
func (h *Handler) podNames(pods []string) map[string]string {
	out := map[string]string{}
	if h.pods == nil {
		return out
	}
	for _, u := range pods {
		if p, ok := h.pods.space.PathOf(u); ok {
			out[u] = strings.Trim(string(p), "/")
		}
	}
	return out
}

// humanBytes writes n in the largest binary unit not above it.
func humanBytes(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
