package accounts

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid/account"
)

// This file serves the account API at /.account/, compatible with the
// JSON API of the Community Solid Server 7 (its
// documentation/markdown/usage/account/json-api.md): the same paths, the
// same "controls" discovery object with absolute URLs, the same request
// and response fields, the same css-account cookie and
// "Authorization: CSS-Account-Token <token>" header, and errors as JSON
// {"name", "message", "statusCode", "errorCode", "details"}. A script
// written for CSS's API (create an account, add a password login, create
// a pod, make client credentials) works unchanged against Kluis.
//
// Differences from CSS: an account has one password login at most;
// passwords need MinPasswordLength characters; forgetting and resetting a
// password by e-mail (controls.password.forgot and reset, forgot.go) are
// offered only when the server has SMTP settings; a pod's owners cannot be changed through the API (its resource
// only reads); owners are always advertised on the pod root. The oidc
// controls are the OpenID provider's (server/oidc), not listed here.
//
// # For the OpenID provider
//
// The login page is the provider's way to get a browser logged in:
//
//	GET /.account/login?return=/.oidc/auth?client_id=...
//
// shows the form; a successful POST sets the session cookie
// (sessionCookieName, HttpOnly, SameSite=Lax, Path=/) and redirects (303)
// to the return URL, which must be a path on this server's origin
// (safeReturn refuses anything else and goes to the account page
// instead). loginURL builds such a URL; sessionToken reads the session of
// a request (cookie or CSS-Account-Token header), and
// account.Store.SessionAccount turns it into an account.

// Paths of the account API, below accountRoot.
const (
	accountRoot       = "/.account/"
	sessionCookieName = DefaultSessionCookie
	// csrfCookieName holds the CSRF token of the pages shown before login.
	csrfCookieName = "kluis-csrf"
	// maxAccountJSON bounds a JSON request body of the account API.
	maxAccountJSON = 64 << 10
	// tokenScheme is the Authorization scheme of an account session.
	tokenScheme = "CSS-Account-Token"
)

// DefaultSessionCookie is the name of the account session cookie, as the
// Community Solid Server names it. The OpenID provider (server/oidc)
// reads the same cookie.
const DefaultSessionCookie = "css-account"

// Config is what the account API and pages depend on.
type Config struct {
	// BaseURL is the server's public URL, ending in "/": the origin of
	// the pages, the base of the API's absolute URLs, and the OpenID
	// issuer of the WebIDs of new pods.
	BaseURL *url.URL
	// Accounts is the account store.
	Accounts *account.Store
	// Space is the resource space in which pods are made.
	Space *ldp.Store
	// Pods tells whether pods can be created (server.Config.Pods).
	Pods bool
	// Mail, when Mail.Sender is set, offers password reset by e-mail
	// (forgot.go).
	Mail MailConfig
	// ResetTTL is how long a password reset link is valid; zero means
	// account.DefaultResetTTL.
	ResetTTL time.Duration
	// DataBrowser tells whether a pod's URL opens in the data browser
	// (server/databrowser), which the welcome page says.
	DataBrowser bool
	// AccessPage, when set, is the path of the page on which a person
	// sees and ends who can access a pod (server/consent.AccessPath); the
	// account page links to it, with ?storage=<pod>, for each pod.
	AccessPage string
	// Logger receives the handler's logs; nil discards them.
	Logger *slog.Logger
}

// Handler serves the account API and the account pages.
type Handler struct {
	base     *url.URL
	accounts *account.Store
	pods     *provisioner
	// podsEnabled tells whether pods can be created (Config.Pods).
	podsEnabled bool
	// dataBrowser is Config.DataBrowser.
	dataBrowser bool
	// accessPage is Config.AccessPage.
	accessPage string
	pages      *template.Template
	logger     *slog.Logger
	// mailer sends password reset mails (forgot.go); nil when the server
	// sends no mail.
	mailer *resetMailer
}

