package idp_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid/idp"
	"github.com/weconomics/kluis/webid/webidtest"
)

func TestConfigValidate(t *testing.T) {
	_, err := idp.New(idp.Config{Issuer: "https://idp.example", CodeLifetime: -1})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"Issuer", "Store", "Accounts", "CodeLifetime"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}

func TestMetadata(t *testing.T) {
	f := newFixture(t, nil)
	m := f.p.Metadata()
	if m.Issuer != issuer || m.SolidOIDCSupported != "https://solidproject.org/TR/solid-oidc" ||
		!m.AuthorizationResponseIssParameterSupport || m.TokenEndpoint != issuer+".oidc/token" {
		t.Errorf("metadata %+v", m)
	}
	for _, s := range []string{"openid", "webid", "offline_access"} {
		if !slices.Contains(m.ScopesSupported, s) {
			t.Errorf("scope %s missing", s)
		}
	}
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		if !slices.Contains(m.GrantTypesSupported, g) {
			t.Errorf("grant %s missing", g)
		}
	}
	if !slices.Equal(m.CodeChallengeMethodsSupported, []string{"S256"}) || !slices.Equal(m.ResponseTypesSupported, []string{"code"}) {
		t.Errorf("PKCE or response types: %+v", m)
	}
}

// TestCodeFlow runs the flow without HTTP and checks the tokens' claims
// (Solid-OIDC §8.1, RFC 9449 §6).
func TestCodeFlow(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" || tok.RefreshToken == "" || tok.IDToken == "" || tok.ExpiresIn != 3600 {
		t.Errorf("token response %+v", tok)
	}
	at := f.claims(tok.AccessToken)
	want := map[string]any{"iss": issuer, "sub": webID, "webid": webID, "client_id": client, "azp": client,
		"scope": "openid webid offline_access"}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if aud, _ := at["aud"].([]any); len(aud) != 2 || aud[0] != "solid" || aud[1] != client {
		t.Errorf("access token aud %v", at["aud"])
	}
	if cnf, _ := at["cnf"].(map[string]any); cnf["jkt"] != key.Thumbprint() {
		t.Errorf("access token cnf %v", at["cnf"])
	}
	if at["jti"] == "" || at["exp"].(float64)-at["iat"].(float64) != 3600 {
		t.Errorf("access token jti/iat/exp %v", at)
	}
	id := f.claims(tok.IDToken)
	if id["nonce"] != "n-1" || id["webid"] != webID || id["azp"] != client {
		t.Errorf("id token %v", id)
	}
	if aud, _ := id["aud"].([]any); !slices.Contains(aud, any(client)) || !slices.Contains(aud, any("solid")) {
		t.Errorf("id token aud %v", id["aud"])
	}

	// Refresh with the same key rotates the token.
	next, err := f.refresh(client, tok.RefreshToken, key)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == "" {
		t.Errorf("refresh did not rotate: %+v", next)
	}
	if _, ok := f.claims(next.IDToken)["nonce"]; ok {
		t.Error("refreshed ID token has a nonce")
	}
}

