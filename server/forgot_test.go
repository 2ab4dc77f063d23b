package server_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/mail"
	"github.com/weconomics/kluis/server/mail/mailtest"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/webid/account"
)

// smtpPassword is the test SMTP server's password: it must show in no
// log line and no answer.
const smtpPassword = "smtp-pa55word-never-logged"

// resetLink finds the reset link in a mail.
var resetLink = regexp.MustCompile(`http://pod\.example/\.account/login/password/reset/\?rid=([A-Za-z0-9_%-]+)`)

// mailServer is an account server whose password reset mails go through
// a real SMTP server, and whose accounts run on the clock clk.
type mailServer struct {
	ts    *testServer
	store storage.Backend
	c     *http.Client
	smtp  *mailtest.Server
	clk   *idpClock
}

// newMailServer starts a mailServer that sends through smtpURL, or
// through an SMTP server on 127.0.0.1 started here when it is "". limits,
// when set, are the accounts' rate limits.
func newMailServer(t *testing.T, smtpURL string, limits *account.Limits) *mailServer {
	t.Helper()
	return newMailServerWith(t, smtpURL, limits, mailtest.Options{})
}

// newMailServerWith is newMailServer whose own SMTP server, if it starts
// one, is shaped by o (its credentials are set here).
func newMailServerWith(t *testing.T, smtpURL string, limits *account.Limits, o mailtest.Options) *mailServer {
	t.Helper()
	m := &mailServer{clk: &idpClock{}, store: memory.New()}
	if smtpURL == "" {
		o.User, o.Password = "kluis", smtpPassword
		m.smtp = mailtest.Start(t, o)
		smtpURL = m.smtp.URL()
	}
	sender, err := mail.New(mail.Config{URL: smtpURL, From: "Kluis <noreply@pod.example>", HelloName: "pod.example"})
	if err != nil {
		t.Fatal(err)
	}
	m.ts, m.c = accountServer(t, m.store, func(c *server.Config) {
		c.Accounts.Now = m.clk.Now
		if limits != nil {
			c.Accounts.Limits = *limits
		}
		// Retries at once, so that a failing server costs the tests no time.
		c.Mail = accounts.MailConfig{Sender: sender, RetryDelays: []time.Duration{time.Millisecond, time.Millisecond}}
	})
	return m
}