// New builds the account API and pages from cfg.
func New(cfg Config) *Handler {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		base: cfg.BaseURL, accounts: cfg.Accounts, podsEnabled: cfg.Pods, dataBrowser: cfg.DataBrowser, accessPage: cfg.AccessPage, pages: pageTemplates(), logger: logger,
		pods: &provisioner{space: cfg.Space, accounts: cfg.Accounts, issuer: issuerOf(cfg.BaseURL), logger: logger},
	}
	if cfg.Mail.Sender != nil {
		ttl := cmp.Or(cfg.ResetTTL, account.DefaultResetTTL)
		h.mailer = newResetMailer(cfg.Mail, cfg.Accounts, cfg.BaseURL, ttl, logger)
	}
	return h
}

// Drain waits until the password reset mails being sent are sent, or ctx
// ends (then it returns ctx's error).
func (h *Handler) Drain(ctx context.Context) error {
	if h.mailer == nil {
		return nil
	}
	return h.mailer.wait(ctx)
}

// loginURL is the login page that sends the browser on to returnTo (a path
// on this origin, such as "/.oidc/auth?...") once logged in.
func loginURL(returnTo string) string {
	return accountRoot + "login/?" + url.Values{"return": {returnTo}}.Encode()
}

// Mount adds the routes of /.account/ to e: static paths, which win over
// the resource routes' wildcard.
func (h *Handler) Mount(e *echo.Echo) {
	api := func(f echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			problem.AnswerAsJSON(c)
			c.Response().Header().Set("Cache-Control", "no-store")
			return f(c)
		}
	}
	e.GET("/.account", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, accountRoot)
	})
	e.GET(accountRoot, h.index)
	e.POST(accountRoot, h.overviewAction)
	// The login page: JSON (the list of login methods) or HTML.
	for _, p := range []string{accountRoot + "login", accountRoot + "login/"} {
		e.GET(p, h.logins)
		e.POST(p, h.pageLogin)
	}
	e.GET(accountRoot+"login/password/", h.passwordLoginView)
	e.POST(accountRoot+"login/password/", api(h.passwordLogin))
	// Password reset by e-mail (forgot.go): JSON or HTML, each handler
	// tells which.
	e.GET(forgotPath, h.forgotView)
	e.POST(forgotPath, h.forgot)
	e.GET(resetPath, h.resetView)
	e.POST(resetPath, h.resetPassword)
	for _, p := range []string{accountRoot + "signup", accountRoot + "signup/", accountRoot + "login/password/register/"} {
		e.GET(p, h.signupPage)
		e.POST(p, h.pageSignup)
	}
	e.GET(accountRoot+"account/", api(h.createView))
	e.POST(accountRoot+"account/", api(h.createAccount))
	a := accountRoot + "account/:id/"
	e.GET(a, h.accountView)
	e.DELETE(a, api(h.deleteAccountAPI))
	e.POST(a+"logout/", api(h.logout))
	e.GET(a+"webid/", api(h.webIDs))
	e.POST(a+"webid/", api(h.linkWebID))
	e.GET(a+"webid/:link/", api(h.webIDLink))
	e.DELETE(a+"webid/:link/", api(h.unlinkWebID))
	e.GET(a+"pod/", api(h.podList))
	e.POST(a+"pod/", api(h.createPod))
	e.GET(a+"pod/:pod/", api(h.pod))
	e.POST(a+"pod/:pod/", api(h.updatePod))
	e.DELETE(a+"pod/:pod/", api(h.deletePodAPI))
	e.GET(a+"client-credentials/", api(h.credentials))
	e.POST(a+"client-credentials/", api(h.createCredential))
	e.GET(a+"client-credentials/:cred/", api(h.credential))
	e.DELETE(a+"client-credentials/:cred/", api(h.deleteCredential))
	e.GET(a+"login/password/", api(h.passwordLogins))
	e.POST(a+"login/password/", api(h.createPasswordLogin))
	e.GET(a+"login/password/:login/", api(h.passwordLoginResource))
	e.POST(a+"login/password/:login/", api(h.changePassword))
	e.DELETE(a+"login/password/:login/", api(h.deletePasswordLogin))
	// Nothing else below /.account/ is a Solid resource.
	e.Any(accountRoot+"*", api(func(echo.Context) error { return echo.ErrNotFound }))
}

// abs is the absolute URL of a path of this server.
func (h *Handler) abs(path string) string {
	return strings.TrimSuffix(h.base.String(), "/") + path
}

