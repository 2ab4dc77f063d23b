package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Bounds of authorization request parameters.
const (
	maxState = 2048
	maxNonce = 512
)

// csrfLifetime is how long a consent or logout form may be submitted.
const csrfLifetime = time.Hour

// authParams are the authorization request parameters carried from the
// request to the consent form and back (RFC 6749 §4.1.1, RFC 7636 §4.3,
// OpenID Connect Core §3.1.2.1, RFC 9449 §10).
func authParams() []string {
	return []string{
		"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "dpop_jkt", "prompt",
	}
}

// authRequest is an authorization request that holds.
type authRequest struct {
	client      *client
	redirectURI string
	state       string
	nonce       string
	scope       []string
	challenge   string
	dpopJKT     string
	promptNone  bool
	params      url.Values // the authParams, for the consent form
}

// codeRecord is an authorization code as stored, under the hash of the
// code. Used is set, by a conditional write, when it is redeemed.
type codeRecord struct {
	ClientID    string    `json:"client_id"`
	RedirectURI string    `json:"redirect_uri"`
	Challenge   string    `json:"code_challenge"`
	DPoPJKT     string    `json:"dpop_jkt,omitempty"`
	Scope       []string  `json:"scope"`
	Nonce       string    `json:"nonce,omitempty"`
	WebID       string    `json:"webid"`
	AccountID   string    `json:"account_id"`
	AuthTime    time.Time `json:"auth_time"`
	Expires     time.Time `json:"expires"`
	Used        bool      `json:"used"`
	// Family is the refresh-token family of the tokens the code was
	// redeemed for, revoked if the code is presented again (RFC 6749
	// §4.1.2).
	Family string `json:"family,omitempty"`
}

// Authorize answers the authorization endpoint (GET): query is the
// request's query and session the account session cookie's value ("" when
// none). The answer is a redirect to the login page when no one is logged
// in, the consent page when someone is, or a redirect to the client with
// an error; an unknown client or redirect_uri gets an error page, never a
// redirect.
func (p *Provider) Authorize(ctx context.Context, query url.Values, session string) (*Response, error) {
	req, resp, err := p.parseAuthRequest(ctx, query)
	if req == nil {
		return resp, err
	}
	acct, ok := p.sessionAccount(ctx, session)
	if !ok {
		if req.promptNone {
			return p.redirectError(req, CodeLoginRequired, "no one is logged in"), nil
		}
		return &Response{Redirect: p.loginURL(req.params)}, nil
	}
	if req.promptNone {
		// Consent is asked every time; none can be given silently.
		return p.redirectError(req, CodeConsentRequired, "the user must consent"), nil
	}
	if len(acct.WebIDs) == 0 {
		return p.message(http.StatusForbidden, "No WebID", "Your account has no WebID to sign in with. Create a pod or link a WebID first.")
	}
	token, err := p.csrfToken(ctx, "consent", session, req.csrfBinding())
	if err != nil {
		return nil, err
	}
	hidden := map[string]string{"csrf": token}
	for k := range req.params {
		hidden[k] = req.params.Get(k)
	}
	ru, _ := url.Parse(req.redirectURI)
	iss, _ := url.Parse(p.issuer)
	return p.render(http.StatusOK, "consent", consentPage{
		Name:         req.client.Name,
		OwnPage:      iss != nil && ru.Scheme == iss.Scheme && ru.Host == iss.Host,
		Logo:         httpsLogo(req.client.LogoURI),
		ClientID:     req.client.ID,
		RedirectHost: ru.Host,
		Action:       p.endpoint.authorize,
		Verified:     req.client.document,
		Offline:      slices.Contains(req.scope, ScopeOfflineAccess),
		WebIDs:       acct.WebIDs,
		Hidden:       hidden,
	})
}

