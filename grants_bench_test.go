package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// BenchmarkGetWithGrant compares, in one run, the GET of a private
// resource by its owner (an ACL, DPoP) with the GET by an organisation
// that holds an access grant: by plain DPoP (the ACL refuses, an active
// grant allows) and by the UMA access token of the token endpoint
// (Bearer, no DPoP). The issue asks for no more than 1.3× the CPU per
// request of the ACL-based GET.
func BenchmarkGetWithGrant(b *testing.B) {
	issuer := webidtest.NewIssuer(b)
	owner := webidtest.NewProfile(b, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	org := webidtest.NewProfile(b, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	acl := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + owner.WebID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	ctx := context.Background()
	if _, err := store.Put(ctx, "r/.acl", strings.NewReader(acl), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Put(ctx, "r/private/card", strings.NewReader(smallTurtle), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	f, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	b.Cleanup(ts.Close)
	base, _ := url.Parse(ts.URL + "/")
	srv, err := server.New(ctx, server.Config{BaseURL: base, Fetcher: f}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	h = srv.Handler()
	target := ts.URL + "/private/card"
	ownerClient, orgClient := webidtest.NewClient(b, "ES256"), webidtest.NewClient(b, "ES256")
	ownerToken := issuer.Token(webidtest.TokenOptions{WebID: owner.WebID, ClientID: "https://app.example/id", JKT: ownerClient.Thumbprint(), Expiry: time.Now().Add(time.Hour)})
	orgToken := issuer.Token(webidtest.TokenOptions{WebID: org.WebID, ClientID: "https://app.example/id", JKT: orgClient.Thumbprint(), Expiry: time.Now().Add(time.Hour)})
	call := func(client *webidtest.Client, token, method, u, ctype, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if client != nil {
			req.Header.Set("Authorization", "DPoP "+token)
			req.Header.Set("DPoP", client.Proof(method, u, token))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res, string(raw)
	}
	res, body := call(ownerClient, ownerToken, "POST", ts.URL+"/.vc/issue", "application/json", `{"credential": {
	  "@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
	  "type": ["VerifiableCredential", "SolidAccessGrant"],
	  "expirationDate": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`",
	  "credentialSubject": {"providedConsent": {"mode": ["Read"], "hasStatus": "https://w3id.org/GConsent#ConsentStatusExplicitlyGiven",
	    "forPersonalData": ["`+ts.URL+`/private/"], "isProvidedTo": "`+org.WebID+`"}}}}`)
	if res.StatusCode != 201 {
		b.Fatalf("grant: %d %s", res.StatusCode, body)
	}
	var grant map[string]any
	_ = json.Unmarshal([]byte(body), &grant)
	res, _ = call(nil, "", "GET", target, "", "")
	ticket := regexp.MustCompile(`ticket="([^"]+)"`).FindStringSubmatch(strings.Join(res.Header.Values("WWW-Authenticate"), ", "))
	if ticket == nil {
		b.Fatal("no UMA ticket")
	}
	vp, _ := json.Marshal(map[string]any{"type": "VerifiablePresentation", "verifiableCredential": []any{grant}})
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:uma-ticket"}, "ticket": {ticket[1]}, "claim_token": {base64.StdEncoding.EncodeToString(vp)}}
	res, body = call(orgClient, orgToken, "POST", ts.URL+"/.uma/token", "application/x-www-form-urlencoded", form.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &tok) != nil {
		b.Fatalf("token: %d %s", res.StatusCode, body)
	}

	dpopRun := func(name string, client *webidtest.Client, token string) {
		b.Run(name, func(b *testing.B) { dpopGets(b, client, target, token, statusOK) })
	}
	// The three ways take turns, grantBenchRounds times (acl/dpop,
	// grant/dpop, grant/uma, acl/dpop#01, ...): a change of the shared
	// machine's load then moves one round's runs together, and each
	// round gives its own ratio.
	for range grantBenchRounds {
		dpopRun("acl/dpop", ownerClient, ownerToken)
		dpopRun("grant/dpop", orgClient, orgToken)
		b.Run("grant/uma", func(b *testing.B) {
			cpu := processCPU()
			defer reportCPU(b, cpu)
			runClients(b, func(c *http.Client) error {
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("Accept", "text/turtle")
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				res, err := c.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return statusOK(res)
			})
		})
	}
}

// grantBenchRounds is how many times BenchmarkGetWithGrant runs each way,
// in turn.
const grantBenchRounds = 5

func statusOK(res *http.Response) error {
	if res.StatusCode != 200 {
		return fmt.Errorf("GET: %d", res.StatusCode)
	}
	return nil
}
