package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/idp"
)

// pageCSP is the Content-Security-Policy of the provider's HTML pages:
// nothing loads but an https logo and the inline style, and no one frames
// them (clickjacking of the Allow button). form-action is left out: the
// consent form redirects to the app, which form-action would block.
const pageCSP = "default-src 'none'; img-src https:; style-src 'unsafe-inline'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// Config configures the built-in OpenID provider (package webid/idp):
// server.Config.IdP. It is served when Accounts is set; its issuer is the
// server's base URL.
type Config struct {
	// Accounts are the accounts people log in with (Accounts adapts
	// webid/account).
	Accounts idp.Accounts
	// FetchClient dereferences Client Identifier Documents; nil means
	// through the server's safe fetcher.
	FetchClient idp.FetchFunc
	// SessionCookie is the name of the account session cookie (server.New
	// fills in accounts.DefaultSessionCookie when empty); LoginPath the
	// login page (default idp.DefaultLoginPath).
	SessionCookie string
	LoginPath     string
	// KeyRotation and the lifetimes; zero means the idp defaults.
	KeyRotation          time.Duration
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	CodeLifetime         time.Duration
	// SecretKey and PreviousSecretKey seal the provider's secrets in
	// storage (idp.Config.SecretKey); nil stores them in the clear.
	SecretKey, PreviousSecretKey []byte
	// Clients bound anonymous client registration per client address and
	// in all, and how long registered clients are kept
	// (idp.ClientLimits; zero fields: its defaults).
	Clients idp.ClientLimits
	// Now is the provider's clock (default time.Now).
	Now func() time.Time
}

// Handler serves the OpenID provider's endpoints: thin handlers that
// hand plain values to idp.Provider and write what it answers. OAuth
// errors are answered here, as JSON (RFC 6749 §5.2), not by the server's
// error responder, whose bodies are text; errors of storage go on to it
// (500).
type Handler struct {
	op     *idp.Provider
	cookie string
	origin string // scheme://host of the issuer, for the forms' origin check
	secure bool   // the cookie is cleared with Secure on https
	logger *slog.Logger
}

// New builds the provider of cfg, whose issuer is base, over store; it
// fetches Client Identifier Documents through fetcher unless
// cfg.FetchClient is set. A nil logger discards logs.
func New(cfg Config, base *url.URL, store storage.Backend, fetcher *fetch.Client, logger *slog.Logger) (*Handler, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionCookie == "" {
		return nil, errors.New("oidc: no session cookie name")
	}
	fetchDoc := cfg.FetchClient
	if fetchDoc == nil && fetcher != nil {
		fetchDoc = fetchClientDocument(fetcher)
	}
	op, err := idp.New(idp.Config{
		Issuer: base.String(), Store: store, Accounts: cfg.Accounts, FetchClient: fetchDoc,
		LoginPath: cfg.LoginPath, KeyRotation: cfg.KeyRotation,
		AccessTokenLifetime: cfg.AccessTokenLifetime, IDTokenLifetime: cfg.IDTokenLifetime,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, CodeLifetime: cfg.CodeLifetime,
		SecretKey: cfg.SecretKey, PreviousSecretKey: cfg.PreviousSecretKey,
		Clients: cfg.Clients, Now: cfg.Now, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &Handler{op: op, cookie: cfg.SessionCookie, origin: base.Scheme + "://" + base.Host,
		secure: base.Scheme == "https", logger: logger}, nil
}

// Provider is the OpenID provider the routes serve, for what the server
// does with it besides requests: checking its secret key at start, its
// service agent, and housekeeping.
func (h *Handler) Provider() *idp.Provider { return h.op }

// Mount adds the provider's routes to e: static paths under /.oidc/ and
// /.well-known/, which win over the resource routes' wildcard.
func (h *Handler) Mount(e *echo.Echo) {
	get, post := http.MethodGet, http.MethodPost
	paths := map[string]map[string]echo.HandlerFunc{
		idp.PathDiscovery:    {get: h.discovery},
		idp.PathJWKS:         {get: h.jwks},
		idp.PathAuthorize:    {get: h.authorize, post: h.consent},
		idp.PathToken:        {post: h.token},
		idp.PathRegistration: {post: h.registerClient},
		idp.PathRevocation:   {post: h.revoke},
		idp.PathEndSession:   {get: h.endSession, post: h.endSession},
	}
	// Every method is routed here, so that no request reaches the resource
	// routes' wildcard with these paths: no pod resource can be written or
	// read under them.
	for path, byMethod := range paths {
		if g, ok := byMethod[get]; ok {
			byMethod[http.MethodHead] = g
		}
		var allow []string
		for m := range byMethod {
			allow = append(allow, m)
		}
		allow = append(allow, http.MethodOptions)
		slices.Sort(allow)
		for _, m := range []string{get, http.MethodHead, post, http.MethodPut, http.MethodPatch,
			http.MethodDelete, http.MethodOptions} {
			hf, ok := byMethod[m]
			switch {
			case ok:
			case m == http.MethodOptions:
				hf = func(c echo.Context) error {
					c.Response().Header().Set("Allow", strings.Join(allow, ", "))
					return c.NoContent(http.StatusNoContent)
				}
			default:
				hf = func(echo.Context) error { return &problem.MethodNotAllowedError{Allow: allow} }
			}
			e.Add(m, "/"+path, hf)
		}
	}
}

func (h *Handler) discovery(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, h.op.Metadata())
}

func (h *Handler) jwks(c echo.Context) error {
	set, err := h.op.Keys(c.Request().Context())
	if err != nil {
		return err
	}
	// Short: verifiers also refetch on an unknown kid, and the next key is
	// published ahead of its use.
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, set)
}