// TestAuthorizeRequests: what the authorization endpoint answers to each
// kind of request (RFC 6749 §4.1.2.1: bad client or redirect_uri get a
// page, the rest a redirect with error, state and iss).
func TestAuthorizeRequests(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	_, challenge := pkce()
	tests := []struct {
		name      string
		change    func(url.Values)
		session   string
		wantPage  int    // status of a page; 0 for a redirect
		wantError string // error parameter of the redirect
		wantLogin bool
	}{
		{name: "consent page", session: session, wantPage: 200},
		{name: "not logged in", wantLogin: true},
		{name: "unknown session", session: "nope", wantLogin: true},
		{name: "prompt none, logged out", change: func(q url.Values) { q.Set("prompt", "none") }, wantError: "login_required"},
		{name: "prompt none, logged in", session: session, change: func(q url.Values) { q.Set("prompt", "none") }, wantError: "consent_required"},
		{name: "unknown client", change: func(q url.Values) { q.Set("client_id", "nope") }, wantPage: 400},
		{name: "no client", change: func(q url.Values) { q.Del("client_id") }, wantPage: 400},
		{name: "redirect_uri not registered", change: func(q url.Values) { q.Set("redirect_uri", "http://localhost:8080/other") }, wantPage: 400},
		{name: "no redirect_uri", change: func(q url.Values) { q.Del("redirect_uri") }, wantPage: 400},
		{name: "two client_ids", change: func(q url.Values) { q.Add("client_id", client) }, wantPage: 400},
		{name: "token response type", change: func(q url.Values) { q.Set("response_type", "token") }, wantError: "unsupported_response_type"},
		{name: "no openid scope", change: func(q url.Values) { q.Set("scope", "webid") }, wantError: "invalid_scope"},
		{name: "no PKCE", change: func(q url.Values) { q.Del("code_challenge") }, wantError: "invalid_request"},
		{name: "plain PKCE", change: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "PKCE method missing", change: func(q url.Values) { q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "request object", change: func(q url.Values) { q.Set("request", "x.y.z") }, wantError: "request_not_supported"},
		{name: "fragment response mode", change: func(q url.Values) { q.Set("response_mode", "fragment") }, wantError: "invalid_request"},
		{name: "two states", change: func(q url.Values) { q.Add("state", "again") }, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := authQuery(client, challenge)
			if tc.change != nil {
				tc.change(q)
			}
			res, err := f.p.Authorize(context.Background(), q, tc.session)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantPage != 0:
				if res.Redirect != "" || res.Status != tc.wantPage {
					t.Fatalf("got %d %q, want page %d", res.Status, res.Redirect, tc.wantPage)
				}
			case tc.wantLogin:
				if !strings.HasPrefix(res.Redirect, "/.account/login?return=%2F.oidc%2Fauth%3F") {
					t.Fatalf("redirect %q, want the login page", res.Redirect)
				}
			default:
				u, err := url.Parse(res.Redirect)
				if err != nil || !strings.HasPrefix(res.Redirect, redirect+"?") {
					t.Fatalf("redirect %q, want the client's", res.Redirect)
				}
				q := u.Query()
				if q.Get("error") != tc.wantError || q.Get("iss") != issuer || q.Get("code") != "" {
					t.Fatalf("redirect %q, want error %s with iss", res.Redirect, tc.wantError)
				}
				if tc.name != "two states" && q.Get("state") != "st-1" {
					t.Fatalf("redirect %q lost the state", res.Redirect)
				}
			}
		})
	}
}

// TestConsentNames: the consent page names the app by its registered
// name; a client without one that returns to this server's own origin is
// the data browser (mashlib registers no name); any other is "An
// application".
func TestConsentNames(t *testing.T) {
	f := newFixture(t, nil)
	_, challenge := pkce()
	own := issuer + "alice/"
	for _, c := range []struct {
		name, redirect, clientName, want string
	}{
		{"named", redirect, "Test app", "<strong>Test app</strong>"},
		{"unnamed, elsewhere", redirect, "", "<strong>An application</strong>"},
		{"unnamed, this server's page", own, "", "<strong>The data browser of this server</strong>"},
		{"named, this server's page", own, "Notes", "<strong>Notes</strong>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			meta := map[string]any{"redirect_uris": []string{c.redirect}, "token_endpoint_auth_method": "none"}
			if c.clientName != "" {
				meta["client_name"] = c.clientName
			}
			q := authQuery(f.register(meta).ClientID, challenge)
			q.Set("redirect_uri", c.redirect)
			res, err := f.p.Authorize(context.Background(), q, session)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 || !strings.Contains(string(res.Page), c.want) {
				t.Errorf("%d, page lacks %s:\n%s", res.Status, c.want, res.Page)
			}
		})
	}
}

