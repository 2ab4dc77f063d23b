package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// grantParty is an agent of the access grant tests: a WebID at the test
// issuer, a DPoP key, a token.
type grantParty struct {
	webID  string
	token  string
	client *webidtest.Client
}

func newGrantParty(t *testing.T, issuer *webidtest.Issuer) grantParty {
	t.Helper()
	p := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	c := webidtest.NewClient(t, "ES256")
	return grantParty{webID: p.WebID, client: c,
		token: issuer.Token(webidtest.TokenOptions{WebID: p.WebID, ClientID: "https://app.example/id", JKT: c.Thumbprint(), Expiry: time.Now().Add(time.Hour)})}
}

// grantCall sends a request as p (DPoP), or anonymously when p is nil,
// with extra headers; it returns the status, headers and body.
func grantCall(t *testing.T, ts *httptest.Server, p *grantParty, method, path, ctype, body string, extra ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if p != nil {
		req.Header.Set("Authorization", "DPoP "+p.token)
		htu, _, _ := strings.Cut(ts.URL+path, "?") // RFC 9449 §4.2: htu without query
		req.Header.Set("DPoP", p.client.Proof(method, htu, p.token))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func grantIssueBody(kind, status, consentParty, resources string, extra string) string {
	consent := "providedConsent"
	if kind == "SolidAccessRequest" {
		consent = "hasConsent"
	}
	return `{"credential": {"@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
	  "type": ["VerifiableCredential", "` + kind + `"],
	  "expirationDate": "` + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `",
	  "credentialSubject": {"inbox": "https://org.example/inbox/",
	    "` + consent + `": {"mode": ["http://www.w3.org/ns/auth/acl#Read"` + extra + `], "hasStatus": "https://w3id.org/GConsent#` + status + `",
	      "forPersonalData": [` + resources + `], "forPurpose": ["https://w3id.org/dpv#ServiceProvision"], ` + consentParty + `}}}}`
}

var umaTicket = regexp.MustCompile(`ticket="([^"]+)"`)

// TestAccessGrantsEndToEnd: an organisation asks, the person grants Read
// on a container, the organisation reads what the grant covers both ways
// (plain DPoP, and a UMA token from the token endpoint) and nothing else,
// the person revokes, and the next read fails both ways.
func TestAccessGrantsEndToEnd(t *testing.T) {
	issuer := webidtest.NewIssuer(t)
	alice, org, eve := newGrantParty(t, issuer), newGrantParty(t, issuer), newGrantParty(t, issuer)
	// carol controls the pod too, but is party to no credential.
	carol := newGrantParty(t, issuer)
	ts, _ := oidcServer(t, `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+alice.webID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.
<#co> a acl:Authorization; acl:agent <`+carol.webID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Control.`)
	for _, p := range []string{"/data/doc", "/data/sub/deep", "/other/doc", "/inbox/"} {
		if st, _, b := grantCall(t, ts, &alice, "PUT", p, "text/turtle", "<#a> <#b> <#c>."); st != 201 {
			t.Fatalf("PUT %s: %d %s", p, st, b)
		}
	}

	// Discovery: the first challenge is UMA, then DPoP.
	st, h, _ := grantCall(t, ts, nil, "GET", "/data/doc", "", "")
	ch := h.Values("WWW-Authenticate")
	if st != 401 || len(ch) != 2 || !strings.HasPrefix(ch[0], `UMA realm="`+ts.URL+`/", as_uri="`+ts.URL+`/", ticket="`) || !strings.HasPrefix(ch[1], "DPoP realm=") {
		t.Fatalf("anonymous GET: %d %q", st, ch)
	}
	st, h, b := grantCall(t, ts, nil, "GET", "/.well-known/uma2-configuration", "", "")
	var uma map[string]any
	if st != 200 || json.Unmarshal([]byte(b), &uma) != nil || uma["token_endpoint"] != ts.URL+"/.uma/token" ||
		uma["verifiable_credential_issuer"] != ts.URL+"/.vc/" || h.Get("Content-Length") == "" {
		t.Fatalf("uma2-configuration: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, nil, "GET", "/.well-known/vc-configuration", "", ""); st != 200 || !strings.Contains(b, `"derivationService":"`+ts.URL+`/.vc/derive"`) {
		t.Fatalf("vc-configuration: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, nil, "GET", "/.vc/keys", "", ""); st != 200 || !strings.Contains(b, `"publicKeyMultibase":"z6Mk`) {
		t.Fatalf("keys: %d %s", st, b)
	}

	// The organisation asks; the request is its own whatever it claims.
	st, _, b = grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json",
		grantIssueBody("SolidAccessRequest", "ConsentStatusRequested", `"isConsentForDataSubject": "`+alice.webID+`"`, `"`+ts.URL+`/data/"`, ""))
	var request map[string]any
	if st != 201 || json.Unmarshal([]byte(b), &request) != nil || request["credentialSubject"].(map[string]any)["id"] != org.webID {
		t.Fatalf("issue request: %d %s", st, b)
	}
	reqID := request["id"].(string)
	// The request is delivered to the owner's inbox (LDN).
	if st, _, b := grantCall(t, ts, &alice, "GET", "/inbox/", "", "", "Accept", "text/turtle"); st != 200 || !strings.Contains(b, "ldp:contains") && !strings.Contains(b, "http://www.w3.org/ns/ldp#contains") {
		t.Errorf("the owner's inbox after a request: %d %s", st, b)
	}
	// The owner reads it; a third party does not see it.
	if st, _, b := grantCall(t, ts, &alice, "GET", strings.TrimPrefix(reqID, ts.URL), "", ""); st != 200 {
		t.Fatalf("owner reads the request: %d %s", st, b)
	}
	if st, _, _ := grantCall(t, ts, &eve, "GET", strings.TrimPrefix(reqID, ts.URL), "", ""); st != 404 {
		t.Fatalf("a third party reads the request: %d", st)
	}
	// Control on the resources it names is not enough: a credential is
	// read by its two parties only.
	if st, _, _ := grantCall(t, ts, &carol, "GET", strings.TrimPrefix(reqID, ts.URL), "", ""); st != 404 {
		t.Fatalf("another controller of the pod reads the request: %d", st)
	}

	grantFor := func(p grantParty, resources, extra string) (int, map[string]any, string) {
		st, _, b := grantCall(t, ts, &p, "POST", "/.vc/issue", "application/json",
			grantIssueBody("SolidAccessGrant", "ConsentStatusExplicitlyGiven", `"isProvidedTo": "`+org.webID+`", "request": "`+reqID+`"`, resources, extra))
		var doc map[string]any
		_ = json.Unmarshal([]byte(b), &doc)
		return st, doc, b
	}
	// Only who controls every resource may grant; never Control.
	if st, _, b := grantFor(org, `"`+ts.URL+`/data/"`, ""); st != 403 {
		t.Fatalf("a grant by someone without Control: %d %s", st, b)
	}
	if st, _, b := grantFor(alice, `"`+ts.URL+`/data/"`, `, "http://www.w3.org/ns/auth/acl#Control"`); st != 400 {
		t.Fatalf("a grant of Control: %d %s", st, b)
	}
	if st, _, b := grantFor(alice, `"https://elsewhere.example/data/"`, ""); st != 400 {
		t.Fatalf("a grant for another server's resource: %d %s", st, b)
	}
	st, grant, b := grantFor(alice, `"`+ts.URL+`/data/"`, "")
	if st != 201 {
		t.Fatalf("grant: %d %s", st, b)
	}
	grantID := grant["id"].(string)
	proof := grant["proof"].(map[string]any)
	if proof["type"] != "Ed25519Signature2020" || !strings.HasPrefix(proof["verificationMethod"].(string), ts.URL+"/.vc/keys#") {
		t.Fatalf("proof: %v", proof)
	}

	// The record in the person's pod: readable by the owner, written by
	// no one but Kluis.
	record := "/access-records/" + grantID[strings.LastIndex(grantID, "/")+1:]
	if st, _, b := grantCall(t, ts, &alice, "GET", record, "", "", "Accept", "text/turtle"); st != 200 || !strings.Contains(b, "gc:ConsentStatusExplicitlyGiven") || !strings.Contains(b, "dpv:hasPurpose dpv:ServiceProvision") {
		t.Fatalf("the grant's record: %d %s", st, b)
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		if st, _, _ := grantCall(t, ts, &alice, m, record, "text/turtle", "<#a> <#b> <#c>."); st != 403 {
			t.Errorf("the owner %s the record: %d", m, st)
		}
	}
	if st, _, _ := grantCall(t, ts, &alice, "PUT", "/access-records/.acl", "text/turtle", "<#a> <#b> <#c>."); st != 403 {
		t.Errorf("the owner rewrites the records' ACL: %d", st)
	}

	// The plain LDP way: the grantee's own DPoP requests.
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/data/doc", 200}, {"GET", "/data/sub/deep", 200}, {"GET", "/data/", 200},
		{"PUT", "/data/doc", 403}, {"GET", "/other/doc", 403}, {"GET", "/data/.acl", 403},
	} {
		if st, _, b := grantCall(t, ts, &org, c.method, c.path, "text/turtle", "<#x> <#y> <#z>."); st != c.want {
			t.Errorf("plain %s %s: %d, want %d (%s)", c.method, c.path, st, c.want, b)
		}
		if st, _, _ := grantCall(t, ts, &eve, c.method, c.path, "text/turtle", "<#x> <#y> <#z>."); st != 403 {
			t.Errorf("someone else %s %s: %d", c.method, c.path, st)
		}
	}

	// A grant pinned to another app admits no request through this one;
	// pinned to this app and issuer, it does.
	pinned := func(pins string) {
		t.Helper()
		if st, _, b := grantCall(t, ts, &alice, "POST", "/.vc/issue", "application/json",
			grantIssueBody("SolidAccessGrant", "ConsentStatusExplicitlyGiven", `"isProvidedTo": "`+org.webID+`", `+pins, `"`+ts.URL+`/other/"`, "")); st != 201 {
			t.Fatalf("pinned grant: %d %s", st, b)
		}
	}
	pinned(`"http://www.w3.org/ns/auth/acl#client": "https://other-app.example/id"`)
	if st, _, _ := grantCall(t, ts, &org, "GET", "/other/doc", "", ""); st != 403 {
		t.Errorf("a grant pinned to another app: %d", st)
	}
	pinned(`"http://www.w3.org/ns/auth/acl#client": {"@id": "https://app.example/id"}, "http://www.w3.org/ns/auth/acl#issuer": "` + issuer.URL + `"`)
	if st, _, b := grantCall(t, ts, &org, "GET", "/other/doc", "", ""); st != 200 {
		t.Errorf("a grant pinned to this app and issuer: %d %s", st, b)
	}

	// The library's way: ticket, token endpoint, bearer token.
	vp := func(vcs ...map[string]any) string {
		raw, _ := json.Marshal(map[string]any{"@context": []string{"https://www.w3.org/2018/credentials/v1"}, "type": []string{"VerifiablePresentation"}, "verifiableCredential": vcs})
		return base64.StdEncoding.EncodeToString(raw)
	}
	ticketFor := func(path string) string {
		_, h, _ := grantCall(t, ts, nil, "GET", path, "", "")
		m := umaTicket.FindStringSubmatch(strings.Join(h.Values("WWW-Authenticate"), ", "))
		if m == nil {
			t.Fatalf("no ticket for %s", path)
		}
		return m[1]
	}
	exchange := func(p *grantParty, ticket, claim string) (int, string) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:uma-ticket"}, "ticket": {ticket}, "claim_token": {claim},
			"claim_token_format": {"https://www.w3.org/TR/vc-data-model/#json-ld"}}
		st, _, b := grantCall(t, ts, p, "POST", "/.uma/token", "application/x-www-form-urlencoded", form.Encode())
		return st, b
	}
	st, b = exchange(&org, ticketFor("/data/doc"), vp(grant))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if st != 200 || json.Unmarshal([]byte(b), &tok) != nil || tok.TokenType != "Bearer" {
		t.Fatalf("token exchange: %d %s", st, b)
	}
	bearer := func(method, path string) int {
		st, _, _ := grantCall(t, ts, nil, method, path, "text/turtle", "<#x> <#y> <#z>.", "Authorization", "Bearer "+tok.AccessToken)
		return st
	}
	if st := bearer("GET", "/data/doc"); st != 200 {
		t.Fatalf("GET with the UMA token: %d", st)
	}
	if st := bearer("PUT", "/data/doc"); st != 403 {
		t.Errorf("PUT with a read grant's token: %d", st)
	}
	if st := bearer("GET", "/other/doc"); st != 403 {
		t.Errorf("GET outside the grant with its token: %d", st)
	}

	// The negative table of the exchange.
	tampered := map[string]any{}
	raw, _ := json.Marshal(grant)
	_ = json.Unmarshal(raw, &tampered)
	tampered["credentialSubject"].(map[string]any)["providedConsent"].(map[string]any)["forPersonalData"] = []any{ts.URL + "/"}
	requestAsGrant := request
	for _, c := range []struct {
		name   string
		p      *grantParty
		ticket string
		claim  string
		want   int
	}{
		{"tampered credential", &org, ticketFor("/other/doc"), vp(tampered), 403},
		{"a request presented as a grant", &org, ticketFor("/data/doc"), vp(requestAsGrant), 403},
		{"presented by another agent", &eve, ticketFor("/data/doc"), vp(grant), 403},
		{"ticket for a resource outside the grant", &org, ticketFor("/other/doc"), vp(grant), 403},
		{"no caller", nil, ticketFor("/data/doc"), vp(grant), 401},
		{"forged ticket", &org, "a.b.c", vp(grant), 400},
		{"not base64", &org, ticketFor("/data/doc"), "%%%", 400},
	} {
		if st, b := exchange(c.p, c.ticket, c.claim); st != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, st, c.want, b)
		}
	}

	// Verify.
	body, _ := json.Marshal(map[string]any{"verifiableCredential": grant})
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/verify", "application/json", string(body)); st != 200 || !strings.Contains(b, `"errors":[]`) {
		t.Fatalf("verify: %d %s", st, b)
	}
	body, _ = json.Marshal(map[string]any{"verifiableCredential": tampered})
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/verify", "application/json", string(body)); st != 200 || strings.Contains(b, `"errors":[]`) {
		t.Fatalf("verify tampered: %d %s", st, b)
	}
	// Derive: the grantee finds its grant.
	derive := `{"verifiableCredential": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential", "SolidAccessGrant"],
	  "credentialSubject": {"providedConsent": {"hasStatus": "https://w3id.org/GConsent#ConsentStatusExplicitlyGiven", "forPersonalData": ["` + ts.URL + `/data/"]}}}, "options": {}}`
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/derive", "application/json", derive); st != 200 || !strings.Contains(b, grantID) {
		t.Fatalf("derive: %d %s", st, b)
	}

	// The status list the credential names: bit 0 clear, then set.
	listBit := func() byte {
		t.Helper()
		status := grant["credentialStatus"].(map[string]any)
		st, _, b := grantCall(t, ts, nil, "GET", strings.TrimPrefix(status["revocationListCredential"].(string), ts.URL), "", "")
		var list struct {
			Type              []string `json:"type"`
			CredentialSubject struct {
				EncodedList string `json:"encodedList"`
			} `json:"credentialSubject"`
			Proof map[string]any `json:"proof"`
		}
		if st != 200 || json.Unmarshal([]byte(b), &list) != nil || list.Proof["proofValue"] == nil {
			t.Fatalf("status list: %d %s", st, b)
		}
		z, err := base64.RawURLEncoding.DecodeString(list.CredentialSubject.EncodedList)
		if err != nil {
			t.Fatal(err)
		}
		r, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		bits, _ := io.ReadAll(r)
		if len(bits) != 16<<10 {
			t.Fatalf("status list of %d bytes", len(bits))
		}
		return bits[0] >> 7
	}
	if listBit() != 0 {
		t.Fatal("an active grant's status bit is set")
	}

	// Only the issuing party revokes.
	status := `{"credentialId": "` + grantID + `", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`
	if st, _, _ := grantCall(t, ts, &org, "POST", "/.vc/status", "application/json", status); st != 403 {
		t.Fatalf("the grantee revokes: %d", st)
	}
	if st, _, b := grantCall(t, ts, &alice, "POST", "/.vc/status", "application/json", status); st != 204 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	if st, _, _ := grantCall(t, ts, &org, "GET", "/data/doc", "", ""); st != 403 {
		t.Errorf("plain GET after revocation: %d", st)
	}
	if listBit() != 1 {
		t.Error("a revoked grant's status bit is clear")
	}
	if st := bearer("GET", "/data/doc"); st != 401 {
		t.Errorf("the UMA token after revocation: %d", st)
	}
	if st, b := exchange(&org, ticketFor("/data/doc"), vp(grant)); st != 403 {
		t.Errorf("exchange after revocation: %d %s", st, b)
	}
	body, _ = json.Marshal(map[string]any{"verifiableCredential": grant})
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/verify", "application/json", string(body)); st != 200 || !strings.Contains(b, "revoked") {
		t.Fatalf("verify revoked: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, &alice, "GET", record, "", "", "Accept", "text/turtle"); st != 200 || !strings.Contains(b, "gc:ConsentStatusWithdrawn") {
		t.Fatalf("the record after revocation: %d %s", st, b)
	}
}

// TestAccessGrantIssueRefusals: what the issue service refuses, with
// clear 4xx.
func TestAccessGrantIssueRefusals(t *testing.T) {
	issuer := webidtest.NewIssuer(t)
	alice := newGrantParty(t, issuer)
	ts, _ := oidcServer(t, `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+alice.webID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`)
	req := grantIssueBody("SolidAccessRequest", "ConsentStatusRequested", `"isConsentForDataSubject": "`+alice.webID+`"`, `"`+ts.URL+`/data/"`, "")
	for _, c := range []struct {
		name string
		p    *grantParty
		body string
		want int
	}{
		{"anonymous", nil, req, 401},
		{"remote context", &alice, strings.Replace(req, "https://schema.inrupt.com/credentials/v2.jsonld", "https://evil.example/ctx.jsonld", 1), 400},
		{"oversized", &alice, strings.Replace(req, `"inbox"`, `"padding": "`+strings.Repeat("x", 70<<10)+`", "inbox"`, 1), 413},
		{"expiry past the maximum", &alice, strings.Replace(req, time.Now().Add(24*time.Hour).UTC().Format("2006"), "2999", 1), 400},
		{"a purpose that is no IRI", &alice, strings.Replace(req, "https://w3id.org/dpv#ServiceProvision", "marketing", 1), 400},
		{"issuer-set fields", &alice, strings.Replace(req, `"type"`, `"proof": {}, "type"`, 1), 400},
		{"not JSON", &alice, "{", 400},
		{"a request to no one", &alice, strings.Replace(req, `"isConsentForDataSubject": "`+alice.webID+`"`, `"x": "y"`, 1), 400},
	} {
		if st, _, b := grantCall(t, ts, c.p, "POST", "/.vc/issue", "application/json", c.body); st != c.want {
			t.Errorf("%s: %d, want %d (%.200s)", c.name, st, c.want, b)
		}
	}

	// An agent at the bound of its live requests is refused one more,
	// with a 429 that says why; cancelling one does not free its place
	// before a day (credential.RequestHold), so the bound is also one on
	// what an agent makes the server store.
	org := newGrantParty(t, issuer)
	var last string
	for i := range credential.DefaultMaxRequestsPerRequestor {
		st, _, b := grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json", req)
		if st != 201 {
			t.Fatalf("request %d: %d %s", i, st, b)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(b), &doc); err != nil {
			t.Fatal(err)
		}
		last = doc["id"].(string)
	}
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json", req); st != 429 || !strings.Contains(b, "live access requests") {
		t.Fatalf("a request past the bound: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/status", "application/json",
		`{"credentialId": "`+last+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`); st/100 != 2 {
		t.Fatalf("cancel: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json", req); st != 429 {
		t.Fatalf("a request right after a cancellation: %d %s", st, b)
	}
	// Another agent is not held by the first one's bound.
	if st, _, b := grantCall(t, ts, &alice, "POST", "/.vc/issue", "application/json", req); st != 201 {
		t.Fatalf("another agent's request: %d %s", st, b)
	}
}

// TestAccessGrantQueryPaging: the query service pages with Link headers
// that the library follows (first, next, prev, last).
func TestAccessGrantQueryPaging(t *testing.T) {
	issuer := webidtest.NewIssuer(t)
	alice, org := newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, _ := oidcServer(t, `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+alice.webID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`)
	for range 5 {
		if st, _, b := grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json",
			grantIssueBody("SolidAccessRequest", "ConsentStatusRequested", `"isConsentForDataSubject": "`+alice.webID+`"`, `"`+ts.URL+`/data/"`, "")); st != 201 {
			t.Fatalf("request: %d %s", st, b)
		}
	}
	next := regexp.MustCompile(`<([^>]+)>; rel="next"`)
	seen := map[string]bool{}
	path := "/.vc/query?type=SolidAccessRequest&status=Pending&pageSize=2"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than requests")
		}
		st, h, b := grantCall(t, ts, &alice, "GET", path, "", "")
		var page struct {
			Items []map[string]any `json:"items"`
		}
		if st != 200 || json.Unmarshal([]byte(b), &page) != nil || len(page.Items) == 0 || len(page.Items) > 2 {
			t.Fatalf("query %s: %d %s", path, st, b)
		}
		for _, it := range page.Items {
			seen[it["id"].(string)] = true
		}
		path = ""
		if m := next.FindStringSubmatch(strings.Join(h.Values("Link"), ", ")); m != nil {
			path = strings.TrimPrefix(m[1], ts.URL)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("the pages held %d requests, want 5", len(seen))
	}
	if st, _, b := grantCall(t, ts, &alice, "GET", "/.vc/query?type=SolidAccessGrant&status=Active", "", ""); st != 200 || b != `{"items":[]}` {
		t.Fatalf("no active grant: %d %s", st, b)
	}
	if st, _, _ := grantCall(t, ts, nil, "GET", "/.vc/query", "", ""); st != 401 {
		t.Fatalf("anonymous query: %d", st)
	}
}

// TestAccessGrantRemoteInbox: a decision is delivered to the requestor's
// inbox on another server, as JSON-LD through the safe fetcher (here
// allowed to reach loopback, as a test setting); the same post through
// a fetcher left at its defaults is refused, and nothing arrives.
func TestAccessGrantRemoteInbox(t *testing.T) {
	type note struct {
		Type, Object, Actor, ctype string
	}
	got := make(chan note, 4)
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n note
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&n)
		n.ctype = r.Header.Get("Content-Type")
		got <- n
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(inbox.Close)

	issuer := webidtest.NewIssuer(t)
	alice, org := newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, _ := oidcServer(t, `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+alice.webID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`)
	body := strings.Replace(grantIssueBody("SolidAccessGrant", "ConsentStatusExplicitlyGiven", `"isProvidedTo": "`+org.webID+`"`, `"`+ts.URL+`/data/"`, ""),
		"https://org.example/inbox/", inbox.URL+"/inbox/", 1)
	st, _, b := grantCall(t, ts, &alice, "POST", "/.vc/issue", "application/json", body)
	var grant map[string]any
	if st != 201 || json.Unmarshal([]byte(b), &grant) != nil {
		t.Fatalf("grant: %d %s", st, b)
	}
	select {
	case n := <-got:
		if n.Type != "Accept" || n.Object != grant["id"] || n.Actor != alice.webID || n.ctype != "application/ld+json" {
			t.Errorf("the requestor's inbox got %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification in the requestor's inbox")
	}

	// Without the test setting, a private address is refused.
	strict, err := fetch.New(fetch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	out := &consent.Outbox{Client: strict.HTTPClient()}
	if err := out.Post(t.Context(), inbox.URL+"/inbox/", []byte(`{}`)); !errors.Is(err, fetch.ErrAddressNotAllowed) {
		t.Fatalf("a post to a loopback inbox: %v, want ErrAddressNotAllowed", err)
	}
	out.Send(t.Context(), inbox.URL+"/inbox/", []byte(`{}`))
	out.Wait()
	select {
	case n := <-got:
		t.Fatalf("a refused inbox got %+v", n)
	default:
	}
}

// TestAccessRequestToRemoteOwnerInbox: a request for data in a pod whose
// owner's WebID lives on another server is also delivered to the inbox
// that owner's profile names, there; a request naming someone else as
// owner is not sent to anyone's profile inbox.
func TestAccessRequestToRemoteOwnerInbox(t *testing.T) {
	got := make(chan string, 4)
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ Type, Object string }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&n)
		got <- n.Type + " " + n.Object
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(inbox.Close)
	profile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/turtle")
		io.WriteString(w, `<#me> <http://www.w3.org/ns/ldp#inbox> <`+inbox.URL+`/inbox/> .
<other#me> <http://www.w3.org/ns/ldp#inbox> <`+inbox.URL+`/inbox/> .`)
	}))
	t.Cleanup(profile.Close)
	owner := profile.URL + "/card#me"

	ctx := context.Background()
	ss := newSelfServed(t)
	store, f, ts, base := ss.store, ss.fetch, ss.ts, ss.base
	srv, err := server.New(ctx, server.Config{BaseURL: base, Fetcher: f, Pods: true}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ss.serve(t, srv)
	space, err := ldp.New(ctx, store, ldp.Config{BaseURL: ts.URL + "/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := space.CreatePod(ctx, "alice", ldp.PodOwner{WebID: owner}); err != nil {
		t.Fatal(err)
	}

	issuer := webidtest.NewIssuer(t)
	org := newGrantParty(t, issuer)
	ask := func(to string) string {
		t.Helper()
		st, _, b := grantCall(t, ts, &org, "POST", "/.vc/issue", "application/json",
			grantIssueBody("SolidAccessRequest", "ConsentStatusRequested", `"isConsentForDataSubject": "`+to+`"`, `"`+ts.URL+`/alice/data/"`, ""))
		var doc map[string]any
		if st != 201 || json.Unmarshal([]byte(b), &doc) != nil {
			t.Fatalf("request: %d %s", st, b)
		}
		return doc["id"].(string)
	}
	// Addressed to someone else (whose profile names an inbox too) first:
	// it is not sent there; then twice to the owner, sent to theirs.
	other := ask(profile.URL + "/other#me")
	want := map[string]bool{"Offer " + ask(owner): true, "Offer " + ask(owner): true}
	for range 2 {
		select {
		case n := <-got:
			if n == "Offer "+other || !want[n] {
				t.Errorf("the inbox got %q, want the Offers of the requests to the owner", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification in the owner's inbox on the other server")
		}
	}
}