// drain waits for the mails under way.
func (m *mailServer) drain(t *testing.T) {
	t.Helper()
	if err := m.ts.srv.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// resets lists the stored password reset records.
func (m *mailServer) resets(t *testing.T) []string {
	t.Helper()
	var keys []string
	for info, err := range m.store.List(context.Background(), "sys/accounts/reset/") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

// mails returns the mails the SMTP server holds.
func (m *mailServer) mails() []mailtest.Message { return m.smtp.Messages() }

var jsonHeader = map[string]string{"content-type": "application/json"}

// forgot asks for a reset mail through the JSON API, with a fixed request
// id so that two answers can be compared whole.
func (m *mailServer) forgot(t *testing.T, email string) reply {
	t.Helper()
	return call(t, m.c, "POST", testBaseURL+".account/login/password/forgot/",
		map[string]string{"content-type": "application/json", "x-request-id": "same-request-id"}, jsonBody(map[string]string{"email": email}))
}

// signUp makes an account with a password login through the JSON API and
// returns its session token.
func (m *mailServer) signUp(t *testing.T, email, password string) string {
	t.Helper()
	tok := str(t, call(t, m.c, "POST", testBaseURL+".account/account/", nil, "").json, "authorization")
	h := map[string]string{"authorization": "CSS-Account-Token " + tok, "content-type": "application/json"}
	ctl := call(t, m.c, "GET", testBaseURL+".account/", h, "").json["controls"].(map[string]any)
	if r := call(t, m.c, "POST", str(t, ctl, "password.create"), h, jsonBody(map[string]string{"email": email, "password": password})); r.status != 200 {
		t.Fatalf("password.create: %d %s", r.status, r.text)
	}
	return tok
}

// login logs in through the JSON API and returns the status and token.
func (m *mailServer) login(t *testing.T, email, password string) (int, string) {
	t.Helper()
	r := call(t, m.c, "POST", testBaseURL+".account/login/password/", jsonHeader, jsonBody(map[string]string{"email": email, "password": password}))
	if r.status != 200 {
		return r.status, ""
	}
	return r.status, str(t, r.json, "authorization")
}

// sessionLive reports whether a session token still opens its account.
func (m *mailServer) sessionLive(t *testing.T, token string) bool {
	t.Helper()
	r := call(t, m.c, "GET", testBaseURL+".account/", map[string]string{"authorization": "CSS-Account-Token " + token}, "")
	acct, _ := r.json["controls"].(map[string]any)["account"].(map[string]any)
	_, ok := acct["pod"]
	return ok
}

// token takes the reset token out of the only mail sent to email since
// the mails numbered before.
func (m *mailServer) token(t *testing.T, before int, email string) string {
	t.Helper()
	msgs := m.mails()
	if len(msgs) != before+1 {
		t.Fatalf("%d mails, want %d", len(msgs), before+1)
	}
	msg := msgs[before]
	if len(msg.To) != 1 || msg.To[0] != email || msg.User != "kluis" || msg.From != "noreply@pod.example" {
		t.Fatalf("mail from %q to %q as %q", msg.From, msg.To, msg.User)
	}
	got := resetLink.FindStringSubmatch(msg.Text)
	if got == nil {
		t.Fatalf("no reset link in the mail:\n%s", msg.Text)
	}
	tok, err := url.QueryUnescape(got[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sameAnswer fails unless a and b have the same status, headers (but
// Date) and body, once each one's own address is taken out of its body.
func sameAnswer(t *testing.T, a, b reply, addrA, addrB string) {
	t.Helper()
	if a.status != b.status {
		t.Fatalf("status %d and %d", a.status, b.status)
	}
	ha, hb := a.header.Clone(), b.header.Clone()
	ha.Del("Date")
	hb.Del("Date")
	if len(ha) != len(hb) {
		t.Fatalf("headers differ:\n%v\n%v", ha, hb)
	}
	for k, v := range ha {
		if strings.Join(v, "\n") != strings.Join(hb[k], "\n") {
			t.Fatalf("header %s: %q and %q", k, v, hb[k])
		}
	}
	if strings.ReplaceAll(a.text, addrA, "ADDRESS") != strings.ReplaceAll(b.text, addrB, "ADDRESS") {
		t.Fatalf("bodies differ:\n%s\n%s", a.text, b.text)
	}
}

// TestPasswordResetByMail goes the whole way through the real router and
// a real SMTP server: the forgot answer tells nothing of the address,
// only an address with a login gets mail, its link opens the reset page,
// the new password logs in and the old one and the old sessions do not,
// and the link works once.
func TestPasswordResetByMail(t *testing.T) {
	m := newMailServer(t, "", nil)
	const alice, nobody = "alice@example.org", "nobod@example.org" // of one length

	// The controls offer the reset, as CSS's do.
	ctl := call(t, m.c, "GET", testBaseURL+".account/", nil, "").json["controls"].(map[string]any)
	if str(t, ctl, "password.forgot") != testBaseURL+".account/login/password/forgot/" ||
		str(t, ctl, "password.reset") != testBaseURL+".account/login/password/reset/" ||
		str(t, ctl, "html.password.forgot") != testBaseURL+".account/login/password/forgot/" {
		t.Fatalf("controls %v", ctl)
	}

	// Alice's address before it has a login, then after: byte for byte the
	// same answer; only the second sends mail.
	before := m.forgot(t, alice)
	m.drain(t)
	if before.status != 200 || str(t, before.json, "email") != alice || len(m.mails()) != 0 {
		t.Fatalf("forgot before sign-up: %d %s, %d mails", before.status, before.text, len(m.mails()))
	}
	oldSession := m.signUp(t, alice, "old password")
	_, loginSession := m.login(t, alice, "old password")
	after := m.forgot(t, alice)
	unknown := m.forgot(t, nobody)
	m.drain(t)
	sameAnswer(t, before, after, alice, alice)
	// An unknown address: the same answer but for the address it repeats.
	sameAnswer(t, after, unknown, alice, nobody)
	tok := m.token(t, 0, alice)
	if strings.Contains(m.ts.logs.String(), tok) || strings.Contains(m.ts.logs.String(), smtpPassword) {
		t.Fatalf("the log shows the reset token or the SMTP password:\n%s", m.ts.logs)
	}
	msg := m.mails()[0]
	if msg.Header.Get("Subject") != "Reset your password" || !strings.Contains(msg.Text, "within 1 hour") {
		t.Errorf("mail %v\n%s", msg.Header, msg.Text)
	}

	// The link opens the reset page in a browser.
	b := formClient(t, m.ts)
	html, csrf := page(t, b, strings.TrimPrefix(resetLink.FindString(msg.Text), testBaseURL))
	for _, want := range []string{`name="recordId" value="` + tok + `"`, `<label for="password">`, `<label for="password2">`,
		`autocomplete="new-password"`, `<button type="submit">Set the new password</button>`} {
		if !strings.Contains(html, want) {
			t.Errorf("reset page lacks %s:\n%s", want, html)
		}
	}
	res := postForm(t, b, "/.account/login/password/reset/", url.Values{
		"csrf": {csrf}, "recordId": {tok}, "password": {"new password"}, "password2": {"new password"},
	}, "")
	if res.status != 200 || !strings.Contains(res.text, "Your password was changed") {
		t.Fatalf("reset form: %d %s", res.status, res.text)
	}

	if status, _ := m.login(t, alice, "new password"); status != 200 {
		t.Fatalf("login with the new password: %d", status)
	}
	if status, _ := m.login(t, alice, "old password"); status != 403 {
		t.Fatalf("login with the old password: %d", status)
	}
	for _, s := range []string{oldSession, loginSession} {
		if m.sessionLive(t, s) {
			t.Fatal("a session from before the reset still works")
		}
	}

	// The link works once.
	res = call(t, m.c, "POST", testBaseURL+".account/login/password/reset/", jsonHeader, jsonBody(map[string]string{"recordId": tok, "password": "newer password"}))
	if res.status != 400 || res.json["message"] != "This reset password link is no longer valid." {
		t.Fatalf("the link again: %d %s", res.status, res.text)
	}
	res = call(t, b, "GET", resetLink.FindString(msg.Text), map[string]string{"accept": "text/html"}, "")
	if res.status != 400 || !strings.Contains(res.text, "no longer valid") || !strings.Contains(res.text, `action="/.account/login/password/forgot/"`) {
		t.Fatalf("the link's page again: %d %s", res.status, res.text)
	}
	if strings.Contains(m.ts.logs.String(), tok) || strings.Contains(m.ts.logs.String(), smtpPassword) {
		t.Fatalf("the log shows the reset token or the SMTP password:\n%s", m.ts.logs)
	}
}

// TestPasswordResetAPI: the JSON reset, its bad input, and expiry on the
// accounts' clock.
func TestPasswordResetAPI(t *testing.T) {
	m := newMailServer(t, "", nil)
	const alice = "alice@example.org"
	oldSession := m.signUp(t, alice, "old password")
	forgot := testBaseURL + ".account/login/password/forgot/"
	reset := testBaseURL + ".account/login/password/reset/"

	if r := m.forgot(t, alice); r.status != 200 {
		t.Fatalf("forgot: %d %s", r.status, r.text)
	}
	m.drain(t)
	tok := m.token(t, 0, alice)

	tests := []struct {
		name, url, ct, body string
		wantStatus          int
		wantMsg             string
	}{
		{"forgot: malformed JSON", forgot, "application/json", `{"email":`, 400, "Invalid JSON"},
		{"forgot: huge body", forgot, "application/json", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"forgot: no address", forgot, "application/json", `{}`, 400, "An e-mail address is required."},
		{"forgot: not an address", forgot, "application/json", `{"email":"alice"}`, 400, "Not a valid e-mail address."},
		{"forgot: wrong type", forgot, "application/json", `{"email":5}`, 400, "Invalid JSON: email"},
		{"forgot: not JSON", forgot, "text/plain", `{"email":"alice@example.org"}`, 415, ""},
		{"reset: malformed JSON", reset, "application/json", `{"recordId":`, 400, "Invalid JSON"},
		{"reset: huge body", reset, "application/json", `{"recordId":"` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"reset: no record", reset, "application/json", `{"password":"long enough"}`, 400, "recordId is a required field"},
		{"reset: unknown record", reset, "application/json", `{"recordId":"` + strings.Repeat("A", 43) + `","password":"long enough"}`, 400, "This reset password link is no longer valid."},
		{"reset: a path as record", reset, "application/json", `{"recordId":"../../account/x","password":"long enough"}`, 400, "no longer valid"},
		{"reset: weak password", reset, "application/json", `{"recordId":"` + tok + `","password":"short"}`, 400, "at least 8 characters"},
		{"reset: no password", reset, "application/json", `{"recordId":"` + tok + `"}`, 400, "A password is required."},
		{"reset: not JSON", reset, "text/plain", `{}`, 415, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, m.c, "POST", tc.url, map[string]string{"content-type": tc.ct}, tc.body)
			if res.status != tc.wantStatus || res.json == nil {
				t.Fatalf("%d, want %d: %s", res.status, tc.wantStatus, res.text)
			}
			if got, _ := res.json["statusCode"].(float64); int(got) != tc.wantStatus {
				t.Fatalf("error body %v", res.json)
			}
			if msg, _ := res.json["message"].(string); !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("message %q, want it to hold %q", msg, tc.wantMsg)
			}
		})
	}

	// What the views say a request takes, as CSS's do.
	if r := call(t, m.c, "GET", reset, nil, ""); r.status != 200 || r.json["fields"] == nil {
		t.Fatalf("reset view: %d %s", r.status, r.text)
	}
	if r := call(t, m.c, "GET", forgot, nil, ""); r.status != 200 || r.json["fields"] == nil {
		t.Fatalf("forgot view: %d %s", r.status, r.text)
	}

	// The weak password did not use the token up.
	res := call(t, m.c, "POST", reset, jsonHeader, jsonBody(map[string]string{"recordId": tok, "password": "new password"}))
	if res.status != 200 || res.text != "{}\n" {
		t.Fatalf("reset: %d %q", res.status, res.text)
	}
	if m.sessionLive(t, oldSession) {
		t.Fatal("the session from before the reset still works")
	}
	if status, _ := m.login(t, alice, "new password"); status != 200 {
		t.Fatalf("login: %d", status)
	}

	// A link an hour old no longer works.
	if r := m.forgot(t, alice); r.status != 200 {
		t.Fatalf("forgot: %d", r.status)
	}
	m.drain(t)
	late := m.token(t, 1, alice)
	m.clk.Advance(time.Hour)
	res = call(t, m.c, "POST", reset, jsonHeader, jsonBody(map[string]string{"recordId": late, "password": "newer password"}))
	if res.status != 400 || res.json["message"] != "This reset password link is no longer valid." {
		t.Fatalf("expired link: %d %s", res.status, res.text)
	}
	if status, _ := m.login(t, alice, "new password"); status != 200 {
		t.Fatalf("the password changed after all: %d", status)
	}
}

// TestPasswordResetSMTPDown: with no SMTP server listening, the client
// gets the answer it always gets; the failure is logged, without the SMTP
// password or the link, and the unsent reset is removed.
func TestPasswordResetSMTPDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "smtp://kluis:" + smtpPassword + "@" + ln.Addr().String()
	ln.Close()
	m := newMailServer(t, down, nil)
	const alice, nobody = "alice@example.org", "nobod@example.org"
	m.signUp(t, alice, "old password")

	known := m.forgot(t, alice)
	unknown := m.forgot(t, nobody)
	m.drain(t)
	if known.status != 200 {
		t.Fatalf("forgot: %d %s", known.status, known.text)
	}
	sameAnswer(t, known, unknown, alice, nobody)
	logs := m.ts.logs.String()
	if !strings.Contains(logs, "password reset: the mail was not sent") || !strings.Contains(logs, ln.Addr().String()) {
		t.Fatalf("the failure is not logged with its reason:\n%s", logs)
	}
	if n := strings.Count(logs, "trying again"); n != 2 {
		t.Fatalf("%d retries logged, want 2:\n%s", n, logs)
	}
	if strings.Contains(logs, smtpPassword) || strings.Contains(logs, "rid=") || strings.Contains(logs, alice) {
		t.Fatalf("the log shows a secret or the address:\n%s", logs)
	}
	if strings.Contains(known.text+unknown.text, "smtp") {
		t.Fatalf("the answer tells of SMTP: %s", known.text)
	}
	if keys := m.resets(t); len(keys) != 0 {
		t.Fatalf("the unsent reset is still stored: %v", keys)
	}
}

// TestPasswordResetRateLimit: forgot requests are limited per address and
// per client address, with 429 and Retry-After, the same whether or not
// the address has a login.
func TestPasswordResetRateLimit(t *testing.T) {
	m := newMailServer(t, "", &account.Limits{ResetBurst: 2, ResetEvery: time.Hour, ResetAddressBurst: 5, ResetAddressEvery: time.Hour})
	const alice, nobody = "alice@example.org", "nobod@example.org"
	m.signUp(t, alice, "old password")
	var last [2]reply
	for i, want := range []int{200, 200, 429} {
		for j, email := range []string{alice, nobody} {
			res := m.forgot(t, email)
			if res.status != want {
				t.Fatalf("%s, attempt %d: %d, want %d: %s", email, i, res.status, want, res.text)
			}
			last[j] = res
		}
	}
	if last[0].header.Get("Retry-After") == "" || last[0].json["name"] != "TooManyRequestsHttpError" {
		t.Fatalf("429 without Retry-After: %v %v", last[0].header, last[0].json)
	}
	sameAnswer(t, last[0], last[1], alice, nobody)
	m.drain(t)
	if n := len(m.mails()); n != 2 {
		t.Fatalf("%d mails, want 2", n)
	}
	// The client address has one attempt left (4 of 5 taken; the limited
	// ones were given back), then 429 for any address.
	if r := m.forgot(t, "third@example.org"); r.status != 200 {
		t.Fatalf("third address: %d", r.status)
	}
	if r := m.forgot(t, "fourth@example.org"); r.status != 429 {
		t.Fatalf("over the client address's limit: %d", r.status)
	}
	m.clk.Advance(time.Hour)
	if r := m.forgot(t, alice); r.status != 200 {
		t.Fatalf("an hour later: %d", r.status)
	}
}

// TestPasswordResetOff: without mail settings, the reset is not offered:
// no controls, no link on the login page, and 404 with a reason.
func TestPasswordResetOff(t *testing.T) {
	ts, c := accountServer(t, memory.New(), nil)
	ctl := call(t, c, "GET", testBaseURL+".account/", nil, "").json["controls"].(map[string]any)
	if p := ctl["password"].(map[string]any); p["forgot"] != nil || p["reset"] != nil {
		t.Fatalf("controls %v", p)
	}
	if h := ctl["html"].(map[string]any)["password"].(map[string]any); h["forgot"] != nil {
		t.Fatalf("html controls %v", h)
	}
	html, _ := page(t, formClient(t, ts), "/.account/login/")
	if strings.Contains(html, "forgot") {
		t.Fatalf("the login page links the reset:\n%s", html)
	}
	for _, path := range []string{"login/password/forgot/", "login/password/reset/"} {
		for _, method := range []string{"GET", "POST"} {
			res := call(t, c, method, testBaseURL+".account/"+path, jsonHeader, `{"email":"alice@example.org"}`)
			if res.status != 404 || !strings.Contains(str(t, res.json, "message"), "sends no e-mail") {
				t.Fatalf("%s %s: %d %s", method, path, res.status, res.text)
			}
		}
	}
	res := call(t, c, "GET", testBaseURL+".account/login/password/forgot/", map[string]string{"accept": "text/html"}, "")
	if res.status != 404 || !strings.Contains(res.text, "sends no e-mail") {
		t.Fatalf("forgot page: %d %s", res.status, res.text)
	}
}

// TestPasswordResetPages: the forgot and reset forms, keyboard-usable,
// CSRF-protected, and what they say when something is wrong.
func TestPasswordResetPages(t *testing.T) {
	m := newMailServer(t, "", nil)
	const alice = "alice@example.org"
	m.signUp(t, alice, "old password")
	b := formClient(t, m.ts)

	html, _ := page(t, b, "/.account/login/")
	if !strings.Contains(html, `<a href="/.account/login/password/forgot/">Forgot your password?</a>`) {
		t.Fatalf("the login page does not link the reset:\n%s", html)
	}
	html, csrf := page(t, b, "/.account/login/password/forgot/")
	for _, want := range []string{`<label for="email">`, `type="email" id="email" name="email"`, `<button type="submit">Mail me a link</button>`, "1 hour"} {
		if !strings.Contains(html, want) {
			t.Errorf("forgot page lacks %s", want)
		}
	}
	// CSRF: no token, another origin.
	if res := postForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {alice}}, ""); res.status != 403 {
		t.Fatalf("no CSRF token: %d", res.status)
	}
	if res := postForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {alice}, "csrf": {csrf}}, "https://evil.example"); res.status != 403 {
		t.Fatalf("another origin: %d", res.status)
	}
	m.drain(t)
	if n := len(m.mails()); n != 0 {
		t.Fatalf("refused forms sent %d mails", n)
	}
	if res := postForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {"alice"}, "csrf": {csrf}}, ""); res.status != 400 || !strings.Contains(res.text, "Not a valid e-mail address.") {
		t.Fatalf("bad address: %d %s", res.status, res.text)
	}
	if res := sendForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {alice}, "csrf": {csrf}}, map[string]string{"sec-fetch-site": "cross-site", "origin": "https://app.example"}); res.status != 403 {
		t.Fatalf("cross-site: %d", res.status)
	}
	// What Chromium sends from the page itself.
	chromium := map[string]string{"sec-fetch-site": "same-origin", "origin": "null"}
	known := sendForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {alice}, "csrf": {csrf}}, chromium)
	unknown := postForm(t, b, "/.account/login/password/forgot/", url.Values{"email": {"nobod@example.org"}, "csrf": {csrf}}, "")
	if known.status != 200 || !strings.Contains(known.text, "If an account logs in with <strong>alice@example.org</strong>") {
		t.Fatalf("forgot form: %d %s", known.status, known.text)
	}
	if strings.ReplaceAll(known.text, alice, "X") != strings.ReplaceAll(unknown.text, "nobod@example.org", "X") {
		t.Fatalf("the pages differ:\n%s\n%s", known.text, unknown.text)
	}
	m.drain(t)
	tok := m.token(t, 0, alice)

	_, csrf = page(t, b, "/.account/login/password/reset/?rid="+url.QueryEscape(tok))
	for _, tc := range []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"no CSRF token", url.Values{"recordId": {tok}, "password": {"new password"}, "password2": {"new password"}}, 403, "another site"},
		{"passwords differ", url.Values{"csrf": {csrf}, "recordId": {tok}, "password": {"new password"}, "password2": {"new passwort"}}, 400, "The two passwords differ."},
		{"weak password", url.Values{"csrf": {csrf}, "recordId": {tok}, "password": {"short"}, "password2": {"short"}}, 400, "at least 8 characters"},
		{"unknown record", url.Values{"csrf": {csrf}, "recordId": {"nope"}, "password": {"new password"}, "password2": {"new password"}}, 400, "no longer valid"},
	} {
		res := postForm(t, b, "/.account/login/password/reset/", tc.form, "")
		if res.status != tc.status || !strings.Contains(res.text, tc.message) {
			t.Errorf("%s: %d %s", tc.name, res.status, res.text)
		}
	}
	if res := sendForm(t, b, "/.account/login/password/reset/", url.Values{"csrf": {csrf}, "recordId": {tok}, "password": {"new password"}, "password2": {"new password"}},
		map[string]string{"sec-fetch-site": "same-site", "origin": "http://alice.pod.example"}); res.status != 403 || !strings.Contains(res.text, `name="recordId" value="`+tok+`"`) {
		t.Errorf("same-site reset: %d, or the page lost the record:\n%s", res.status, res.text)
	}
	// None of these used the link up.
	res := sendForm(t, b, "/.account/login/password/reset/", url.Values{"csrf": {csrf}, "recordId": {tok}, "password": {"new password"}, "password2": {"new password"}}, chromium)
	if res.status != 200 || !strings.Contains(res.text, `<a href="/.account/login/">Log in</a>`) {
		t.Fatalf("reset: %d %s", res.status, res.text)
	}
	if status, _ := m.login(t, alice, "new password"); status != 200 {
		t.Fatalf("login: %d", status)
	}
	// A link that never was: the forgot form, to ask again.
	res = call(t, b, "GET", testBaseURL+".account/login/password/reset/?rid=nope", map[string]string{"accept": "text/html"}, "")
	if res.status != 400 || !strings.Contains(res.text, "Ask for a new one below.") {
		t.Fatalf("a bad link: %d %s", res.status, res.text)
	}
}