// accountPath is the path of an account's resource, or of one below it.
func accountPath(id string, rest ...string) string {
	return accountRoot + "account/" + id + "/" + strings.Join(rest, "")
}

// controls is the "controls" object (CSS json-api.md "Controls"): what
// anyone may use, and with a session, what the account may.
func (h *Handler) controls(acc *account.Account) map[string]any {
	main := map[string]any{"index": h.abs(accountRoot), "logins": h.abs(accountRoot + "login/")}
	acct := map[string]any{"create": h.abs(accountRoot + "account/")}
	password := map[string]any{"login": h.abs(accountRoot + "login/password/")}
	html := map[string]any{
		"main": map[string]any{"login": h.abs(accountRoot + "login/")},
		"password": map[string]any{
			"register": h.abs(accountRoot + "login/password/register/"),
			"login":    h.abs(accountRoot + "login/password/"),
		},
	}
	if h.mailer != nil {
		password["forgot"] = h.abs(forgotPath)
		password["reset"] = h.abs(resetPath)
		html["password"].(map[string]any)["forgot"] = h.abs(forgotPath)
	}
	if acc != nil {
		id := acc.ID
		acct["logout"] = h.abs(accountPath(id, "logout/"))
		acct["webId"] = h.abs(accountPath(id, "webid/"))
		acct["pod"] = h.abs(accountPath(id, "pod/"))
		acct["clientCredentials"] = h.abs(accountPath(id, "client-credentials/"))
		// Kluis's own: DELETE with {"confirm": <e-mail>} (delete.go).
		acct["delete"] = h.abs(accountPath(id))
		password["create"] = h.abs(accountPath(id, "login/password/"))
		html["password"].(map[string]any)["create"] = h.abs(accountPath(id, "login/password/"))
		html["account"] = map[string]any{
			"account":                 h.abs(accountPath(id)),
			"createClientCredentials": h.abs(accountPath(id, "client-credentials/")),
			"createPod":               h.abs(accountPath(id, "pod/")),
			"linkWebId":               h.abs(accountPath(id, "webid/")),
		}
	}
	return map[string]any{"main": main, "account": acct, "password": password, "html": html}
}

// field describes an input field in a view (CSS's parseSchema).
type field struct {
	Required bool              `json:"required"`
	Type     string            `json:"type"`
	Fields   map[string]*field `json:"fields,omitempty"`
}

func fields(kv ...any) map[string]*field {
	m := map[string]*field{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(*field)
	}
	return m
}

func str(required bool) *field          { return &field{Required: required, Type: "string"} }
func boolean() *field                   { return &field{Type: "boolean"} }
func object(f map[string]*field) *field { return &field{Type: "object", Fields: f} }

// sessionToken returns the account session token of a request: from
// "Authorization: CSS-Account-Token <token>", else from the css-account
// cookie; viaCookie tells which.
func sessionToken(r *http.Request) (token string, viaCookie bool) {
	if scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, tokenScheme) {
		return strings.TrimSpace(tok), false
	}
	if ck, err := r.Cookie(sessionCookieName); err == nil {
		return ck.Value, true
	}
	return "", false
}

// session returns the account logged in on the request, or nil.
func (h *Handler) session(c echo.Context) (*account.Account, string, bool, error) {
	tok, viaCookie := sessionToken(c.Request())
	if tok == "" {
		return nil, "", false, nil
	}
	acc, err := h.accounts.SessionAccount(c.Request().Context(), tok)
	if errors.Is(err, account.ErrNoSession) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return &acc, tok, viaCookie, nil
}

// errLoginRequired is a request for an account's resource without a
// session (401, as CSS's AuthorizedRouteHandler answers).
var errLoginRequired = fmt.Errorf("server: account login required: %w", problem.ErrUnauthenticated)

