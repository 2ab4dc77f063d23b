package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid/account"
)

// Password reset by e-mail, CSS's controls.password.forgot and
// controls.password.reset (json-api.md), offered when Config.Mail has a
// Sender:
//
//	POST /.account/login/password/forgot/  {"email"}               -> {"email"}
//	POST /.account/login/password/reset/   {"recordId", "password"} -> {}
//
// and as HTML pages at the same paths (forms with CSRF tokens, like the
// other account pages). The forgot answer is the same, byte for byte,
// whether or not the address has a login: after the checks that do not
// depend on it (the address's syntax, the rate limits per address and
// per client address), the request is answered and the rest happens in
// the background: finding the login, storing a reset record, and mailing
// a link to the reset page, /.account/login/password/reset/?rid=<token>.
// The mail's fate never reaches the client; a failure is logged, without
// the SMTP credentials or the link. The identity-provider issue: "password
// reset by e-mail is optional (SMTP settings) and must not reveal whether
// an address exists."
//
// Without a Sender the routes answer 404 with a sentence saying why, and
// the controls do not list them.

// Paths of password reset.
const (
	forgotPath = accountRoot + "login/password/forgot/"
	resetPath  = accountRoot + "login/password/reset/"
)

// Mailer sends one plain-text mail; server/mail's Sender is one.
type Mailer interface {
	Send(ctx context.Context, to, subject, text string) error
}

// MailConfig turns on password reset by e-mail.
type MailConfig struct {
	// Sender sends the mails; nil means no password reset by e-mail.
	Sender Mailer
	// Timeout bounds the background work of one request: finding the
	// login, storing the reset, sending the mail (default 1 minute).
	Timeout time.Duration
	// MaxPending bounds the mails under way at once (default 32). A
	// request beyond it is answered as any other; its mail is not sent,
	// and a warning is logged.
	MaxPending int
	// RetryDelays are the waits before the second, third... attempt to
	// send a mail that failed (default 5 s, then 20 s), all within
	// Timeout: an SMTP server that is briefly down or answers "try again
	// later" (4xx) does not lose the mail.
	RetryDelays []time.Duration
}

// Defaults of MailConfig.
const (
	defaultMailTimeout    = time.Minute
	defaultMaxPendingMail = 32
)

// The default MailConfig.RetryDelays.
const (
	defaultFirstRetry  = 5 * time.Second
	defaultSecondRetry = 20 * time.Second
)

// resetMailer sends password reset mails in the background.
type resetMailer struct {
	sender   Mailer
	accounts *account.Store
	// site is the server's root URL, without its final slash; link is
	// the reset page's absolute URL, to which the token is added.
	site, link string
	ttl        time.Duration
	timeout    time.Duration
	retries    []time.Duration
	logger     *slog.Logger

	// slots holds a token for each mail under way.
	slots chan struct{}
	wg    sync.WaitGroup
}

func newResetMailer(cfg MailConfig, accounts *account.Store, base *url.URL, ttl time.Duration, logger *slog.Logger) *resetMailer {
	m := &resetMailer{
		sender: cfg.Sender, accounts: accounts, ttl: ttl, timeout: cfg.Timeout, logger: logger,
		retries: cfg.RetryDelays,
		site:    strings.TrimSuffix(base.String(), "/"),
	}
	m.link = m.site + resetPath + "?rid="
	if m.timeout <= 0 {
		m.timeout = defaultMailTimeout
	}
	if m.retries == nil {
		m.retries = []time.Duration{defaultFirstRetry, defaultSecondRetry}
	}
	n := cfg.MaxPending
	if n <= 0 {
		n = defaultMaxPendingMail
	}
	m.slots = make(chan struct{}, n)
	return m
}

// start sends a reset mail to email, if it has a login, in the background;
// it returns at once. requestID ties the log lines to the request.
func (m *resetMailer) start(ctx context.Context, email, requestID string) {
	select {
	case m.slots <- struct{}{}:
	default:
		m.logger.Warn("password reset: too many mails under way; this one is not sent", "request_id", requestID)
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() { <-m.slots }()
		defer func() {
			if p := recover(); p != nil {
				m.logger.Error("password reset: panic", "request_id", requestID, "panic", fmt.Sprint(p))
			}
		}()
		// The request is answered already: its cancellation must not stop
		// the mail.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.timeout)
		defer cancel()
		m.send(ctx, email, requestID)
	}()
}