// session is the account session cookie's value, "" when none.
func (h *Handler) session(c echo.Context) string {
	ck, err := c.Cookie(h.cookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

func (h *Handler) authorize(c echo.Context) error {
	res, err := h.op.Authorize(c.Request().Context(), c.QueryParams(), h.session(c))
	if err != nil {
		return err
	}
	return h.answer(c, res)
}

func (h *Handler) consent(c echo.Context) error {
	form, err := h.browserForm(c)
	if err != nil {
		return err
	}
	res, err := h.op.Consent(c.Request().Context(), form, h.session(c))
	if err != nil {
		return err
	}
	return h.answer(c, res)
}

func (h *Handler) endSession(c echo.Context) error {
	params := c.QueryParams()
	post := c.Request().Method == http.MethodPost
	if post {
		form, err := h.browserForm(c)
		if err != nil {
			return err
		}
		params = form
	}
	res, err := h.op.EndSession(c.Request().Context(), params, h.session(c), post)
	if err != nil {
		return err
	}
	return h.answer(c, res)
}

// answer writes a browser step: a redirect (303 after a POST, so the
// user agent follows with GET), or an HTML page that loads nothing from
// elsewhere and may not be framed.
func (h *Handler) answer(c echo.Context, res *idp.Response) error {
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", request.PageReferrerPolicy)
	if res.EndSession {
		c.SetCookie(&http.Cookie{Name: h.cookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	if res.Redirect != "" {
		status := http.StatusFound
		if c.Request().Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		return c.Redirect(status, res.Redirect)
	}
	hdr.Set("Content-Security-Policy", pageCSP)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	return c.HTMLBlob(res.Status, res.Page)
}

func (h *Handler) token(c echo.Context) error {
	r, err := tokenRequest(c)
	if err != nil {
		return h.oauthError(c, err)
	}
	res, err := h.op.Token(c.Request().Context(), r)
	if err != nil {
		return h.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, res)
}

func (h *Handler) revoke(c echo.Context) error {
	r, err := tokenRequest(c)
	if err != nil {
		return h.oauthError(c, err)
	}
	if err := h.op.Revoke(c.Request().Context(), r); err != nil {
		return h.oauthError(c, err)
	}
	noStore(c)
	return c.NoContent(http.StatusOK)
}

func (h *Handler) registerClient(c echo.Context) error {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/json" {
		return h.oauthError(c, &idp.Error{Code: idp.CodeInvalidClientMetadata, Description: "the body must be application/json"})
	}
	limit := h.op.RegistrationLimit()
	body, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		return &problem.BodyReadError{Err: err}
	}
	if len(body) > limit {
		return &http.MaxBytesError{Limit: int64(limit)}
	}
	// Registration is anonymous: it is bounded per client address.
	res, err := h.op.Register(req.Context(), body, request.ClientAddr(req))
	if err != nil {
		return h.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(http.StatusCreated, res)
}

// tokenRequest reads a token or revocation request: a form body (RFC 6749
// §3.2), HTTP Basic credentials and the DPoP header.
func tokenRequest(c echo.Context) (idp.TokenRequest, error) {
	form, err := postForm(c)
	if err != nil {
		return idp.TokenRequest{}, err
	}
	req := c.Request()
	r := idp.TokenRequest{Form: form, DPoP: req.Header.Values("DPoP")}
	r.BasicUser, r.BasicPassword, r.HasBasic = req.BasicAuth()
	return r, nil
}

// browserForm is postForm for the pages' forms, whose errors are text.
// The form must come from a page of the provider (fromOrigin): the CSRF
// token in it is bound to the session, and this refuses a cross-site form
// before the token is even looked at.
func (h *Handler) browserForm(c echo.Context) (url.Values, error) {
	if !request.FromOrigin(c.Request(), h.origin) {
		return nil, problem.ErrCSRF
	}
	form, err := postForm(c)
	if oe, ok := errors.AsType[*idp.Error](err); ok {
		return nil, &problem.BadRequestError{Reason: oe.Description}
	}
	return form, err
}

// postForm parses an application/x-www-form-urlencoded body, the only
// form the provider's POST endpoints take.
func postForm(c echo.Context) (url.Values, error) {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, &idp.Error{Code: idp.CodeInvalidRequest, Description: "the body must be application/x-www-form-urlencoded"}
	}
	if err := req.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, tooLarge
		}
		return nil, &idp.Error{Code: idp.CodeInvalidRequest, Description: "the form body does not parse"}
	}
	return req.PostForm, nil
}

func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
}