// own returns the account of the session when it is the account named in
// the path: 401 without a session, 403 for another account's resources.
// A request that carries its session in a cookie must come from this
// origin: a cross-site request never carries the SameSite=Lax cookie, and
// this also refuses same-site pages of other origins, and documents
// served sandboxed from a pod (their Origin is "null"), which CORS would
// otherwise let read the answer.
func (h *Handler) own(c echo.Context) (account.Account, string, error) {
	acc, tok, viaCookie, err := h.session(c)
	if err != nil {
		return account.Account{}, "", err
	}
	if acc == nil {
		return account.Account{}, "", errLoginRequired
	}
	if acc.ID != c.Param("id") {
		return account.Account{}, "", fmt.Errorf("server: resource of another account: %w", problem.ErrForbidden)
	}
	if viaCookie && !h.sameOrigin(c.Request()) {
		return account.Account{}, "", fmt.Errorf("server: cross-origin request with the account cookie: %w", problem.ErrForbidden)
	}
	return *acc, tok, nil
}

// sameOrigin reports whether a request comes from a page of this origin
// (see fromOrigin).
func (h *Handler) sameOrigin(r *http.Request) bool {
	return request.FromOrigin(r, h.base.Scheme+"://"+h.base.Host)
}

// readJSON reads a JSON request body into v: at most 64 KiB, typed
// application/json (or +json); an empty body is an empty object.
func readJSON(c echo.Context, v any) error {
	req := c.Request()
	data, err := io.ReadAll(io.LimitReader(req.Body, maxAccountJSON+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return &problem.BodyReadError{Err: err}
	}
	if len(data) > maxAccountJSON {
		return &http.MaxBytesError{Limit: maxAccountJSON}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("server: the account API takes application/json: %w", ldp.ErrUnsupportedMediaType)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return &problem.BadRequestError{Reason: "Invalid JSON: " + jsonProblem(err)}
	}
	if dec.More() {
		return &problem.BadRequestError{Reason: "Invalid JSON: more than one value"}
	}
	return nil
}

// jsonProblem words a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s must be a %s", te.Field, te.Type)
		}
		return "expected an object"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "malformed"
}

// reply writes a JSON answer with status 200, as CSS answers every
// successful request of its API.
func reply(c echo.Context, v any) error {
	return c.JSON(http.StatusOK, v)
}

// setSession sets the session cookie. remember keeps it across browser
// restarts until the session expires; otherwise it lasts the browser
// session.
func (h *Handler) setSession(c echo.Context, s account.Session, remember bool) {
	ck := &http.Cookie{
		Name: sessionCookieName, Value: s.Token, Path: "/", HttpOnly: true,
		Secure: h.base.Scheme == "https", SameSite: http.SameSiteLaxMode,
	}
	if remember {
		ck.Expires = s.Expires
	}
	c.SetCookie(ck)
}

func (h *Handler) clearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: h.base.Scheme == "https", SameSite: http.SameSiteLaxMode,
	})
}

// login starts a session for acc, sets the cookie and answers with its
// token, ending the session the request came with, if any (CSS
// ResolveLoginHandler).
func (h *Handler) login(c echo.Context, acc account.Account, remember bool) error {
	ctx := c.Request().Context()
	s, err := h.accounts.NewSession(ctx, acc.ID)
	if err != nil {
		return err
	}
	if old, _ := sessionToken(c.Request()); old != "" {
		if err := h.accounts.EndSession(ctx, old); err != nil {
			h.logger.Warn("ending the replaced session", "error", err)
		}
	}
	h.setSession(c, s, remember)
	return reply(c, map[string]any{"authorization": s.Token})
}

// index answers GET /.account/: the controls (JSON) or, for a browser, the
// account page or the login page.
func (h *Handler) index(c echo.Context) error {
	acc, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	if wantsHTML(c) {
		if acc == nil {
			return c.Redirect(http.StatusSeeOther, accountRoot+"login/")
		}
		return h.overview(c, *acc, overviewNotice{})
	}
	problem.AnswerAsJSON(c)
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Add("Vary", "Accept, Authorization, Cookie")
	return reply(c, map[string]any{"controls": h.controls(acc)})
}

// logins answers GET /.account/login/: the login methods (JSON) or the
// login page.
func (h *Handler) logins(c echo.Context) error {
	if wantsHTML(c) {
		return h.loginPage(c)
	}
	problem.AnswerAsJSON(c)
	acc, _, _, err := h.session(c)
	if err != nil {
		return err
	}
	return reply(c, map[string]any{
		"logins":   map[string]string{"Email/password combination": h.abs(accountRoot + "login/password/")},
		"controls": h.controls(acc),
	})
}

