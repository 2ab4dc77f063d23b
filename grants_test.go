package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid/webidtest"
)

// TestAccessGrantRevokedAcrossProcesses: two Kluis processes on one S3
// bucket. A person grants an organisation read access through process A;
// the organisation reads through B with plain DPoP; the person revokes
// through A, and the organisation's next read through B is refused: the
// grant's status is read from storage at every request, so the bound
// across processes is the storage's own consistency (none added).
func TestAccessGrantRevokedAcrossProcesses(t *testing.T) {
	env := append(s3TestEnv(t), "KLUIS_FETCH_ALLOW=127.0.0.0/8,::1/128")
	issuer := webidtest.NewIssuer(t)
	person := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	org := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	rootACL := filepath.Join(t.TempDir(), "root.acl")
	if err := os.WriteFile(rootACL, []byte(`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+person.WebID+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "KLUIS_ROOT_ACL="+rootACL)
	const public = "http://kluis.test/"
	args := []string{"-addr", "127.0.0.1:0", "-base-url", public, "-log-level", "warn"}
	a := startKluis(t, env, args...)
	b := startKluis(t, env, args...)

	type party struct {
		token  string
		client *webidtest.Client
	}
	newParty := func(webID string) party {
		c := webidtest.NewClient(t, "ES256")
		return party{issuer.Token(webidtest.TokenOptions{WebID: webID, ClientID: "https://app.example/id", JKT: c.Thumbprint(), Expiry: time.Now().Add(time.Hour)}), c}
	}
	asPerson, asOrg := newParty(person.WebID), newParty(org.WebID)
	send := func(through *child, p party, method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, through.url+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Authorization", "DPoP "+p.token)
		req.Header.Set("DPoP", p.client.Proof(method, public+path, p.token))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	if st, b := send(a, asPerson, "PUT", "data/doc", "text/plain", "hello"); st/100 != 2 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	st, body := send(a, asPerson, "POST", ".vc/issue", "application/json", `{"credential": {
	  "@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
	  "type": ["VerifiableCredential", "SolidAccessGrant"],
	  "expirationDate": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`",
	  "credentialSubject": {"providedConsent": {"mode": ["Read"], "hasStatus": "https://w3id.org/GConsent#ConsentStatusExplicitlyGiven",
	    "forPersonalData": ["`+public+`data/"], "isProvidedTo": "`+org.WebID+`"}}}}`)
	var grant struct {
		ID string `json:"id"`
	}
	if st != 201 || json.Unmarshal([]byte(body), &grant) != nil {
		t.Fatalf("grant through A: %d %s", st, body)
	}
	if st, b := send(b, asOrg, "GET", "data/doc", "", ""); st != 200 || b != "hello" {
		t.Fatalf("read through B with the grant: %d %s", st, b)
	}
	if st, b := send(a, asPerson, "POST", ".vc/status", "application/json",
		`{"credentialId": "`+grant.ID+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`); st != 204 {
		t.Fatalf("revoke through A: %d %s", st, b)
	}
	if st, _ := send(b, asOrg, "GET", "data/doc", "", ""); st != 403 {
		t.Fatalf("read through B after revocation through A: %d", st)
	}
}