// Consent answers the consent form (POST to the authorization endpoint):
// form is the posted form, session the account session cookie's value.
// Allow redirects to the client with a code, state and iss (RFC 9207);
// Deny with access_denied.
func (p *Provider) Consent(ctx context.Context, form url.Values, session string) (*Response, error) {
	q := url.Values{}
	for _, k := range authParams() {
		if v, ok := form[k]; ok {
			q[k] = v
		}
	}
	req, resp, err := p.parseAuthRequest(ctx, q)
	if req == nil {
		return resp, err
	}
	acct, ok := p.sessionAccount(ctx, session)
	if !ok {
		return &Response{Redirect: p.loginURL(req.params)}, nil
	}
	if ok, err := p.checkCSRF(ctx, form.Get("csrf"), "consent", session, req.csrfBinding()); err != nil {
		return nil, err
	} else if !ok {
		return p.message(http.StatusForbidden, "This form has expired", "Go back to the app and sign in again.")
	}
	switch form.Get("decision") {
	case "allow":
	case "deny":
		return p.redirectError(req, CodeAccessDenied, "the user denied the request"), nil
	default:
		return p.message(http.StatusBadRequest, "No decision", "Choose Allow or Deny.")
	}
	webid := form.Get("webid")
	if !slices.Contains(acct.WebIDs, webid) {
		return p.message(http.StatusBadRequest, "Unknown WebID", "Choose one of your account's WebIDs.")
	}
	now := p.cfg.Now()
	code := randomToken(32)
	rec := codeRecord{
		ClientID: req.client.ID, RedirectURI: req.redirectURI, Challenge: req.challenge,
		DPoPJKT: req.dpopJKT, Scope: req.scope, Nonce: req.nonce, WebID: webid, AccountID: acct.ID,
		AuthTime: now.UTC(), Expires: now.Add(p.cfg.CodeLifetime).UTC(),
	}
	if err := p.indexExpiring(ctx, markerCode+hashKey(code), rec.Expires); err != nil {
		return nil, err
	}
	if _, err := putJSON(ctx, p.cfg.Store, prefixCodes+hashKey(code), rec, storage.PutOptions{IfNoneMatch: true}); err != nil {
		return nil, fmt.Errorf("idp: storing code: %w", err)
	}
	return &Response{Redirect: p.clientRedirect(req.redirectURI, url.Values{"code": {code}}, req.state)}, nil
}

// parseAuthRequest checks an authorization request. It returns the
// request when it holds; otherwise the Response to give (an error page
// for a bad client or redirect_uri, a redirect with the error for the
// rest), or an error of storage.
func (p *Provider) parseAuthRequest(ctx context.Context, q url.Values) (*authRequest, *Response, error) {
	page := func(e *Error) (*authRequest, *Response, error) {
		r, err := p.errorPage(e)
		return nil, r, err
	}
	// RFC 6749 §3.1: no parameter more than once.
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return page(oauthErr(CodeInvalidRequest, k+" is given more than once"))
		}
	}
	c, err := p.lookupClient(ctx, q.Get("client_id"))
	if oe, ok := errors.AsType[*Error](err); ok {
		return page(oe)
	} else if err != nil {
		return nil, nil, err
	}
	redirect := q.Get("redirect_uri")
	// OpenID Connect Core §3.1.2.1: redirect_uri is required and matches
	// a registered one exactly; Solid-OIDC §5.1: one of the Client ID
	// Document's redirect_uris.
	if redirect == "" {
		return page(oauthErr(CodeInvalidRequest, "redirect_uri is required"))
	}
	if !slices.Contains(c.RedirectURIs, redirect) {
		return page(oauthErr(CodeInvalidRequest, "redirect_uri is not one of the client's redirect_uris"))
	}
	req := &authRequest{client: c, redirectURI: redirect, params: url.Values{}}
	for _, k := range authParams() {
		if v, ok := q[k]; ok {
			req.params[k] = v
		}
	}
	req.state = q.Get("state")
	fail := func(code, desc string) (*authRequest, *Response, error) {
		return nil, p.redirectError(req, code, desc), nil
	}
	for _, k := range authParams() {
		if len(q[k]) > 1 {
			return fail(CodeInvalidRequest, k+" is given more than once")
		}
	}
	if len(req.state) > maxState {
		req.state = ""
		return fail(CodeInvalidRequest, "state is too long")
	}
	if q.Has("request") {
		return fail(CodeRequestNotSupported, "request objects are not supported")
	}
	if q.Has("request_uri") {
		return fail(CodeRequestURINotSupported, "request_uri is not supported")
	}
	if q.Get("response_type") != "code" || !slices.Contains(c.ResponseTypes, "code") {
		return fail(CodeUnsupportedResponseType, "response_type must be code")
	}
	if !c.allows(GrantAuthorizationCode) {
		return fail(CodeUnauthorizedClient, "the client may not use the authorization code grant")
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return fail(CodeInvalidRequest, "response_mode must be query")
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, ScopeOpenID) {
		return fail(CodeInvalidScope, "scope must include openid")
	}
	// RFC 6749 §3.3: unknown scopes are left out of the grant.
	for _, s := range []string{ScopeOpenID, ScopeWebID, ScopeOfflineAccess} {
		if slices.Contains(scopes, s) {
			req.scope = append(req.scope, s)
		}
	}
	// Solid-OIDC §4 assumes PKCE; S256 is the only method (RFC 7636 §4.2,
	// §7.2: plain only for clients that cannot hash).
	req.challenge = q.Get("code_challenge")
	if req.challenge == "" {
		return fail(CodeInvalidRequest, "code_challenge is required (PKCE)")
	}
	if q.Get("code_challenge_method") != "S256" {
		return fail(CodeInvalidRequest, "code_challenge_method must be S256")
	}
	if len(req.challenge) != 43 || !isTokenChars(req.challenge) {
		return fail(CodeInvalidRequest, "code_challenge is not a base64url SHA-256 hash")
	}
	req.nonce = q.Get("nonce")
	if len(req.nonce) > maxNonce {
		return fail(CodeInvalidRequest, "nonce is too long")
	}
	if jkt := q.Get("dpop_jkt"); jkt != "" {
		if len(jkt) != 43 || !isTokenChars(jkt) {
			return fail(CodeInvalidRequest, "dpop_jkt is not a JWK SHA-256 thumbprint")
		}
		req.dpopJKT = jkt
	}
	prompts := strings.Fields(q.Get("prompt"))
	if slices.Contains(prompts, "none") {
		if len(prompts) > 1 {
			return fail(CodeInvalidRequest, "prompt none cannot be combined")
		}
		req.promptNone = true
	}
	return req, nil, nil
}