// passwordLoginView answers GET /.account/login/password/: what a login
// takes, or the login page.
func (h *Handler) passwordLoginView(c echo.Context) error {
	if wantsHTML(c) {
		return h.loginPage(c)
	}
	problem.AnswerAsJSON(c)
	return reply(c, map[string]any{"fields": fields("email", str(true), "password", str(true), "remember", boolean())})
}

// passwordLogin logs in with e-mail and password (controls.password.login).
func (h *Handler) passwordLogin(c echo.Context) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Remember bool   `json:"remember"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Email) == "" || in.Password == "" {
		return &problem.BadRequestError{Reason: "email and password are required"}
	}
	acc, err := h.accounts.Authenticate(c.Request().Context(), in.Email, in.Password, request.ClientAddr(c.Request()))
	if err != nil {
		return err
	}
	return h.login(c, acc, in.Remember)
}

func (h *Handler) createView(c echo.Context) error { return reply(c, map[string]any{}) }

// createAccount makes an account without a login and logs in to it
// (controls.account.create).
func (h *Handler) createAccount(c echo.Context) error {
	var in struct{}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	acc, err := h.accounts.Create(c.Request().Context(), request.ClientAddr(c.Request()))
	if err != nil {
		return err
	}
	return h.login(c, acc, false)
}

// accountView answers GET /.account/account/<id>/: the account page for a
// browser, else the controls with what the account holds.
func (h *Handler) accountView(c echo.Context) error {
	if wantsHTML(c) {
		acc, _, _, err := h.session(c)
		if err != nil {
			return err
		}
		if acc == nil || acc.ID != c.Param("id") {
			return c.Redirect(http.StatusSeeOther, accountRoot+"login/")
		}
		return h.overview(c, *acc, overviewNotice{})
	}
	problem.AnswerAsJSON(c)
	c.Response().Header().Set("Cache-Control", "no-store")
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	return reply(c, map[string]any{"controls": h.controls(&acc)})
}

// logout ends the session of the request (controls.account.logout).
func (h *Handler) logout(c echo.Context) error {
	_, tok, err := h.own(c)
	if err != nil {
		return err
	}
	if err := h.accounts.EndSession(c.Request().Context(), tok); err != nil {
		return err
	}
	h.clearSession(c)
	return reply(c, map[string]any{})
}

// linkID is the resource id of a WebID link: a digest of the WebID.
func linkID(webID string) string {
	sum := sha256.Sum256([]byte(webID))
	return hex.EncodeToString(sum[:16])
}

// webIDs lists the account's WebIDs (controls.account.webId).
func (h *Handler) webIDs(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	links := map[string]string{}
	for _, w := range acc.WebIDs {
		links[w] = h.abs(accountPath(acc.ID, "webid/", linkID(w), "/"))
	}
	return reply(c, map[string]any{"fields": fields("webId", str(true)), "webIdLinks": links})
}

// linkWebID links a WebID, asking for a proof of control of a WebID
// outside the account's pods (controls.account.webId, POST).
func (h *Handler) linkWebID(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	var in struct {
		WebID string `json:"webId"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	webID := strings.TrimSpace(in.WebID)
	if err := h.accounts.LinkWebID(c.Request().Context(), acc.ID, webID); err != nil {
		return err
	}
	return reply(c, map[string]any{
		"resource": h.abs(accountPath(acc.ID, "webid/", linkID(webID), "/")), "webId": webID, "oidcIssuer": issuerOf(h.base),
	})
}

// linkedWebID finds the WebID of a link resource.
func linkedWebID(acc account.Account, id string) (string, error) {
	for _, w := range acc.WebIDs {
		if linkID(w) == id {
			return w, nil
		}
	}
	return "", fmt.Errorf("WebID link: %w", account.ErrNotFound)
}

func (h *Handler) webIDLink(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	w, err := linkedWebID(acc, c.Param("link"))
	if err != nil {
		return err
	}
	return reply(c, map[string]any{"webId": w})
}