// oauthError answers an *idp.Error as RFC 6749 §5.2 says: JSON with error
// and error_description, 400 or 401 (with a Basic challenge when the
// client tried Basic). Any other error goes on to server/problem.
func (h *Handler) oauthError(c echo.Context, err error) error {
	oe, ok := errors.AsType[*idp.Error](err)
	if !ok {
		return err
	}
	status := oe.Status()
	if oe.Err != nil {
		// The cause (say, why a Client Identifier Document did not
		// load) is for the operator; the client gets the description.
		h.logger.LogAttrs(c.Request().Context(), slog.LevelDebug, "oauth error",
			slog.String("request_id", request.ID(c)), slog.String("error", oe.Error()))
	}
	noStore(c)
	if oe.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(oe.RetryAfter.Round(time.Second), time.Second)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		if _, _, basic := c.Request().BasicAuth(); basic {
			c.Response().Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
	}
	body := map[string]string{"error": oe.Code}
	if oe.Description != "" {
		body["error_description"] = oe.Description
	}
	b, _ := json.Marshal(body)
	return c.JSONBlob(status, b)
}

// fetchClientDocument fetches Client Identifier Documents through the safe
// fetcher (Solid-OIDC §5.1: served as application/ld+json).
func fetchClientDocument(f *fetch.Client) idp.FetchFunc {
	return func(ctx context.Context, u string) ([]byte, string, error) {
		res, err := f.Get(ctx, u, "application/ld+json, application/json;q=0.9")
		if err != nil {
			return nil, "", err
		}
		if res.StatusCode != http.StatusOK {
			return nil, "", &fetch.StatusError{URL: u, StatusCode: res.StatusCode}
		}
		return res.Body, res.MediaType, nil
	}
}

// Accounts adapts the account store to what the provider needs.
func Accounts(s *account.Store) idp.Accounts { return idpAccounts{s} }

// idpAccounts is webid/account seen as idp.Accounts.
type idpAccounts struct{ s *account.Store }

func (a idpAccounts) SessionAccount(ctx context.Context, token string) (idp.Account, error) {
	acct, err := a.s.SessionAccount(ctx, token)
	if errors.Is(err, account.ErrNoSession) {
		return idp.Account{}, idp.ErrNotLoggedIn
	}
	return idp.Account{ID: acct.ID, Email: acct.Email, WebIDs: acct.WebIDs, SignedOutAt: acct.SignedOutAt}, err
}

func (a idpAccounts) Get(ctx context.Context, id string) (idp.Account, error) {
	acct, err := a.s.Get(ctx, id)
	return idp.Account{ID: acct.ID, Email: acct.Email, WebIDs: acct.WebIDs, SignedOutAt: acct.SignedOutAt}, err
}

func (a idpAccounts) ClientCredential(ctx context.Context, id string) (idp.Credential, error) {
	cred, err := a.s.ClientCredential(ctx, id)
	if err != nil {
		return idp.Credential{}, err
	}
	return idp.Credential{ID: cred.ID, AccountID: cred.AccountID, WebID: cred.WebID, Verify: cred.Verify}, nil
}

func (a idpAccounts) EndSession(ctx context.Context, token string) error {
	return a.s.EndSession(ctx, token)
}