// TestConsent: the consent form's decisions, WebID choice and CSRF.
func TestConsent(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	_, challenge := pkce()
	page, err := f.p.Authorize(context.Background(), authQuery(client, challenge), session)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Test app", client, "localhost:8080", webID, webID2, `value="allow"`, `value="deny"`} {
		if !strings.Contains(string(page.Page), s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	good := formOf(page.Page)
	tests := []struct {
		name       string
		change     func(url.Values)
		session    string
		wantStatus int
		wantParam  string // query parameter of the client redirect
	}{
		{name: "allow", change: func(v url.Values) { v.Set("decision", "allow"); v.Set("webid", webID2) }, wantParam: "code"},
		{name: "deny", change: func(v url.Values) { v.Set("decision", "deny") }, wantParam: "error"},
		{name: "no decision", change: func(v url.Values) {}, wantStatus: 400},
		{name: "foreign WebID", change: func(v url.Values) { v.Set("decision", "allow"); v.Set("webid", "https://mallory.example/#me") }, wantStatus: 400},
		{name: "no CSRF token", change: func(v url.Values) { v.Set("decision", "allow"); v.Set("webid", webID); v.Del("csrf") }, wantStatus: 403},
		{name: "CSRF token for another challenge", change: func(v url.Values) {
			v.Set("decision", "allow")
			v.Set("webid", webID)
			v.Set("code_challenge", strings.Repeat("A", 43))
		}, wantStatus: 403},
		{name: "CSRF token of another session", session: "other", change: func(v url.Values) { v.Set("decision", "allow") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = slices.Clone(v)
			}
			tc.change(form)
			sess := session
			if tc.session != "" {
				sess = tc.session
			}
			res, err := f.p.Consent(context.Background(), form, sess)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.session == "other":
				if !strings.HasPrefix(res.Redirect, "/.account/login") {
					t.Fatalf("got %+v, want the login page", res)
				}
			case tc.wantStatus != 0:
				if res.Status != tc.wantStatus || res.Redirect != "" {
					t.Fatalf("got %d %q, want %d", res.Status, res.Redirect, tc.wantStatus)
				}
			default:
				u, _ := url.Parse(res.Redirect)
				if u.Query().Get(tc.wantParam) == "" || u.Query().Get("iss") != issuer || u.Query().Get("state") != "st-1" {
					t.Fatalf("redirect %q, want %s, state and iss", res.Redirect, tc.wantParam)
				}
			}
		})
	}
	// The CSRF token expires.
	f.clock.Advance(2 * time.Hour)
	good.Set("decision", "allow")
	good.Set("webid", webID)
	if res, err := f.p.Consent(context.Background(), good, session); err != nil || res.Status != 403 {
		t.Errorf("expired CSRF token: %v %+v", err, res)
	}
}