func (h *Handler) unlinkWebID(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	w, err := linkedWebID(acc, c.Param("link"))
	if err != nil {
		return err
	}
	if err := h.accounts.UnlinkWebID(c.Request().Context(), acc.ID, w); err != nil {
		return err
	}
	return reply(c, map[string]any{})
}

// podResource is the URL of a pod's resource in the account API.
func (h *Handler) podResource(accountID, podURL string) string {
	name := strings.TrimSuffix(strings.TrimPrefix(podURL, strings.TrimSuffix(h.base.String(), "/")+"/"), "/")
	if p, ok := h.pods.space.PathOf(podURL); ok {
		// The pod's path names it also when it has a host of its own.
		name = strings.Trim(string(p), "/")
	}
	return h.abs(accountPath(accountID, "pod/", name, "/"))
}

// podList lists the account's pods (controls.account.pod).
func (h *Handler) podList(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	pods := map[string]string{}
	for _, p := range acc.Pods {
		pods[p] = h.podResource(acc.ID, p)
	}
	return reply(c, map[string]any{
		"fields": fields("name", str(true), "settings", object(fields("webId", str(false), "name", str(false)))),
		"pods":   pods,
	})
}

// createPod makes a pod (controls.account.pod, POST): {name, settings:
// {webId?, name?}}. Without settings.webId, the pod's own WebID owns it
// and is linked to the account.
func (h *Handler) createPod(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	var in struct {
		Name     *string `json:"name"`
		Settings struct {
			WebID string `json:"webId"`
			Name  string `json:"name"`
		} `json:"settings"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return &problem.BadRequestError{Reason: "name is a required field"}
	}
	if !h.podsEnabled {
		return ldp.ErrPodsDisabled
	}
	pod, err := h.pods.createPod(c.Request().Context(), acc, *in.Name, in.Settings.Name, strings.TrimSpace(in.Settings.WebID))
	if err != nil {
		return err
	}
	out := map[string]any{"pod": pod.URL, "webId": pod.WebID, "podResource": h.podResource(acc.ID, pod.URL)}
	if pod.Linked {
		out["webIdResource"] = h.abs(accountPath(acc.ID, "webid/", linkID(pod.WebID), "/"))
	}
	return reply(c, out)
}

// accountPod finds the pod of a pod resource.
func (h *Handler) accountPod(acc account.Account, name string) (string, error) {
	want := h.pods.space.IRI(ldp.Path("/" + name + "/"))
	if slices.Contains(acc.Pods, want) {
		return want, nil
	}
	return "", fmt.Errorf("pod: %w", account.ErrNotFound)
}

// pod answers a pod's resource: its base URL and owner.
func (h *Handler) pod(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	podURL, err := h.accountPod(acc, c.Param("pod"))
	if err != nil {
		return err
	}
	owners := []map[string]any{}
	if owner, ok, err := h.pods.space.Owner(c.Request().Context(), ldp.Path("/"+c.Param("pod")+"/")); err != nil {
		return err
	} else if ok {
		owners = append(owners, map[string]any{"webId": owner, "visible": true})
	}
	return reply(c, map[string]any{"baseUrl": podURL, "owners": owners})
}

// updatePod would change a pod's owners, which Kluis does not offer.
func (h *Handler) updatePod(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	if _, err := h.accountPod(acc, c.Param("pod")); err != nil {
		return err
	}
	return &problem.BadRequestError{Reason: "Kluis does not change the owners of a pod; edit its ACL resources instead"}
}

// credentials lists client credentials (controls.account.clientCredentials).
func (h *Handler) credentials(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	list, err := h.accounts.Credentials(c.Request().Context(), acc.ID)
	if err != nil {
		return err
	}
	out := map[string]string{}
	for _, cr := range list {
		out[cr.ID] = h.abs(accountPath(acc.ID, "client-credentials/", url.PathEscape(cr.ID), "/"))
	}
	return reply(c, map[string]any{"fields": fields("name", str(false), "webId", str(true)), "clientCredentials": out})
}

// createCredential makes a client credential: {name, webId} -> {id,
// secret, resource}. The secret is told this once.
func (h *Handler) createCredential(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	var in struct {
		Name  string `json:"name"`
		WebID string `json:"webId"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.WebID) == "" {
		return &problem.BadRequestError{Reason: "webId is a required field"}
	}
	info, secret, err := h.accounts.CreateCredential(c.Request().Context(), acc.ID, in.Name, strings.TrimSpace(in.WebID))
	if errors.Is(err, account.ErrNotLinked) {
		return &problem.BadRequestError{Reason: "WebID does not belong to this account."}
	}
	if err != nil {
		return err
	}
	return reply(c, map[string]any{
		"id": info.ID, "secret": secret,
		"resource": h.abs(accountPath(acc.ID, "client-credentials/", url.PathEscape(info.ID), "/")),
	})
}