// send does the work behind one forgot request.
func (m *resetMailer) send(ctx context.Context, email, requestID string) {
	log := m.logger.With("request_id", requestID)
	r, err := m.accounts.NewReset(ctx, email)
	if errors.Is(err, account.ErrNotFound) {
		log.Info("password reset: no login has the address; no mail sent")
		return
	}
	if err != nil {
		log.Error("password reset: storing the reset failed; no mail sent", "error", err)
		return
	}
	if err := m.sendRetrying(ctx, log, email, "Reset your password", m.text(r)); err != nil {
		log.Error("password reset: the mail was not sent", "account", r.Account.ID, "error", err)
		// The link went nowhere: it need not work.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := m.accounts.CancelReset(cctx, r.Token); err != nil {
			log.Warn("password reset: removing the unsent reset", "account", r.Account.ID, "error", err)
		}
		return
	}
	log.Info("password reset: mail sent", "account", r.Account.ID)
}

// sendRetrying sends a mail, and again after each of m.retries when it
// fails, until it is sent or ctx ends; it returns the last failure.
func (m *resetMailer) sendRetrying(ctx context.Context, log *slog.Logger, to, subject, text string) error {
	err := m.sender.Send(ctx, to, subject, text)
	for i, d := range m.retries {
		if err == nil || ctx.Err() != nil {
			break
		}
		log.Warn("password reset: sending the mail failed; trying again", "attempt", i+1, "in", d, "error", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = m.sender.Send(ctx, to, subject, text)
	}
	return err
}

// text is the mail of a reset.
func (m *resetMailer) text(r account.Reset) string {
	return "Hello,\n\n" +
		"someone, probably you, asked to reset the password of the account that logs in\n" +
		"with this e-mail address at " + m.site + "/.\n\n" +
		"To choose a new password, open this link within " + humanDuration(m.ttl) + ":\n\n" +
		m.link + url.QueryEscape(r.Token) + "\n\n" +
		"The link works once. Setting a new password logs the account out everywhere.\n" +
		"If you did not ask for this, ignore this mail: your password stays as it is.\n"
}

// wait waits until every mail under way is sent or given up, or ctx ends.
func (m *resetMailer) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// humanDuration words d for a person: "1 hour", "90 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return plural(int64(d/time.Second), "second")
}

// forgotView answers GET on the forgot route: the page, or what a request
// takes.
func (h *Handler) forgotView(c echo.Context) error {
	if h.mailer == nil {
		return h.mailOff(c)
	}
	if wantsHTML(c) {
		return h.renderPage(c, http.StatusOK, "forgot", pageData{Title: "Forgot your password?", CSRF: h.anonCSRF(c), Return: h.formReturn(c)})
	}
	jsonAPI(c)
	return reply(c, map[string]any{"fields": fields("email", str(true))})
}

