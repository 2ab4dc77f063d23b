package webidtest_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/webid/webidtest"
)

// TestIssuerWithGoOIDC checks the test issuer against go-oidc on its own:
// discovery, key set, tokens, rotation.
func TestIssuerWithGoOIDC(t *testing.T) {
	iss := webidtest.NewIssuer(t)
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, iss.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Verifier(&oidc.Config{ClientID: "solid", SupportedSigningAlgs: []string{"ES256"}})
	for i := range 2 {
		tok := iss.Token(webidtest.TokenOptions{WebID: "https://alice.example/#me", ClientID: "https://app.example/id", JKT: "x"})
		idt, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		var c struct {
			WebID string `json:"webid"`
			Cnf   struct {
				JKT string `json:"jkt"`
			} `json:"cnf"`
		}
		if err := idt.Claims(&c); err != nil || c.WebID != "https://alice.example/#me" || c.Cnf.JKT != "x" || idt.Issuer != iss.URL {
			t.Errorf("claims %+v, %v", c, err)
		}
		iss.Rotate()
	}
	if iss.JWKSFetches() != 2 || iss.DiscoveryFetches() != 1 {
		t.Errorf("fetches: jwks %d, discovery %d", iss.JWKSFetches(), iss.DiscoveryFetches())
	}
	for _, alg := range []string{"none", "HS256"} {
		if _, err := v.Verify(ctx, iss.Token(webidtest.TokenOptions{Alg: alg})); err == nil {
			t.Errorf("go-oidc accepted a token with alg %s", alg)
		}
	}
}

// TestClientProof checks proofs with go-jose on its own.
func TestClientProof(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "PS256", "RS256", "EdDSA"} {
		c := webidtest.NewClient(t, alg)
		p := c.Proof("PUT", "https://pod.example/a", "token")
		jws, err := jose.ParseSignedCompact(p, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		h := jws.Signatures[0].Protected
		payload, err := jws.Verify(h.JSONWebKey)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		var claims map[string]any
		json.Unmarshal(payload, &claims)
		if claims["htm"] != "PUT" || claims["htu"] != "https://pod.example/a" || claims["ath"] == nil || claims["jti"] == "" {
			t.Errorf("%s: claims %v", alg, claims)
		}
		if h.ExtraHeaders["typ"] != "dpop+jwt" {
			t.Errorf("%s: typ %v", alg, h.ExtraHeaders["typ"])
		}
		tp, _ := h.JSONWebKey.Thumbprint(crypto.SHA256)
		if base64.RawURLEncoding.EncodeToString(tp) != c.Thumbprint() {
			t.Errorf("%s: thumbprint differs", alg)
		}
		if _, err := jose.ParseSignedCompact(c.ProofWith(webidtest.ProofOptions{EmbedPrivateKey: true}), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}); err == nil {
			t.Errorf("%s: go-jose accepted a private jwk", alg)
		}
	}
}

// TestProfile checks the profile server's content negotiation with rdfx.
func TestProfile(t *testing.T) {
	p := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{"https://idp.example", "https://other.example/"}})
	for _, tt := range []struct{ accept, want string }{
		{"text/turtle", rdfx.Turtle},
		{"application/ld+json", rdfx.JSONLD},
		{"text/turtle;q=0.5, application/ld+json", rdfx.JSONLD},
		{"", rdfx.Turtle},
	} {
		req, _ := http.NewRequest("GET", p.URL, nil)
		req.Header.Set("Accept", tt.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != tt.want {
			t.Errorf("Accept %q: Content-Type %s, want %s", tt.accept, ct, tt.want)
		}
		g, err := rdfx.Parse(bytes.NewReader(body), tt.want, p.URL, rdfx.ParseOptions{})
		if err != nil {
			t.Fatalf("Accept %q: %v", tt.accept, err)
		}
		n := 0
		for range g.Match(rdfx.IRI(p.WebID), rdfx.IRI("http://www.w3.org/ns/solid/terms#oidcIssuer"), rdfx.Term{}) {
			n++
		}
		if n != 2 {
			t.Errorf("Accept %q: %d issuers, want 2", tt.accept, n)
		}
	}
	if p.Fetches() != 4 {
		t.Errorf("Fetches = %d, want 4", p.Fetches())
	}
}
