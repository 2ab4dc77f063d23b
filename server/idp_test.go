package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/weconomics/kluis/storage"
	"html"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/accounts"
	kluisoidc "github.com/weconomics/kluis/server/oidc"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/idp"
	"github.com/weconomics/kluis/webid/webidtest"
)

// idpClock is the provider's clock: real time, moved forward by tests.
// (The resource side checks tokens against the real clock.)
type idpClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *idpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *idpClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// idpFakeAccounts is one account logged in with the session token
// idpSession, and one client credential.
type idpFakeAccounts struct {
	webids []string

	mu          sync.Mutex
	signedOutAt time.Time // Account.SignedOutAt
}

// signOut ends every sign-in before at, as a password reset does.
func (a *idpFakeAccounts) signOut(at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.signedOutAt = at
}

const (
	idpSession    = "test-session-token"
	idpCredential = "cred-1"
	idpCredSecret = "cred-secret"
	idpRedirect   = "http://localhost:8080/callback"
)

func (a *idpFakeAccounts) SessionAccount(_ context.Context, token string) (idp.Account, error) {
	if token != idpSession {
		return idp.Account{}, idp.ErrNotLoggedIn
	}
	return idp.Account{ID: "acct", Email: "a@example.org", WebIDs: a.webids}, nil
}

func (a *idpFakeAccounts) Get(_ context.Context, id string) (idp.Account, error) {
	if id != "acct" {
		return idp.Account{}, errors.New("no such account")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return idp.Account{ID: "acct", WebIDs: a.webids, SignedOutAt: a.signedOutAt}, nil
}

func (a *idpFakeAccounts) ClientCredential(_ context.Context, id string) (idp.Credential, error) {
	if id != idpCredential {
		return idp.Credential{}, errors.New("no such credential")
	}
	return idp.Credential{ID: id, AccountID: "acct", WebID: a.webids[0],
		Verify: func(s string) bool { return s == idpCredSecret }}, nil
}

// idpHarness is Kluis with its identity provider on, listening on its own
// base URL, with a WebID profile (served elsewhere) that names Kluis as
// its issuer and a root ACL that gives that WebID every mode; a browser
// (cookie jar, redirects not followed); and a Client Identifier Document
// server over TLS.
type idpHarness struct {
	t       *testing.T
	base    string
	webid   string
	browser *http.Client
	clock   *idpClock
	key     *webidtest.Client
	docs    *httptest.Server
	docBody func(id string) string
	logs    *syncBuffer
	// accounts are the provider's accounts: one, "acct".
	accounts *idpFakeAccounts
}

func newIDPHarness(t *testing.T) *idpHarness {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String() + "/"
	profile := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{base}})
	h := &idpHarness{t: t, base: base, webid: profile.WebID, clock: &idpClock{}, logs: &syncBuffer{},
		accounts: &idpFakeAccounts{webids: []string{profile.WebID, "https://other.example/profile#me"}}}
	h.key = h.newKey()

	h.docBody = func(id string) string {
		return `{"@context":["https://www.w3.org/ns/solid/oidc-context.jsonld"],"client_id":"` + id +
			`","client_name":"Document app","redirect_uris":["` + idpRedirect + `"],` +
			`"grant_types":["authorization_code","refresh_token"],"scope":"openid webid offline_access"}`
	}
	h.docs = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.docs.URL + r.URL.Path
		body := h.docBody(id)
		if r.URL.Path == "/wrong-redirect" {
			body = strings.Replace(body, idpRedirect, "https://elsewhere.example/cb", 1)
		}
		w.Header().Set("Content-Type", "application/ld+json")
		io.WriteString(w, body)
	}))
	t.Cleanup(h.docs.Close)
	docClient := h.docs.Client()
	plainFetch := func(ctx context.Context, u string) ([]byte, string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return nil, "", err
		}
		res, err := docClient.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		return b, mt, err
	}

	f, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		t.Fatal(err)
	}
	baseURL, _ := url.Parse(base)
	acl := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + profile.WebID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	cfg := server.Config{
		BaseURL: baseURL, MaxBodyBytes: 1 << 20, Fetcher: f, RootACL: []byte(acl),
		IdP: kluisoidc.Config{
			Accounts:    h.accounts,
			FetchClient: plainFetch,
			Now:         h.clock.Now,
		},
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, memory.New(), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Drain(context.Background()) })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)

	jar, _ := cookiejar.New(nil)
	h.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