// accountCredential finds a client credential of the account.
func (h *Handler) accountCredential(c echo.Context, acc account.Account) (account.CredentialInfo, error) {
	list, err := h.accounts.Credentials(c.Request().Context(), acc.ID)
	if err != nil {
		return account.CredentialInfo{}, err
	}
	for _, cr := range list {
		if cr.ID == c.Param("cred") {
			return cr, nil
		}
	}
	return account.CredentialInfo{}, fmt.Errorf("client credential: %w", account.ErrNotFound)
}

func (h *Handler) credential(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	cr, err := h.accountCredential(c, acc)
	if err != nil {
		return err
	}
	return reply(c, map[string]any{"id": cr.ID, "webId": cr.WebID})
}

func (h *Handler) deleteCredential(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	cr, err := h.accountCredential(c, acc)
	if err != nil {
		return err
	}
	if err := h.accounts.DeleteCredential(c.Request().Context(), acc.ID, cr.ID); err != nil {
		return err
	}
	return reply(c, map[string]any{})
}

// loginID is the resource id of the password login of an e-mail address.
func loginID(email string) string {
	sum := sha256.Sum256([]byte("password:" + email))
	return hex.EncodeToString(sum[:16])
}

// passwordLogins lists the account's password login
// (controls.password.create).
func (h *Handler) passwordLogins(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	logins := map[string]string{}
	if acc.HasLogin() {
		logins[acc.Email] = h.abs(accountPath(acc.ID, "login/password/", loginID(acc.Email), "/"))
	}
	return reply(c, map[string]any{"fields": fields("email", str(true), "password", str(true)), "passwordLogins": logins})
}

// createPasswordLogin adds the e-mail and password login
// (controls.password.create, POST).
func (h *Handler) createPasswordLogin(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if err := h.accounts.AddPasswordLogin(c.Request().Context(), acc.ID, in.Email, in.Password); err != nil {
		return err
	}
	email, _ := account.NormaliseEmail(in.Email)
	return reply(c, map[string]any{"resource": h.abs(accountPath(acc.ID, "login/password/", loginID(email), "/"))})
}

// ownLogin checks that the login resource is the account's.
func ownLogin(c echo.Context, acc account.Account) error {
	if !acc.HasLogin() || loginID(acc.Email) != c.Param("login") {
		return fmt.Errorf("password login: %w", account.ErrNotFound)
	}
	return nil
}

func (h *Handler) passwordLoginResource(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	if err := ownLogin(c, acc); err != nil {
		return err
	}
	return reply(c, map[string]any{"email": acc.Email, "fields": fields("oldPassword", str(true), "newPassword", str(true))})
}

// changePassword: {oldPassword, newPassword}.
func (h *Handler) changePassword(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	if err := ownLogin(c, acc); err != nil {
		return err
	}
	var in struct {
		OldPassword string `json:"oldPassword"`
		NewPassword string `json:"newPassword"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if err := h.accounts.ChangePassword(c.Request().Context(), acc.ID, in.OldPassword, in.NewPassword); err != nil {
		return err
	}
	return reply(c, map[string]any{})
}

// deletePasswordLogin refuses: the login is the account's only one.
func (h *Handler) deletePasswordLogin(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	if err := ownLogin(c, acc); err != nil {
		return err
	}
	return account.ErrNoLogin
}

// wantsHTML reports whether a request prefers an HTML page to JSON.
func wantsHTML(c echo.Context) bool {
	return ldp.Prefers(c.Request().Header.Get("Accept"), "text/html")
}