// csrfBinding is what a consent form's CSRF token is bound to, besides
// the session: the client, where the code goes and the PKCE challenge.
func (r *authRequest) csrfBinding() string {
	return r.client.ID + "\x00" + r.redirectURI + "\x00" + r.challenge
}

// sessionAccount returns the account logged in with the session token.
func (p *Provider) sessionAccount(ctx context.Context, session string) (Account, bool) {
	if session == "" {
		return Account{}, false
	}
	acct, err := p.cfg.Accounts.SessionAccount(ctx, session)
	if err != nil {
		if !errors.Is(err, ErrNotLoggedIn) {
			p.logger.WarnContext(ctx, "idp: session lookup failed; treated as logged out", "error", err)
		}
		return Account{}, false
	}
	return acct, true
}

// loginURL is the login page, to come back to the authorization request
// afterwards (a path on this server, never another origin's).
func (p *Provider) loginURL(params url.Values) string {
	back := "/" + PathAuthorize + "?" + params.Encode()
	return p.cfg.LoginPath + "?" + url.Values{"return": {back}}.Encode()
}

// redirectError sends an error to the client's redirect URI (RFC 6749
// §4.1.2.1), with state and iss (RFC 9207 §2).
func (p *Provider) redirectError(req *authRequest, code, desc string) *Response {
	return &Response{Redirect: p.clientRedirect(req.redirectURI,
		url.Values{"error": {code}, "error_description": {desc}}, req.state)}
}

// clientRedirect adds params, state and iss to the redirect URI's query,
// keeping what it already has (RFC 6749 §3.1.2).
func (p *Provider) clientRedirect(redirectURI string, params url.Values, state string) string {
	u, _ := url.Parse(redirectURI) // checked at registration
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	// RFC 9207 §2, Solid-OIDC §7: the issuer identifier, on success and
	// error alike.
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// csrfToken makes a token for a form of kind, bound to the session and to
// binding, valid for csrfLifetime: the expiry and an HMAC over all of them
// with the provider's secret. It needs no storage per form, so any process
// can check it.
func (p *Provider) csrfToken(ctx context.Context, kind, session, binding string) (string, error) {
	key, err := p.secret.get(ctx)
	if err != nil {
		return "", err
	}
	exp := p.cfg.Now().Add(csrfLifetime).Unix()
	b := binary.BigEndian.AppendUint64(nil, uint64(exp))
	b = append(b, csrfMAC(key, kind, session, binding, exp)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// checkCSRF reports whether token is a live token for the form.
func (p *Provider) checkCSRF(ctx context.Context, token, kind, session, binding string) (bool, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return false, nil
	}
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	if p.cfg.Now().Unix() >= exp {
		return false, nil
	}
	key, err := p.secret.get(ctx)
	if err != nil {
		return false, err
	}
	return hmac.Equal(raw[8:], csrfMAC(key, kind, session, binding, exp)), nil
}

func csrfMAC(key []byte, kind, session, binding string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	sess := sha256.Sum256([]byte(session))
	fmt.Fprintf(m, "%s\x00%x\x00%d\x00%s", kind, sess, exp, binding)
	return m.Sum(nil)
}
