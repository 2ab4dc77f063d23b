package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// EndSession answers the end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2, §3): params are the query (GET) or form (POST), session
// the account session cookie's value, and post whether the request is the
// confirmation form.
//
// post_logout_redirect_uri is followed only when it is one of the client's
// post_logout_redirect_uris, the client being named by client_id or by
// the id_token_hint. The user is logged out at once when the
// id_token_hint is an ID token this provider issued to one of their
// WebIDs; otherwise they confirm on a page whose form carries a CSRF
// token, so that no other site can log them out.
func (p *Provider) EndSession(ctx context.Context, params url.Values, session string, post bool) (*Response, error) {
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(params[k]) > 1 {
			return p.errorPage(oauthErr(CodeInvalidRequest, k+" is given more than once"))
		}
	}
	// A hint that does not verify (signed with a key retired since, or
	// not ours) is left aside: the user confirms instead.
	var hint *idClaims
	if h := params.Get("id_token_hint"); h != "" {
		if payload, err := p.verifyOwn(ctx, h); err == nil {
			var c idClaims
			if json.Unmarshal(payload, &c) == nil && c.Iss == p.issuer && c.Azp != "" {
				hint = &c
			}
		}
	}
	clientID := params.Get("client_id")
	if hint != nil {
		if clientID != "" && clientID != hint.Azp {
			return p.errorPage(oauthErr(CodeInvalidRequest, "client_id differs from the id_token_hint's"))
		}
		clientID = hint.Azp
	}
	target := params.Get("post_logout_redirect_uri")
	if target != "" {
		if clientID == "" {
			return p.errorPage(oauthErr(CodeInvalidRequest, "post_logout_redirect_uri needs client_id or id_token_hint"))
		}
		c, err := p.lookupClient(ctx, clientID)
		if oe, ok := errors.AsType[*Error](err); ok {
			return p.errorPage(oe)
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(c.PostLogoutRedirectURIs, target) {
			return p.errorPage(oauthErr(CodeInvalidRequest, "post_logout_redirect_uri is not one of the client's post_logout_redirect_uris"))
		}
		u, _ := url.Parse(target)
		q := u.Query()
		if s := params.Get("state"); s != "" && len(s) <= maxState {
			q.Set("state", s)
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	done := func() (*Response, error) {
		if target != "" {
			return &Response{Redirect: target, EndSession: true}, nil
		}
		r, err := p.render(http.StatusOK, "message", messagePage{Title: "Signed out",
			Text: "You are signed out of " + p.cfg.Issuer + ".",
			Link: strings.TrimSuffix(p.cfg.LoginPath, "/") + "/", LinkText: "Log in again"})
		if r != nil {
			r.EndSession = true
		}
		return r, err
	}

	acct, loggedIn := p.sessionAccount(ctx, session)
	if !loggedIn {
		return done()
	}
	binding := clientID + "\x00" + target
	confirmed := false
	switch {
	case post:
		ok, err := p.checkCSRF(ctx, params.Get("csrf"), "logout", session, binding)
		if err != nil {
			return nil, err
		}
		confirmed = ok
	case hint != nil:
		confirmed = slices.Contains(acct.WebIDs, hint.WebID)
	}
	if confirmed {
		if ender, ok := p.cfg.Accounts.(SessionEnder); ok {
			if err := ender.EndSession(ctx, session); err != nil {
				return nil, err
			}
		}
		return done()
	}
	token, err := p.csrfToken(ctx, "logout", session, binding)
	if err != nil {
		return nil, err
	}
	hidden := map[string]string{"csrf": token}
	for _, k := range []string{"client_id", "post_logout_redirect_uri", "state"} {
		if v := params.Get(k); v != "" {
			hidden[k] = v
		}
	}
	if clientID != "" {
		hidden["client_id"] = clientID
	}
	return p.render(http.StatusOK, "logout", logoutPage{Issuer: p.issuer, Action: p.endpoint.endSession, Hidden: hidden})
}
