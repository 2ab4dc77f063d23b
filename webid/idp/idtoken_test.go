package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/webid/idp"
)

// jwksServer serves the provider's published key set, as jwks_uri does.
func (f *fixture) jwksServer() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, err := f.p.Keys(r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	f.t.Cleanup(srv.Close)
	return srv
}

// headerAlg is the alg of a compact JWS's protected header.
func headerAlg(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	return jws.Signatures[0].Header.Algorithm
}

// TestIDTokenRS256: OpenID Connect Discovery 1.0 §3 says
// id_token_signing_alg_values_supported "MUST include RS256", and a client
// that registers id_token_signed_response_alg RS256 (OpenID Connect
// Dynamic Client Registration 1.0 §2) gets ID tokens signed so, which an
// ordinary OpenID Connect library verifies against the published key set.
// Access tokens stay ES256, and clients that name no alg keep ES256.
func TestIDTokenRS256(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if algs := f.p.Metadata().IDTokenSigningAlgValuesSupported; !slices.Contains(algs, "RS256") || !slices.Contains(algs, "ES256") {
		t.Errorf("id_token_signing_alg_values_supported %v, want RS256 and ES256", algs)
	}
	const bye = "http://localhost:8080/bye"
	reg := f.register(map[string]any{
		"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none", "scope": "openid webid offline_access",
		"post_logout_redirect_uris": []string{bye}, "id_token_signed_response_alg": "RS256",
	})
	if reg.IDTokenSignedResponseAlg != "RS256" {
		t.Errorf("registration answers id_token_signed_response_alg %q, want RS256", reg.IDTokenSignedResponseAlg)
	}
	verifier := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, f.jwksServer().URL), &oidc.Config{
		ClientID: reg.ClientID, SupportedSigningAlgs: []string{oidc.RS256}, Now: f.clock.Now,
	})
	pkceVerifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(reg.ClientID, f.code(authQuery(reg.ClientID, challenge)), pkceVerifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if alg := headerAlg(t, tok.IDToken); alg != "RS256" {
		t.Fatalf("ID token alg %s, want RS256", alg)
	}
	id, err := verifier.Verify(ctx, tok.IDToken)
	if err != nil {
		t.Fatalf("go-oidc does not verify the RS256 ID token: %v", err)
	}
	var claims struct {
		WebID string `json:"webid"`
	}
	if err := id.Claims(&claims); err != nil || id.Nonce != "n-1" || id.Subject != webID || claims.WebID != webID {
		t.Errorf("ID token nonce %q, sub %q, webid %q (%v)", id.Nonce, id.Subject, claims.WebID, err)
	}
	// OpenID Connect Core §3.1.3.6: at_hash with the ID token's hash.
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if alg := headerAlg(t, tok.AccessToken); alg != "ES256" {
		t.Errorf("access token alg %s, want ES256", alg)
	}
	if c := f.claims(tok.AccessToken); c["webid"] != webID {
		t.Errorf("access token claims %v", c)
	}

	// A refresh keeps the client's algorithm.
	next, err := f.refresh(reg.ClientID, tok.RefreshToken, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(ctx, next.IDToken); err != nil {
		t.Errorf("refreshed ID token: %v", err)
	}

	// The provider reads its own RS256 ID token as an id_token_hint.
	res, err := f.p.EndSession(ctx, url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {bye}}, session, false)
	if err != nil || res.Redirect != bye || !res.EndSession {
		t.Errorf("logout with an RS256 id_token_hint: %v %+v", err, res)
	}

	// A Client Identifier Document may ask for RS256 too.
	const doc = "https://app.example/rs256"
	f.docs[doc] = `{"client_id":"` + doc + `","redirect_uris":["` + redirect + `"],"id_token_signed_response_alg":"RS256"}`
	tok, err = f.exchange(doc, f.code(authQuery(doc, challenge)), pkceVerifier, key)
	if err != nil {
		t.Fatal(err)
	}
	docVerifier := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, f.jwksServer().URL), &oidc.Config{
		ClientID: doc, SupportedSigningAlgs: []string{oidc.RS256}, Now: f.clock.Now,
	})
	if _, err := docVerifier.Verify(ctx, tok.IDToken); err != nil {
		t.Errorf("document client's ID token: %v", err)
	}

	// A client that names no alg keeps ES256, and is told so.
	plain := f.register(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none"})
	if plain.IDTokenSignedResponseAlg != "ES256" {
		t.Errorf("default id_token_signed_response_alg %q, want ES256", plain.IDTokenSignedResponseAlg)
	}
	tok, err = f.exchange(plain.ClientID, f.code(authQuery(plain.ClientID, challenge)), pkceVerifier, key)
	if err != nil {
		t.Fatal(err)
	}
	if alg := headerAlg(t, tok.IDToken); alg != "ES256" {
		t.Errorf("default ID token alg %s, want ES256", alg)
	}

	// Only the algorithms the provider signs with can be registered.
	for _, alg := range []string{"none", "HS256", "PS256", "rs256"} {
		body := `{"redirect_uris":["https://app.example/cb"],"id_token_signed_response_alg":"` + alg + `"}`
		_, err := f.p.Register(ctx, []byte(body), "192.0.2.1")
		if code := oauthCode(err); code != idp.CodeInvalidClientMetadata || !strings.Contains(err.Error(), "id_token_signed_response_alg") {
			t.Errorf("id_token_signed_response_alg %q: %v, want invalid_client_metadata", alg, err)
		}
	}
}