// newKey is a DPoP key on the provider's clock.
func (h *idpHarness) newKey() *webidtest.Client {
	k := webidtest.NewClient(h.t, "ES256")
	k.Now = h.clock.Now
	return k
}

// logIn stands for the login page: it sets the account session cookie.
func (h *idpHarness) logIn() {
	u, _ := url.Parse(h.base)
	h.browser.Jar.SetCookies(u, []*http.Cookie{{Name: accounts.DefaultSessionCookie, Value: idpSession, Path: "/"}})
}

// do sends a request with the browser and returns the response and body.
func (h *idpHarness) do(req *http.Request) (*http.Response, string) {
	h.t.Helper()
	res, err := h.browser.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (h *idpHarness) get(u string) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return h.do(req)
}

// postForm posts a form, with a DPoP proof when key is set and HTTP Basic
// when user is.
func (h *idpHarness) postForm(path string, form url.Values, key *webidtest.Client, user, password string) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != nil {
		req.Header.Set("DPoP", key.Proof("POST", h.base+path, ""))
	}
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	return h.do(req)
}

// register registers a public client by DCR.
func (h *idpHarness) register(meta string) string {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.base+".oidc/reg", strings.NewReader(meta))
	req.Header.Set("Content-Type", "application/json")
	res, body := h.do(req)
	if res.StatusCode != 201 {
		h.t.Fatalf("registration: %d %s", res.StatusCode, body)
	}
	var r struct {
		ClientID string `json:"client_id"`
	}
	json.Unmarshal([]byte(body), &r)
	return r.ClientID
}