// TestTokenRefusals: token requests that must fail, and with which error.
func TestTokenRefusals(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	ctx := context.Background()

	form := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"code_verifier": {verifier}, "client_id": {client}}
	}
	tests := []struct {
		name   string
		change func(v url.Values, r *idp.TokenRequest)
		want   string
	}{
		{name: "wrong PKCE verifier", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("code_verifier", strings.Repeat("w", 43)) }, want: "invalid_grant"},
		{name: "no PKCE verifier", change: func(v url.Values, _ *idp.TokenRequest) { v.Del("code_verifier") }, want: "invalid_grant"},
		{name: "other redirect_uri", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("redirect_uri", "http://localhost:8080/other") }, want: "invalid_grant"},
		{name: "unknown code", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("code", "nope") }, want: "invalid_grant"},
		{name: "no DPoP proof", change: func(_ url.Values, r *idp.TokenRequest) { r.DPoP = nil }, want: "invalid_dpop_proof"},
		{name: "two DPoP proofs", change: func(_ url.Values, r *idp.TokenRequest) { r.DPoP = append(r.DPoP, r.DPoP[0]) }, want: "invalid_dpop_proof"},
		{name: "proof for another URL", change: func(_ url.Values, r *idp.TokenRequest) { r.DPoP = []string{key.Proof("POST", issuer+"other", "")} }, want: "invalid_dpop_proof"},
		{name: "proof for GET", change: func(_ url.Values, r *idp.TokenRequest) { r.DPoP = []string{key.Proof("GET", tokenURL, "")} }, want: "invalid_dpop_proof"},
		{name: "old proof", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, IssuedAt: f.clock.Now().Add(-5 * time.Minute)})}
		}, want: "invalid_dpop_proof"},
		{name: "unsigned proof", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, Alg: "none"})}
		}, want: "invalid_dpop_proof"},
		{name: "HMAC proof", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, Alg: "HS256"})}
		}, want: "invalid_dpop_proof"},
		{name: "proof without typ", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, Typ: "-"})}
		}, want: "invalid_dpop_proof"},
		{name: "proof with private key", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, EmbedPrivateKey: true})}
		}, want: "invalid_dpop_proof"},
		{name: "proof signed by another key", change: func(_ url.Values, r *idp.TokenRequest) {
			r.DPoP = []string{key.ProofWith(webidtest.ProofOptions{Method: "POST", URL: tokenURL, JWK: f.dpop()})}
		}, want: "invalid_dpop_proof"},
		{name: "unknown client", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("client_id", "nope") }, want: "invalid_client"},
		{name: "public client with a secret", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("client_secret", "x") }, want: "invalid_client"},
		{name: "no grant type", change: func(v url.Values, _ *idp.TokenRequest) { v.Del("grant_type") }, want: "invalid_request"},
		{name: "password grant", change: func(v url.Values, _ *idp.TokenRequest) { v.Set("grant_type", "password") }, want: "unsupported_grant_type"},
		{name: "repeated parameter", change: func(v url.Values, _ *idp.TokenRequest) { v.Add("code", "x") }, want: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := f.code(authQuery(client, challenge))
			r := idp.TokenRequest{Form: form(code), DPoP: []string{key.Proof("POST", tokenURL, "")}}
			tc.change(r.Form, &r)
			_, err := f.p.Token(ctx, r)
			if got := oauthCode(err); got != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			// A refused request leaves the code usable.
			if tc.want != "invalid_client" && r.Form.Get("code") == code {
				if _, err := f.exchange(client, code, verifier, key); err != nil {
					t.Fatalf("the code is spent after a refused request: %v", err)
				}
			}
		})
	}

	t.Run("replayed proof", func(t *testing.T) {
		proof := key.Proof("POST", tokenURL, "")
		r := idp.TokenRequest{Form: form(f.code(authQuery(client, challenge))), DPoP: []string{proof}}
		if _, err := f.p.Token(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.Form = form(f.code(authQuery(client, challenge)))
		if _, err := f.p.Token(ctx, r); oauthCode(err) != "invalid_dpop_proof" {
			t.Fatalf("replayed proof: %v", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code := f.code(authQuery(client, challenge))
		f.clock.Advance(2 * time.Minute)
		if _, err := f.exchange(client, code, verifier, key); oauthCode(err) != "invalid_grant" {
			t.Fatalf("expired code: %v", err)
		}
	})
	t.Run("code of another client", func(t *testing.T) {
		other := f.publicClient()
		code := f.code(authQuery(client, challenge))
		if _, err := f.exchange(other, code, verifier, key); oauthCode(err) != "invalid_grant" {
			t.Fatalf("code of another client: %v", err)
		}
	})
	t.Run("dpop_jkt binds the code", func(t *testing.T) {
		q := authQuery(client, challenge)
		q.Set("dpop_jkt", key.Thumbprint())
		code := f.code(q)
		if _, err := f.exchange(client, code, verifier, f.dpop()); oauthCode(err) != "invalid_grant" {
			t.Fatalf("code bound to another key: %v", err)
		}
		if _, err := f.exchange(client, code, verifier, key); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCodeReuse: a code is used once; presented again it revokes the
// refresh tokens it was redeemed for (RFC 6749 §4.1.2).
func TestCodeReuse(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	code := f.code(authQuery(client, challenge))
	tok, err := f.exchange(client, code, verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(client, code, verifier, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("reused code: %v", err)
	}
	if _, err := f.refresh(client, tok.RefreshToken, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("refresh token of a reused code: %v", err)
	}
}

// TestCodeRace: of concurrent redemptions of one code, exactly one wins.
func TestCodeRace(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	code := f.code(authQuery(client, challenge))
	const n = 8
	keys := make([]*webidtest.Client, n)
	for i := range keys {
		keys[i] = f.dpop()
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = f.exchange(client, code, verifier, keys[i]) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if oauthCode(err) != "invalid_grant" {
			t.Errorf("loser's error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d redemptions won, want 1", won)
	}
}

// TestRefreshRotation: refresh tokens are one-time; a replayed one revokes
// the family; a public client's stay bound to its DPoP key.
func TestRefreshRotation(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.refresh(client, tok.RefreshToken, f.dpop()); oauthCode(err) != "invalid_grant" {
		t.Fatalf("refresh with another DPoP key: %v", err)
	}
	next, err := f.refresh(client, tok.RefreshToken, key)
	if err != nil {
		t.Fatalf("refresh after a refused key swap: %v", err)
	}
	if _, err := f.refresh(client, tok.RefreshToken, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("replayed refresh token: %v", err)
	}
	if _, err := f.refresh(client, next.RefreshToken, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("the family survived a replay: %v", err)
	}
	if _, err := f.refresh(client, "garbage", key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("garbage refresh token: %v", err)
	}

	t.Run("expiry", func(t *testing.T) {
		tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(idp.DefaultRefreshTokenLifetime)
		if _, err := f.refresh(client, tok.RefreshToken, key); oauthCode(err) != "invalid_grant" {
			t.Fatalf("expired refresh token: %v", err)
		}
	})
	t.Run("narrower scope", func(t *testing.T) {
		tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
		if err != nil {
			t.Fatal(err)
		}
		r := idp.TokenRequest{
			Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {client}, "scope": {"openid webid profile"}},
			DPoP: []string{key.Proof("POST", tokenURL, "")},
		}
		if _, err := f.p.Token(context.Background(), r); oauthCode(err) != "invalid_scope" {
			t.Fatalf("wider scope: %v", err)
		}
		r.Form.Set("scope", "openid webid")
		r.DPoP = []string{key.Proof("POST", tokenURL, "")}
		res, err := f.p.Token(context.Background(), r)
		if err != nil || res.Scope != "openid webid" {
			t.Fatalf("narrower scope: %v %+v", err, res)
		}
	})
	t.Run("WebID unlinked", func(t *testing.T) {
		tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
		if err != nil {
			t.Fatal(err)
		}
		f.accounts.mu.Lock()
		f.accounts.account.WebIDs = []string{webID2}
		f.accounts.mu.Unlock()
		defer func() {
			f.accounts.mu.Lock()
			f.accounts.account.WebIDs = []string{webID, webID2}
			f.accounts.mu.Unlock()
		}()
		if _, err := f.refresh(client, tok.RefreshToken, key); oauthCode(err) != "invalid_grant" {
			t.Fatalf("refresh for an unlinked WebID: %v", err)
		}
	})
}

// TestRefreshRace: of concurrent refreshes with one token, one wins and
// the family ends (the others look like replays).
func TestRefreshRace(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	res := make([]*idp.TokenResponse, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { res[i], errs[i] = f.refresh(client, tok.RefreshToken, key) })
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] == nil {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d refreshes won, want 1 (%v)", won, errs)
	}
}

// TestConfidentialClient: a registered client with a secret authenticates
// by Basic or by form; its refresh tokens are not bound to a DPoP key.
func TestConfidentialClient(t *testing.T) {
	f := newFixture(t, nil)
	reg := f.register(map[string]any{"redirect_uris": []string{redirect}, "client_name": "Server app"})
	if reg.ClientSecret == "" || reg.TokenEndpointAuthMethod != "client_secret_basic" || reg.ClientSecretExpiresAt == nil {
		t.Fatalf("registration %+v", reg)
	}
	verifier, challenge := pkce()
	key := f.dpop()
	ctx := context.Background()
	codeReq := func(code string) idp.TokenRequest {
		return idp.TokenRequest{
			Form: url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}},
			DPoP: []string{key.Proof("POST", tokenURL, "")},
		}
	}
	tests := []struct {
		name string
		auth func(r *idp.TokenRequest)
		want string
	}{
		{"basic", func(r *idp.TokenRequest) {
			r.HasBasic, r.BasicUser, r.BasicPassword = true, reg.ClientID, url.QueryEscape(reg.ClientSecret)
		}, ""},
		{"form", func(r *idp.TokenRequest) {
			r.Form.Set("client_id", reg.ClientID)
			r.Form.Set("client_secret", reg.ClientSecret)
		}, ""},
		{"wrong secret", func(r *idp.TokenRequest) { r.HasBasic, r.BasicUser, r.BasicPassword = true, reg.ClientID, "wrong" }, "invalid_client"},
		{"no secret", func(r *idp.TokenRequest) { r.Form.Set("client_id", reg.ClientID) }, "invalid_client"},
		{"both methods", func(r *idp.TokenRequest) {
			r.HasBasic, r.BasicUser, r.BasicPassword = true, reg.ClientID, reg.ClientSecret
			r.Form.Set("client_secret", reg.ClientSecret)
		}, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := codeReq(f.code(authQuery(reg.ClientID, challenge)))
			tc.auth(&r)
			res, err := f.p.Token(ctx, r)
			if oauthCode(err) != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want != "" {
				return
			}
			// Not bound to the key: another key may refresh.
			r = idp.TokenRequest{Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {res.RefreshToken},
				"client_id": {reg.ClientID}, "client_secret": {reg.ClientSecret}},
				DPoP: []string{f.dpop().Proof("POST", tokenURL, "")}}
			if _, err := f.p.Token(ctx, r); err != nil {
				t.Fatalf("confidential refresh with a new key: %v", err)
			}
		})
	}
}

// TestClientCredentials: a credential of an account trades its secret for
// a DPoP-bound access token naming the account's WebID (Solid-OIDC §10).
func TestClientCredentials(t *testing.T) {
	f := newFixture(t, nil)
	key := f.dpop()
	ctx := context.Background()
	tests := []struct {
		name string
		req  func() idp.TokenRequest
		want string
	}{
		{"basic", func() idp.TokenRequest {
			return idp.TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}}, HasBasic: true,
				BasicUser: "cred-1", BasicPassword: "s3cret", DPoP: []string{key.Proof("POST", tokenURL, "")}}
		}, ""},
		{"form", func() idp.TokenRequest {
			return idp.TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"cred-1"}, "client_secret": {"s3cret"}},
				DPoP: []string{key.Proof("POST", tokenURL, "")}}
		}, ""},
		{"wrong secret", func() idp.TokenRequest {
			return idp.TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}}, HasBasic: true,
				BasicUser: "cred-1", BasicPassword: "wrong", DPoP: []string{key.Proof("POST", tokenURL, "")}}
		}, "invalid_client"},
		{"unknown credential", func() idp.TokenRequest {
			return idp.TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}}, HasBasic: true,
				BasicUser: "cred-2", BasicPassword: "s3cret", DPoP: []string{key.Proof("POST", tokenURL, "")}}
		}, "invalid_client"},
		{"no DPoP proof", func() idp.TokenRequest {
			return idp.TokenRequest{Form: url.Values{"grant_type": {"client_credentials"}}, HasBasic: true,
				BasicUser: "cred-1", BasicPassword: "s3cret"}
		}, "invalid_dpop_proof"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.p.Token(ctx, tc.req())
			if oauthCode(err) != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want != "" {
				return
			}
			if res.RefreshToken != "" || res.IDToken != "" || res.TokenType != "DPoP" {
				t.Errorf("response %+v", res)
			}
			c := f.claims(res.AccessToken)
			if c["webid"] != webID || c["client_id"] != "cred-1" || c["cnf"].(map[string]any)["jkt"] != key.Thumbprint() {
				t.Errorf("claims %v", c)
			}
		})
	}
}