// TestMaintainSweepsResets: the server's housekeeping removes expired
// password resets, which no one looks at again.
func TestMaintainSweepsResets(t *testing.T) {
	m := newMailServer(t, "", nil)
	const alice = "alice@example.org"
	m.signUp(t, alice, "old password")
	if r := m.forgot(t, alice); r.status != 200 {
		t.Fatal(r.text)
	}
	m.drain(t)
	if keys := m.resets(t); len(keys) != 1 {
		t.Fatalf("stored resets %v, want 1", keys)
	}
	m.clk.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.ts.srv.Maintain(ctx, time.Hour); close(done) }()
	deadline := time.After(10 * time.Second)
	for len(m.resets(t)) != 0 {
		select {
		case <-deadline:
			t.Fatal("the expired reset was not swept")
		default:
			runtime.Gosched()
		}
	}
	cancel()
	<-done
}

// blockingMailer holds every mail until release is closed.
type blockingMailer struct {
	release chan struct{}
	sent    chan string
}

func (b *blockingMailer) Send(ctx context.Context, to, _, _ string) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.sent <- to
	return nil
}

// TestPasswordResetBounded: mails under way are bounded; a request past
// the bound is answered as usual, and its mail is dropped with a warning.
func TestPasswordResetBounded(t *testing.T) {
	b := &blockingMailer{release: make(chan struct{}), sent: make(chan string, 10)}
	ts, c := accountServer(t, memory.New(), func(cfg *server.Config) {
		cfg.Mail = accounts.MailConfig{Sender: b, MaxPending: 1}
	})
	m := &mailServer{ts: ts, c: c}
	m.signUp(t, "alice@example.org", "old password")
	// alice's mail waits in Send, holding the one place.
	first, second := m.forgot(t, "alice@example.org"), m.forgot(t, "nobod@example.org")
	sameAnswer(t, first, second, "alice@example.org", "nobod@example.org")
	if !strings.Contains(ts.logs.String(), "too many mails under way") {
		t.Fatalf("no warning:\n%s", ts.logs)
	}
	close(b.release)
	m.drain(t)
	if len(b.sent) != 1 || <-b.sent != "alice@example.org" {
		t.Fatal("alice's mail was not sent")
	}
}

// TestPasswordResetRetries: an SMTP server that answers "try again later"
// (451) to the first attempt gets the mail on the next one.
func TestPasswordResetRetries(t *testing.T) {
	m := newMailServerWith(t, "", nil, mailtest.Options{TempFailures: 1})
	const alice = "alice@example.org"
	m.signUp(t, alice, "old password")
	if r := m.forgot(t, alice); r.status != 200 {
		t.Fatalf("forgot: %d %s", r.status, r.text)
	}
	m.drain(t)
	if n := len(m.mails()); n != 1 {
		t.Fatalf("%d mails delivered, want 1 after a retry:\n%s", n, m.ts.logs)
	}
	logs := m.ts.logs.String()
	if !strings.Contains(logs, "trying again") || !strings.Contains(logs, "password reset: mail sent") {
		t.Fatalf("the retry is not logged:\n%s", logs)
	}
	m.token(t, 0, alice) // the mailed link is a live one
}