// forgot asks for a reset mail (controls.password.forgot): {"email"}.
// The answer, {"email": <the address, normalised>}, is the same whether
// or not the address has a login.
func (h *Handler) forgot(c echo.Context) error {
	if h.mailer == nil {
		return h.mailOff(c)
	}
	if isForm(c) {
		return h.pageForgot(c)
	}
	jsonAPI(c)
	var in struct {
		Email string `json:"email"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	email, err := h.accounts.AllowReset(in.Email, request.ClientAddr(c.Request()))
	if err != nil {
		return err
	}
	h.mailer.start(c.Request().Context(), email, request.ID(c))
	return reply(c, map[string]any{"email": email})
}

// pageForgot handles the forgot form.
func (h *Handler) pageForgot(c echo.Context) error {
	d := pageData{Title: "Forgot your password?", CSRF: h.anonCSRF(c)}
	err := h.checkForm(c, d.CSRF)
	d.Email = c.Request().PostForm.Get("email")
	d.Return = h.formReturn(c)
	if err != nil {
		return h.formError(c, "forgot", d, err)
	}
	email, err := h.accounts.AllowReset(d.Email, request.ClientAddr(c.Request()))
	if err != nil {
		return h.formError(c, "forgot", d, err)
	}
	h.mailer.start(c.Request().Context(), email, request.ID(c))
	d.Title, d.Email = "Check your mail", email
	return h.renderPage(c, http.StatusOK, "forgot-sent", d)
}

// resetView answers GET on the reset route: the page of a link from a
// mail (?rid=), or what a reset takes.
func (h *Handler) resetView(c echo.Context) error {
	if h.mailer == nil {
		return h.mailOff(c)
	}
	if !wantsHTML(c) {
		jsonAPI(c)
		return reply(c, map[string]any{"fields": fields("recordId", str(true), "password", str(true))})
	}
	d := pageData{Title: "Choose a new password", CSRF: h.anonCSRF(c), RecordID: c.QueryParam("rid")}
	if err := h.accounts.CheckReset(c.Request().Context(), d.RecordID); err != nil {
		return h.resetFailed(c, err)
	}
	return h.renderPage(c, http.StatusOK, "reset", d)
}

// resetPassword sets a new password with a token from a reset mail
// (controls.password.reset): {"recordId", "password"} -> {}. The token is
// used up, and every session of the account ends.
func (h *Handler) resetPassword(c echo.Context) error {
	if h.mailer == nil {
		return h.mailOff(c)
	}
	if isForm(c) {
		return h.pageReset(c)
	}
	jsonAPI(c)
	var in struct {
		RecordID string `json:"recordId"`
		Password string `json:"password"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.RecordID) == "" {
		return &problem.BadRequestError{Reason: "recordId is a required field"}
	}
	acc, err := h.accounts.ResetPassword(c.Request().Context(), strings.TrimSpace(in.RecordID), in.Password, request.ClientAddr(c.Request()))
	if err != nil {
		return err
	}
	h.logger.Info("password reset: new password set", "account", acc.ID, "request_id", request.ID(c))
	h.clearSession(c)
	return reply(c, map[string]any{})
}

// pageReset handles the reset form.
func (h *Handler) pageReset(c echo.Context) error {
	d := pageData{Title: "Choose a new password", CSRF: h.anonCSRF(c)}
	err := h.checkForm(c, d.CSRF)
	f := c.Request().PostForm
	d.RecordID = f.Get("recordId")
	if err != nil {
		return h.formError(c, "reset", d, err)
	}
	if f.Get("password") != f.Get("password2") {
		return h.formError(c, "reset", d, &problem.BadRequestError{Reason: "The two passwords differ."})
	}
	acc, err := h.accounts.ResetPassword(c.Request().Context(), d.RecordID, f.Get("password"), request.ClientAddr(c.Request()))
	if err != nil {
		return h.resetFailed(c, err)
	}
	h.logger.Info("password reset: new password set", "account", acc.ID, "request_id", request.ID(c))
	h.clearSession(c)
	return h.renderPage(c, http.StatusOK, "reset-done", pageData{Title: "Password changed"})
}

// resetFailed answers a reset page whose link is dead with the forgot
// form, to ask for a new one; other errors with the reset form.
func (h *Handler) resetFailed(c echo.Context, err error) error {
	if errors.Is(err, account.ErrResetInvalid) {
		return h.renderPage(c, http.StatusBadRequest, "forgot", pageData{Title: "Forgot your password?", CSRF: h.anonCSRF(c),
			Error: "This link to reset your password is no longer valid: it was used, it expired, or the password changed since. Ask for a new one below."})
	}
	d := pageData{Title: "Choose a new password", CSRF: h.anonCSRF(c), RecordID: c.Request().PostForm.Get("recordId")}
	return h.formError(c, "reset", d, err)
}

// mailOff answers a password reset route of a server without mail.
func (h *Handler) mailOff(c echo.Context) error {
	if !wantsHTML(c) {
		jsonAPI(c)
	}
	return problem.ErrMailOff
}

// jsonAPI marks a request of the JSON API: errors are answered as JSON,
// and no answer is cached.
func jsonAPI(c echo.Context) {
	problem.AnswerAsJSON(c)
	c.Response().Header().Set("Cache-Control", "no-store")
}

// isForm reports whether a POST is an HTML form (the pages) rather than
// JSON (the API).
func isForm(c echo.Context) bool {
	ct := c.Request().Header.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}