// TestRegistration: RFC 7591 metadata checks.
func TestRegistration(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"public", `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}`, ""},
		{"loopback http", `{"redirect_uris":["http://127.0.0.1:3000/cb","http://[::1]/cb","http://localhost/cb"]}`, ""},
		{"one string", `{"redirect_uris":"https://app.example/cb"}`, ""},
		{"no redirect_uris", `{"client_name":"x"}`, "invalid_redirect_uri"},
		{"http elsewhere", `{"redirect_uris":["http://app.example/cb"]}`, "invalid_redirect_uri"},
		{"fragment", `{"redirect_uris":["https://app.example/cb#x"]}`, "invalid_redirect_uri"},
		{"custom scheme", `{"redirect_uris":["com.example.app:/cb"]}`, "invalid_redirect_uri"},
		{"javascript", `{"redirect_uris":["javascript:alert(1)"]}`, "invalid_redirect_uri"},
		{"relative", `{"redirect_uris":["/cb"]}`, "invalid_redirect_uri"},
		{"implicit grant", `{"redirect_uris":["https://app.example/cb"],"grant_types":["implicit"]}`, "invalid_client_metadata"},
		{"client credentials grant", `{"redirect_uris":["https://app.example/cb"],"grant_types":["client_credentials"]}`, "invalid_client_metadata"},
		{"token response", `{"redirect_uris":["https://app.example/cb"],"response_types":["token"]}`, "invalid_client_metadata"},
		{"unknown auth method", `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata"},
		{"logo not a URL", `{"redirect_uris":["https://app.example/cb"],"logo_uri":"javascript:x"}`, "invalid_client_metadata"},
		{"client_id chosen", `{"redirect_uris":["https://app.example/cb"],"client_id":"mine"}`, "invalid_client_metadata"},
		{"not JSON", `redirect_uris=x`, "invalid_client_metadata"},
		{"bad post-logout URI", `{"redirect_uris":["https://app.example/cb"],"post_logout_redirect_uris":["http://app.example/"]}`, "invalid_client_metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.p.Register(context.Background(), []byte(tc.body), "192.0.2.1")
			if oauthCode(err) != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want == "" && (res.ClientID == "" || len(res.RedirectURIs) == 0) {
				t.Fatalf("response %+v", res)
			}
		})
	}
}

// TestClientIDDocument: a client_id that is an https URL is dereferenced;
// its redirect_uris and client_id are checked (Solid-OIDC §5.1).
func TestClientIDDocument(t *testing.T) {
	f := newFixture(t, nil)
	const id = "https://app.example/id"
	doc := func(clientID, redirectURI string) string {
		return `{"@context":["https://www.w3.org/ns/solid/oidc-context.jsonld"],"client_id":"` + clientID +
			`","client_name":"Doc app","logo_uri":"https://app.example/logo.png","redirect_uris":["` + redirectURI +
			`"],"post_logout_redirect_uris":["https://app.example/bye"],"grant_types":["authorization_code","refresh_token"],"scope":"openid webid offline_access"}`
	}
	_, challenge := pkce()
	tests := []struct {
		name     string
		clientID string
		doc      string
		wantPage int
	}{
		{"good", id, doc(id, redirect), 200},
		{"redirect_uri not in the document", id, doc(id, "https://app.example/cb"), 400},
		{"client_id differs", id, doc("https://evil.example/id", redirect), 400},
		{"http client_id", "http://app.example/id", doc("http://app.example/id", redirect), 400},
		{"unreachable", "https://app.example/missing", "", 400},
		{"not JSON", id, "<html>", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(f.docs)
			if tc.doc != "" {
				f.docs[tc.clientID] = tc.doc
			}
			res, err := f.p.Authorize(context.Background(), authQuery(tc.clientID, challenge), session)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantPage || res.Redirect != "" {
				t.Fatalf("got %d %q, want page %d", res.Status, res.Redirect, tc.wantPage)
			}
			if tc.wantPage == 200 {
				page := string(res.Page)
				if !strings.Contains(page, "Doc app") || !strings.Contains(page, `<img src="https://app.example/logo.png"`) ||
					strings.Contains(page, "registered itself") {
					t.Errorf("consent page for a document client:\n%s", page)
				}
			}
		})
	}
	t.Run("full flow", func(t *testing.T) {
		f.docs[id] = doc(id, redirect)
		verifier, challenge := pkce()
		key := f.dpop()
		tok, err := f.exchange(id, f.code(authQuery(id, challenge)), verifier, key)
		if err != nil {
			t.Fatal(err)
		}
		if c := f.claims(tok.AccessToken); c["client_id"] != id || c["azp"] != id {
			t.Errorf("claims %v", c)
		}
	})
	t.Run("http logo not shown", func(t *testing.T) {
		f.docs[id] = strings.Replace(doc(id, redirect), "https://app.example/logo.png", "http://app.example/logo.png", 1)
		res, err := f.p.Authorize(context.Background(), authQuery(id, challenge), session)
		if err != nil || res.Status != 200 {
			t.Fatal(err, res)
		}
		if strings.Contains(string(res.Page), "<img") {
			t.Error("an http logo is shown")
		}
	})
}

