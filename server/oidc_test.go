package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/webidtest"
)

// oidcServer starts Kluis with its real authentication (Solid-OIDC) and
// Web Access Control; the fetcher may reach loopback, where the test issuer
// and profile servers listen. Its base URL is its own listening URL, so
// DPoP proofs name the URL the client uses.
func oidcServer(t *testing.T, rootACL string) (*httptest.Server, storage.Backend) {
	t.Helper()
	ss := newSelfServed(t)
	if _, err := ss.store.Put(context.Background(), "r/.acl", strings.NewReader(rootACL), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{BaseURL: ss.base, Fetcher: ss.fetch}, ss.store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ss.serve(t, srv)
	return ss.ts, ss.store
}

// TestSolidOIDCEndToEnd: a token from an external issuer, for a WebID
// served by another server, with a DPoP proof, is accepted by Kluis and
// checked by WAC; every kind of bad credential is a 401 with a DPoP
// challenge (Solid-OIDC "Resource Access", RFC 9449 §7.1).
func TestSolidOIDCEndToEnd(t *testing.T) {
	issuer := webidtest.NewIssuer(t)
	other := webidtest.NewIssuer(t)
	profile := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	acl := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + profile.WebID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	ts, _ := oidcServer(t, acl)
	client := webidtest.NewClient(t, "ES256")
	const appID = "https://app.example/id"

	request := func(method, path, token, proof string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("<#a> <#b> <#c>."))
		req.Header.Set("Content-Type", "text/turtle")
		if token != "" {
			req.Header.Set("Authorization", "DPoP "+token)
		}
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	token := issuer.Token(webidtest.TokenOptions{WebID: profile.WebID, ClientID: appID, JKT: client.Thumbprint()})

	res, body := request("PUT", "/notes/one", token, client.Proof("PUT", ts.URL+"/notes/one", token))
	if res.StatusCode != 201 {
		t.Fatalf("PUT with a valid token: %d %s", res.StatusCode, body)
	}
	res, _ = request("GET", "/notes/one", token, client.Proof("GET", ts.URL+"/notes/one", token))
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("WAC-Allow"), `user="read write append control"`) {
		t.Fatalf("GET with a valid token: %d, WAC-Allow %q", res.StatusCode, res.Header.Get("WAC-Allow"))
	}

	otherToken := other.Token(webidtest.TokenOptions{WebID: profile.WebID, ClientID: appID, JKT: client.Thumbprint()})
	replayed := client.Proof("GET", ts.URL+"/notes/one", token)
	request("GET", "/notes/one", token, replayed)
	refusals := []struct {
		name         string
		method, path string
		token, proof string
	}{
		{"no proof", "GET", "/notes/one", token, ""},
		{"proof for another method", "GET", "/notes/one", token, client.Proof("POST", ts.URL+"/notes/one", token)},
		{"proof for another URL", "GET", "/notes/one", token, client.Proof("GET", ts.URL+"/notes/two", token)},
		{"replayed proof", "GET", "/notes/one", token, replayed},
		{"issuer not in the WebID", "GET", "/notes/one", otherToken, client.Proof("GET", ts.URL+"/notes/one", otherToken)},
		{"token bound to another key", "GET", "/notes/one", token, webidtest.NewClient(t, "ES256").Proof("GET", ts.URL+"/notes/one", token)},
		{"garbage token", "GET", "/notes/one", "not-a-jwt", client.Proof("GET", ts.URL+"/notes/one", "not-a-jwt")},
	}
	for _, r := range refusals {
		res, body := request(r.method, r.path, r.token, r.proof)
		wa := dpopChallenge(res.Header)
		if res.StatusCode != 401 || !strings.HasPrefix(wa, "DPoP ") || !strings.Contains(wa, `error="invalid_token"`) {
			t.Errorf("%s: %d, WWW-Authenticate %q (%s)", r.name, res.StatusCode, wa, strings.TrimSpace(body))
		}
		if strings.Contains(body+wa, r.token[:min(20, len(r.token))]) && len(r.token) > 20 {
			t.Errorf("%s: the answer repeats the token", r.name)
		}
	}
	// Anonymous: a plain challenge, no error.
	res, _ = request("GET", "/notes/one", "", "")
	if wa := dpopChallenge(res.Header); res.StatusCode != 401 || !strings.HasPrefix(wa, "DPoP realm=") || strings.Contains(wa, "error=") {
		t.Errorf("anonymous: %d, WWW-Authenticate %q", res.StatusCode, wa)
	}
	// An Authorization header without credentials is no authentication:
	// a public resource is served, a private one gets the plain challenge.
	if _, _, err := issuerPut(ts, "/public/doc", "<#a> <#b> <#c>.", token, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := issuerPut(ts, "/public/.acl", `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
<#owner> a acl:Authorization; acl:agent <`+profile.WebID+`>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.`, token, client); err != nil {
		t.Fatal(err)
	}
	for _, empty := range []string{"DPoP ", "DPoP", "Bearer ", ""} {
		for _, tc := range []struct {
			path string
			want int
		}{{"/public/doc", 200}, {"/notes/one", 401}} {
			req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
			req.Header.Set("Authorization", empty)
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if wa := dpopChallenge(res.Header); res.StatusCode != tc.want || tc.want == 401 && strings.Contains(wa, "error=") {
				t.Errorf("Authorization %q on %s: %d, WWW-Authenticate %q", empty, tc.path, res.StatusCode, wa)
			}
		}
	}
	// A plain Bearer token is refused.
	req, _ := http.NewRequest("GET", ts.URL+"/notes/one", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	bres, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bres.Body.Close()
	if bres.StatusCode != 401 {
		t.Errorf("Bearer token: %d, want 401", bres.StatusCode)
	}
	if profile.Fetches() == 0 {
		t.Error("the WebID profile was never fetched")
	}
}

// issuerPut PUTs body as Turtle with a DPoP-bound token.
func issuerPut(ts *httptest.Server, path, body, token string, client *webidtest.Client) (int, string, error) {
	req, _ := http.NewRequest("PUT", ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/turtle")
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", client.Proof("PUT", ts.URL+path, token))
	res, err := ts.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return res.StatusCode, string(b), fmt.Errorf("PUT %s: %d %s", path, res.StatusCode, b)
	}
	return res.StatusCode, string(b), nil
}