// idpPKCE is a verifier and its S256 challenge.
func idpPKCE() (string, string) {
	v := "a-code-verifier-of-enough-length-0123456789abc"
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (h *idpHarness) authorizeURL(client, challenge string) string {
	return h.base + ".oidc/auth?" + url.Values{
		"client_id": {client}, "redirect_uri": {idpRedirect}, "response_type": {"code"},
		"scope": {"openid webid offline_access"}, "state": {"xyz"}, "nonce": {"nonce-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
}

var idpHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consent posts the consent form of page with a decision.
func (h *idpHarness) consent(page, decision string) *http.Response {
	h.t.Helper()
	res, _ := h.consentFrom(page, decision, nil)
	return res
}

// consentFrom posts the consent form of page with a decision and a
// browser's headers (Origin, Sec-Fetch-Site).
func (h *idpHarness) consentFrom(page, decision string, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	form := url.Values{"decision": {decision}, "webid": {h.webid}}
	for _, m := range idpHidden.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	req, _ := http.NewRequest("POST", h.base+".oidc/auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return h.do(req)
}

// code runs the browser steps for a logged-in user and returns the code.
func (h *idpHarness) code(client, challenge string) string {
	h.t.Helper()
	h.logIn()
	res, page := h.get(h.authorizeURL(client, challenge))
	if res.StatusCode != 200 {
		h.t.Fatalf("authorize: %d %s", res.StatusCode, page)
	}
	res = h.consent(page, "allow")
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 303 || loc.Query().Get("iss") != h.base || loc.Query().Get("state") != "xyz" {
		h.t.Fatalf("consent: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// idpTokens is a token response.
type idpTokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func (h *idpHarness) tokenRequest(form url.Values, key *webidtest.Client, user, password string) (int, idpTokens) {
	h.t.Helper()
	res, body := h.postForm(".oidc/token", form, key, user, password)
	var tok idpTokens
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		h.t.Fatalf("token response %d is not JSON: %s", res.StatusCode, body)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		h.t.Errorf("token response Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	return res.StatusCode, tok
}

func (h *idpHarness) exchange(client, code, verifier string, key *webidtest.Client) (int, idpTokens) {
	return h.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {idpRedirect}, "code_verifier": {verifier}, "client_id": {client}}, key, "", "")
}

func (h *idpHarness) refresh(client, token string, key *webidtest.Client) (int, idpTokens) {
	return h.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token},
		"client_id": {client}}, key, "", "")
}

// resource reads the root container of Kluis with an access token.
func (h *idpHarness) resource(token string, key *webidtest.Client) int {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.base, nil)
	if token != "" {
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", key.Proof("GET", h.base, token))
	}
	res, body := h.do(req)
	if res.StatusCode != 200 {
		h.t.Logf("resource: %d %s %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
	}
	return res.StatusCode
}

// TestIdPFlow drives the whole authorization code flow with a real HTTP
// client, each redirect checked, and uses the token on Kluis itself.
func TestIdPFlow(t *testing.T) {
	h := newIDPHarness(t)

	// Discovery and keys.
	res, body := h.get(h.base + ".well-known/openid-configuration")
	var meta map[string]any
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &meta) != nil {
		t.Fatalf("discovery: %d %s", res.StatusCode, body)
	}
	for k, v := range map[string]any{
		"issuer": h.base, "token_endpoint": h.base + ".oidc/token", "authorization_endpoint": h.base + ".oidc/auth",
		"registration_endpoint": h.base + ".oidc/reg", "jwks_uri": h.base + ".oidc/jwks",
		"end_session_endpoint": h.base + ".oidc/session/end", "revocation_endpoint": h.base + ".oidc/revoke",
		"solid_oidc_supported": "https://solidproject.org/TR/solid-oidc", "authorization_response_iss_parameter_supported": true,
	} {
		if meta[k] != v {
			t.Errorf("discovery %s = %v, want %v", k, meta[k], v)
		}
	}
	res, body = h.get(h.base + ".oidc/jwks")
	if res.StatusCode != 200 || !strings.Contains(body, `"kty":"EC"`) || strings.Contains(body, `"d":`) {
		t.Fatalf("jwks: %d %s", res.StatusCode, body)
	}

	// Registration.
	client := h.register(`{"redirect_uris":["` + idpRedirect + `"],"token_endpoint_auth_method":"none",` +
		`"client_name":"Flow <app>","logo_uri":"https://app.example/logo.png","scope":"openid webid offline_access",` +
		`"post_logout_redirect_uris":["http://localhost:8080/bye"]}`)
	verifier, challenge := idpPKCE()

	// Not logged in: to the login page, with the way back.
	res, _ = h.get(h.authorizeURL(client, challenge))
	loc, _ := url.Parse(res.Header.Get("Location"))
	back := loc.Query().Get("return")
	if res.StatusCode != 302 || loc.Path != "/.account/login" || !strings.HasPrefix(back, "/.oidc/auth?") {
		t.Fatalf("authorize without a session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}

	// The login page would set the cookie and send the browser back.
	h.logIn()
	res, page := h.get(h.base + strings.TrimPrefix(back, "/"))
	if res.StatusCode != 200 {
		t.Fatalf("consent page: %d %s", res.StatusCode, page)
	}
	for _, s := range []string{"Flow &lt;app&gt;", `<img src="https://app.example/logo.png"`, client, "localhost:8080", h.webid, `name="csrf"`} {
		if !strings.Contains(page, s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("consent page CSP %q", csp)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("consent page headers %v", res.Header)
	}

	if rp := res.Header.Get("Referrer-Policy"); rp != "same-origin" {
		t.Errorf("consent page Referrer-Policy %q: browsers would send Origin null on its form", rp)
	}
	// The consent form from another site or a pod's subdomain: refused,
	// with the right token and the session cookie.
	for _, site := range []string{"cross-site", "same-site"} {
		if res, body := h.consentFrom(page, "allow", map[string]string{"Sec-Fetch-Site": site, "Origin": "https://app.example"}); res.StatusCode != 403 || res.Header.Get("Location") != "" {
			t.Errorf("%s consent: %d %s", site, res.StatusCode, body)
		}
	}

	// Consent, as Chromium posts it from the page: a code, the state and
	// iss (RFC 9207).
	res, _ = h.consentFrom(page, "allow", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"})
	loc, _ = url.Parse(res.Header.Get("Location"))
	q := loc.Query()
	if res.StatusCode != 303 || !strings.HasPrefix(loc.String(), idpRedirect+"?") || q.Get("code") == "" ||
		q.Get("state") != "xyz" || q.Get("iss") != h.base {
		t.Fatalf("consent: %d %s", res.StatusCode, loc)
	}

	// The code for DPoP-bound tokens.
	status, tok := h.exchange(client, q.Get("code"), verifier, h.key)
	if status != 200 || tok.TokenType != "DPoP" || tok.AccessToken == "" || tok.IDToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token: %d %+v", status, tok)
	}
	// Kluis's own resource-side verification accepts the token.
	if got := h.resource(tok.AccessToken, h.key); got != 200 {
		t.Fatalf("resource with the access token: %d", got)
	}
	if got := h.resource(tok.AccessToken, h.newKey()); got != 401 {
		t.Errorf("resource with the token and another key: %d", got)
	}
	if got := h.resource("", nil); got != 401 {
		t.Errorf("resource without a token: %d", got)
	}

	// Refresh with the same key; the new token works too.
	status, next := h.refresh(client, tok.RefreshToken, h.key)
	if status != 200 || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %d %+v", status, next)
	}
	if got := h.resource(next.AccessToken, h.key); got != 200 {
		t.Fatalf("resource with the refreshed token: %d", got)
	}

	// Revocation ends the refresh token.
	res, _ = h.postForm(".oidc/revoke", url.Values{"token": {next.RefreshToken}, "client_id": {client}}, nil, "", "")
	if res.StatusCode != 200 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if status, tok := h.refresh(client, next.RefreshToken, h.key); status != 400 || tok.Error != "invalid_grant" {
		t.Fatalf("revoked refresh token: %d %+v", status, tok)
	}

	// RP-initiated logout with the ID token: back to the app, cookie gone.
	res, _ = h.get(h.base + ".oidc/session/end?" + url.Values{"id_token_hint": {tok.IDToken},
		"post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"s1"}}.Encode())
	if res.StatusCode != 302 || res.Header.Get("Location") != "http://localhost:8080/bye?state=s1" {
		t.Fatalf("logout: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	u, _ := url.Parse(h.base)
	if len(h.browser.Jar.Cookies(u)) != 0 {
		t.Error("the session cookie survived logout")
	}

	// Nothing secret reached the log.
	logs := h.logs.String()
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok.IDToken, next.RefreshToken, q.Get("code"), idpSession, verifier} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret: %.20s...", secret)
		}
	}
}

// TestIdPRS256IDToken: discovery lists RS256 among
// id_token_signing_alg_values_supported (OpenID Connect Discovery 1.0 §3:
// it "MUST include RS256"), and a client registered with
// id_token_signed_response_alg RS256 (OpenID Connect Dynamic Client
// Registration 1.0 §2) gets an ID token that go-oidc, through discovery and
// jwks_uri, verifies as RS256.
func TestIdPRS256IDToken(t *testing.T) {
	h := newIDPHarness(t)
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, h.base)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil || !slices.Contains(meta.Algs, "RS256") {
		t.Fatalf("id_token_signing_alg_values_supported %v (%v), want RS256 in it", meta.Algs, err)
	}
	client := h.register(`{"redirect_uris":["` + idpRedirect + `"],"token_endpoint_auth_method":"none",` +
		`"scope":"openid webid offline_access","id_token_signed_response_alg":"RS256"}`)
	verifier, challenge := idpPKCE()
	status, tok := h.exchange(client, h.code(client, challenge), verifier, h.key)
	if status != 200 || tok.IDToken == "" {
		t.Fatalf("token: %d %+v", status, tok)
	}
	id, err := provider.Verifier(&oidc.Config{ClientID: client, SupportedSigningAlgs: []string{oidc.RS256}}).Verify(ctx, tok.IDToken)
	if err != nil {
		t.Fatalf("go-oidc does not verify the ID token as RS256: %v", err)
	}
	if id.Issuer != h.base || id.Subject != h.webid || id.Nonce != "nonce-1" {
		t.Errorf("ID token iss %q sub %q nonce %q", id.Issuer, id.Subject, id.Nonce)
	}
	// The access token is still ES256, and Kluis's resource side takes it.
	if got := h.resource(tok.AccessToken, h.key); got != 200 {
		t.Errorf("resource with the access token: %d", got)
	}
}

// TestIdPRefusals: the negative cases over HTTP, each on a fresh code.
func TestIdPRefusals(t *testing.T) {
	h := newIDPHarness(t)
	client := h.register(`{"redirect_uris":["` + idpRedirect + `"],"token_endpoint_auth_method":"none"}`)
	verifier, challenge := idpPKCE()

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		status, tok := h.exchange(client, h.code(client, challenge), strings.Repeat("x", 43), h.key)
		if status != 400 || tok.Error != "invalid_grant" {
			t.Fatalf("%d %+v", status, tok)
		}
	})
	t.Run("reused code", func(t *testing.T) {
		code := h.code(client, challenge)
		status, first := h.exchange(client, code, verifier, h.key)
		if status != 200 {
			t.Fatalf("first use: %d", status)
		}
		if status, tok := h.exchange(client, code, verifier, h.key); status != 400 || tok.Error != "invalid_grant" {
			t.Fatalf("second use: %d %+v", status, tok)
		}
		if status, tok := h.refresh(client, first.RefreshToken, h.key); status != 400 || tok.Error != "invalid_grant" {
			t.Fatalf("refresh token of a reused code: %d %+v", status, tok)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code := h.code(client, challenge)
		h.clock.Advance(2 * time.Minute)
		defer h.clock.Advance(-2 * time.Minute)
		if status, tok := h.exchange(client, code, verifier, h.newKey()); status != 400 || tok.Error != "invalid_grant" {
			t.Fatalf("%d %+v", status, tok)
		}
	})
	t.Run("redirect_uri not registered", func(t *testing.T) {
		h.logIn()
		u := strings.Replace(h.authorizeURL(client, challenge), url.QueryEscape(idpRedirect), url.QueryEscape("http://localhost:9999/evil"), 1)
		res, body := h.get(u)
		if res.StatusCode != 400 || res.Header.Get("Location") != "" || !strings.Contains(body, "redirect_uri") {
			t.Fatalf("%d %q %s", res.StatusCode, res.Header.Get("Location"), body)
		}
	})
	t.Run("refresh token replayed after rotation", func(t *testing.T) {
		_, tok := h.exchange(client, h.code(client, challenge), verifier, h.key)
		status, next := h.refresh(client, tok.RefreshToken, h.key)
		if status != 200 {
			t.Fatalf("refresh: %d", status)
		}
		if status, got := h.refresh(client, tok.RefreshToken, h.key); status != 400 || got.Error != "invalid_grant" {
			t.Fatalf("replay: %d %+v", status, got)
		}
		if status, got := h.refresh(client, next.RefreshToken, h.key); status != 400 || got.Error != "invalid_grant" {
			t.Fatalf("the family survived the replay: %d %+v", status, got)
		}
	})
	t.Run("refresh after a password reset", func(t *testing.T) {
		_, tok := h.exchange(client, h.code(client, challenge), verifier, h.key)
		h.clock.Advance(time.Second)
		h.accounts.signOut(h.clock.Now())
		defer h.accounts.signOut(time.Time{})
		if status, got := h.refresh(client, tok.RefreshToken, h.key); status != 400 || got.Error != "invalid_grant" {
			t.Fatalf("refresh from a sign-in before the reset: %d %+v", status, got)
		}
		// A sign-in after the reset works.
		h.clock.Advance(time.Second)
		status, fresh := h.exchange(client, h.code(client, challenge), verifier, h.key)
		if status != 200 {
			t.Fatalf("exchange after the reset: %d %+v", status, fresh)
		}
		if status, got := h.refresh(client, fresh.RefreshToken, h.key); status != 200 {
			t.Fatalf("refresh from a sign-in after the reset: %d %+v", status, got)
		}
	})
	t.Run("DPoP key swap on refresh", func(t *testing.T) {
		_, tok := h.exchange(client, h.code(client, challenge), verifier, h.key)
		if status, got := h.refresh(client, tok.RefreshToken, h.newKey()); status != 400 || got.Error != "invalid_grant" {
			t.Fatalf("%d %+v", status, got)
		}
	})
	t.Run("missing DPoP proof", func(t *testing.T) {
		if status, got := h.exchange(client, h.code(client, challenge), verifier, nil); status != 400 || got.Error != "invalid_dpop_proof" {
			t.Fatalf("%d %+v", status, got)
		}
	})
	t.Run("client credentials", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}}
		res, body := h.postForm(".oidc/token", form, h.key, idpCredential, "wrong")
		if res.StatusCode != 401 || !strings.Contains(body, `"invalid_client"`) || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("wrong secret: %d %v %s", res.StatusCode, res.Header, body)
		}
		status, tok := h.tokenRequest(form, h.key, idpCredential, idpCredSecret)
		if status != 200 || tok.RefreshToken != "" {
			t.Fatalf("good secret: %d %+v", status, tok)
		}
		if got := h.resource(tok.AccessToken, h.key); got != 200 {
			t.Fatalf("resource with a client credentials token: %d", got)
		}
	})
	t.Run("Client Identifier Document", func(t *testing.T) {
		id := h.docs.URL + "/id"
		code := h.code(id, challenge)
		status, tok := h.exchange(id, code, verifier, h.key)
		if status != 200 {
			t.Fatalf("token for a document client: %d %+v", status, tok)
		}
		if got := h.resource(tok.AccessToken, h.key); got != 200 {
			t.Fatalf("resource with a document client's token: %d", got)
		}
	})
	t.Run("Client Identifier Document without the redirect_uri", func(t *testing.T) {
		h.logIn()
		res, body := h.get(h.authorizeURL(h.docs.URL+"/wrong-redirect", challenge))
		if res.StatusCode != 400 || res.Header.Get("Location") != "" || !strings.Contains(body, "redirect_uri") {
			t.Fatalf("%d %q %s", res.StatusCode, res.Header.Get("Location"), body)
		}
	})
	t.Run("deny", func(t *testing.T) {
		h.logIn()
		_, page := h.get(h.authorizeURL(client, challenge))
		res := h.consent(page, "deny")
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != 303 || loc.Query().Get("error") != "access_denied" || loc.Query().Get("iss") != h.base {
			t.Fatalf("%d %s", res.StatusCode, loc)
		}
	})
	t.Run("forged consent", func(t *testing.T) {
		h.logIn()
		_, page := h.get(h.authorizeURL(client, challenge))
		page = strings.Replace(page, `name="csrf" value="`, `name="csrf" value="x`, 1)
		if res := h.consent(page, "allow"); res.StatusCode != 403 {
			t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", h.base+".oidc/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		res, body := h.do(req)
		if res.StatusCode != 400 || !strings.Contains(body, `"invalid_request"`) {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
	})
	t.Run("CORS preflight of the token endpoint", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", h.base+".oidc/token", nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "dpop, content-type")
		res, _ := h.do(req)
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "dpop") {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
	})
	t.Run("no pod resources under the provider's paths", func(t *testing.T) {
		if res, _ := h.get(h.base + ".oidc/token"); res.StatusCode != 405 || res.Header.Get("Allow") != "OPTIONS, POST" {
			t.Fatalf("GET: %d %q", res.StatusCode, res.Header.Get("Allow"))
		}
		req, _ := http.NewRequest("PUT", h.base+".well-known/openid-configuration", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if res, _ := h.do(req); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Fatalf("PUT: %d %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
}

// TestMaintainSweeps: the server's housekeeping removes expired
// authorization codes of the identity provider, and stops with its
// context.
func TestMaintainSweeps(t *testing.T) {
	store := memory.New()
	ts, c := accountServer(t, store, nil)
	_ = c
	// A code record that expired long ago, as an abandoned authorization
	// leaves behind.
	if _, err := store.Put(context.Background(), "sys/idp/codes/abandoned", strings.NewReader(`{"expires":"2000-01-01T00:00:00Z"}`), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ts.srv.Maintain(ctx, time.Hour); close(done) }()
	deadline := time.After(10 * time.Second)
	for {
		if _, err := store.Stat(context.Background(), "sys/idp/codes/abandoned"); errors.Is(err, storage.ErrNotFound) {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the expired code was not swept")
		default:
			runtime.Gosched()
		}
	}
	cancel()
	<-done
}

// TestAccountsForIdPSignedOut: a password reset in webid/account reaches
// the identity provider as the account's SignedOutAt, which ends the
// grants of earlier sign-ins (TestIdPRefusals).
func TestAccountsForIdPSignedOut(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	accounts := account.New(memory.New(), account.Options{Argon2: fastArgon2(), Now: func() time.Time { return at }})
	a, err := accounts.Register(ctx, "s@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	seen := func() time.Time {
		t.Helper()
		got, err := kluisoidc.Accounts(accounts).Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.SignedOutAt
	}
	if s := seen(); !s.IsZero() {
		t.Fatalf("before any reset: %v", s)
	}
	r, err := accounts.NewReset(ctx, "s@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.ResetPassword(ctx, r.Token, "another long one", ""); err != nil {
		t.Fatal(err)
	}
	if s := seen(); !s.Equal(at) {
		t.Fatalf("after the reset: %v, want %v", s, at)
	}
}