// TestRevoke: RFC 7009 revocation of a refresh token by its client.
func TestRevoke(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Another client's revocation does nothing, and says nothing.
	other := f.publicClient()
	if err := f.p.Revoke(ctx, idp.TokenRequest{Form: url.Values{"token": {tok.RefreshToken}, "client_id": {other}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Revoke(ctx, idp.TokenRequest{Form: url.Values{"token": {"unknown"}, "client_id": {client}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Revoke(ctx, idp.TokenRequest{Form: url.Values{"token": {tok.AccessToken}, "client_id": {client}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Revoke(ctx, idp.TokenRequest{Form: url.Values{"token": {tok.RefreshToken}, "client_id": {"nope"}}}); oauthCode(err) != "invalid_client" {
		t.Fatalf("unknown client: %v", err)
	}
	next, err := f.refresh(client, tok.RefreshToken, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Revoke(ctx, idp.TokenRequest{Form: url.Values{"token": {next.RefreshToken}, "client_id": {client}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.refresh(client, next.RefreshToken, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("revoked refresh token: %v", err)
	}
}

// TestEndSession: RP-initiated logout with post_logout_redirect_uri
// validated against the client.
func TestEndSession(t *testing.T) {
	f := newFixture(t, nil)
	reg := f.register(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none",
		"post_logout_redirect_uris": []string{"http://localhost:8080/bye"}})
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(reg.ClientID, f.code(authQuery(reg.ClientID, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name         string
		params       url.Values
		wantRedirect string
		wantStatus   int
		wantEnded    bool
	}{
		{"hint and registered URI", url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"http://localhost:8080/bye"}, "state": {"s"}},
			"http://localhost:8080/bye?state=s", 0, true},
		{"unregistered URI", url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}, "", 400, false},
		{"URI without a client", url.Values{"post_logout_redirect_uri": {"http://localhost:8080/bye"}}, "", 400, false},
		{"no hint: confirm first", url.Values{"client_id": {reg.ClientID}, "post_logout_redirect_uri": {"http://localhost:8080/bye"}}, "", 200, false},
		{"forged hint: confirm first", url.Values{"id_token_hint": {"a.b.c"}}, "", 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.p.EndSession(ctx, tc.params, session, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Redirect != tc.wantRedirect || (tc.wantStatus != 0 && res.Status != tc.wantStatus) || res.EndSession != tc.wantEnded {
				t.Fatalf("got %+v", res)
			}
		})
	}
	// The confirmation form logs out.
	res, err := f.p.EndSession(ctx, url.Values{"client_id": {reg.ClientID}, "post_logout_redirect_uri": {"http://localhost:8080/bye"}}, session, false)
	if err != nil {
		t.Fatal(err)
	}
	form := formOf(res.Page)
	res, err = f.p.EndSession(ctx, form, session, true)
	if err != nil || res.Redirect != "http://localhost:8080/bye" || !res.EndSession {
		t.Fatalf("confirmed logout: %v %+v", err, res)
	}
	form.Set("csrf", "forged")
	if res, err = f.p.EndSession(ctx, form, session, true); err != nil || res.EndSession {
		t.Fatalf("forged logout form: %v %+v", err, res)
	}
	f.accounts.mu.Lock()
	ended := len(f.accounts.ended)
	f.accounts.mu.Unlock()
	if ended != 2 {
		t.Errorf("%d sessions ended, want 2", ended)
	}
	// Without a way back to an app, the person is told, and shown the way
	// to log in again.
	if res, err = f.p.EndSession(ctx, url.Values{}, session, false); err != nil {
		t.Fatal(err)
	}
	res, err = f.p.EndSession(ctx, formOf(res.Page), session, true)
	if err != nil || res.Redirect != "" || !res.EndSession ||
		!strings.Contains(string(res.Page), "Signed out") || !strings.Contains(string(res.Page), `<a href="/.account/login/">Log in again</a>`) {
		t.Fatalf("logout without a way back: %v %+v\n%s", err, res, res.Page)
	}
}

// TestSweep: expired codes and refresh-token families are deleted, live
// ones kept.
func TestSweep(t *testing.T) {
	f := newFixture(t, nil)
	client := f.publicClient()
	verifier, challenge := pkce()
	key := f.dpop()
	ctx := context.Background()
	old := f.code(authQuery(client, challenge)) // expires unused
	tok, err := f.exchange(client, f.code(authQuery(client, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.p.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep of live records: %d, %v", n, err)
	}
	f.clock.Advance(2 * time.Hour)
	if n, err := f.p.Sweep(ctx); err != nil || n != 2 {
		t.Fatalf("sweep of two expired codes: %d, %v", n, err)
	}
	if _, err := f.exchange(client, old, verifier, key); oauthCode(err) != "invalid_grant" {
		t.Fatalf("swept code: %v", err)
	}
	if _, err := f.refresh(client, tok.RefreshToken, key); err != nil {
		t.Fatalf("a live refresh token was swept: %v", err)
	}
	f.clock.Advance(idp.DefaultRefreshTokenLifetime)
	if n, err := f.p.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep of an expired family: %d, %v", n, err)
	}
}
