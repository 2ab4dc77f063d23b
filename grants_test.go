package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
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

	asPerson, asOrg := newDPoPParty(t, issuer, person.WebID), newDPoPParty(t, issuer, org.WebID)
	send := func(through *child, p dpopParty, method, path, ctype, body string) (int, string) {
		t.Helper()
		return dpopSend(t, through, public, p, method, path, ctype, body)
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

// TestAccessGrantsMovePod: a person's pod moves from one Kluis to
// another (different storage) with kluis pod export and kluis pod import.
// To another base URL, the organisation's plain DPoP read keeps working
// on the new server with the grant re-issued there for the pod's new
// IRIs, and the organisation is told of the new grant. At the same base
// URL (the server moved), the grant is kept as it was: the plain DPoP
// read and the library's UMA way with the old grant both keep working.
// Either way the person revokes on the new server, and the next read
// fails.
func TestAccessGrantsMovePod(t *testing.T) {
	t.Run("another base URL", func(t *testing.T) { testMovePod(t, "http://two.test/") })
	t.Run("the same base URL", func(t *testing.T) { testMovePod(t, "http://one.test/") })
}

func testMovePod(t *testing.T, newBase string) {
	ctx := context.Background()
	issuer := webidtest.NewIssuer(t)
	person := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	org := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	one, two := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")
	const oldBase = "http://one.test/"
	sameBase := newBase == oldBase
	vars1 := map[string]string{"KLUIS_DATA": one, "KLUIS_BASE_URL": oldBase, "KLUIS_LOG_LEVEL": "warn", "KLUIS_FETCH_ALLOW": "127.0.0.0/8,::1/128"}
	vars2 := map[string]string{"KLUIS_DATA": two, "KLUIS_BASE_URL": newBase, "KLUIS_LOG_LEVEL": "warn", "KLUIS_FETCH_ALLOW": "127.0.0.0/8,::1/128"}
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "alice@example.org", "-pod", "alice"}, env(vars1), strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	// The pod's owner signs in at the test issuer.
	fsb, err := filesystem.New(one)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsb.Put(ctx, ldp.Path("/alice/.acl").Key(), strings.NewReader(`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+person.WebID+`>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.`), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	environ := func(m map[string]string) []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}

	asPerson, asOrg := newDPoPParty(t, issuer, person.WebID), newDPoPParty(t, issuer, org.WebID)
	send := func(through *child, public string, p dpopParty, method, path, ctype, body string) (int, string) {
		t.Helper()
		return dpopSend(t, through, public, p, method, path, ctype, body)
	}

	// The organisation's inbox, on another server.
	var (
		mu       sync.Mutex
		notified []string
	)
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ Object string }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&n)
		mu.Lock()
		notified = append(notified, n.Object)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(inbox.Close)

	a := startKluis(t, environ(vars1), "-addr", "127.0.0.1:0")
	if st, b := send(a, oldBase, asPerson, "PUT", "alice/data/doc", "text/plain", "hello"); st/100 != 2 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	st, body := send(a, oldBase, asPerson, "POST", ".vc/issue", "application/json", `{"credential": {
	  "@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
	  "type": ["VerifiableCredential", "SolidAccessGrant"],
	  "expirationDate": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`",
	  "credentialSubject": {"inbox": "`+inbox.URL+`/", "providedConsent": {"mode": ["Read"], "hasStatus": "https://w3id.org/GConsent#ConsentStatusExplicitlyGiven",
	    "forPersonalData": ["`+oldBase+`alice/data/"], "isProvidedTo": "`+org.WebID+`"}}}}`)
	if st != 201 {
		t.Fatalf("grant on the old server: %d %s", st, body)
	}
	oldGrant := body
	if st, b := send(a, oldBase, asOrg, "GET", "alice/data/doc", "", ""); st != 200 || b != "hello" {
		t.Fatalf("read with the grant on the old server: %d %s", st, b)
	}

	var tarball bytes.Buffer
	if err := runCommand(ctx, []string{"pod", "export", "alice"}, env(vars1), nil, &tarball, &errOut); err != nil {
		t.Fatalf("pod export: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "import", "-old-base-url", oldBase}, env(vars2), &tarball, &out, &errOut); err != nil {
		t.Fatalf("pod import: %v\n%s", err, errOut.String())
	}
	var moved []string
	if sameBase {
		moved = regexp.MustCompile(`grant (\S+) kept for (\S+)`).FindStringSubmatch(out.String())
	} else {
		moved = regexp.MustCompile(`grant \S+ re-issued as (\S+) for (\S+)`).FindStringSubmatch(out.String())
	}
	if moved == nil || !strings.HasPrefix(moved[1], newBase+".vc/vc/") || moved[2] != org.WebID {
		t.Fatalf("pod import said %q", out.String())
	}
	if !sameBase {
		// The organisation is told of the new grant (the import waits
		// for its notifications to be sent).
		mu.Lock()
		told := slices.Contains(notified, moved[1])
		mu.Unlock()
		if !told {
			t.Errorf("the organisation's inbox got %q, not the re-issued grant", notified)
		}
	}

	b := startKluis(t, environ(vars2), "-addr", "127.0.0.1:0")
	if st, b := send(b, newBase, asOrg, "GET", "alice/data/doc", "", ""); st != 200 || b != "hello" {
		t.Fatalf("read with the grant on the new server: %d %s", st, b)
	}
	// The library's way with the old grant (fetchWithVc): a ticket from an
	// anonymous request, the grant exchanged for a token, a Bearer read.
	uma := func() (int, string) {
		t.Helper()
		res, err := http.Get(b.url + "alice/data/doc")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		ticket := regexp.MustCompile(`ticket="([^"]+)"`).FindStringSubmatch(res.Header.Get("WWW-Authenticate"))
		if res.StatusCode != 401 || ticket == nil {
			t.Fatalf("anonymous GET on the new server: %d %q", res.StatusCode, res.Header.Values("WWW-Authenticate"))
		}
		vp := `{"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiablePresentation"], "verifiableCredential": [` + oldGrant + `]}`
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:uma-ticket"}, "ticket": {ticket[1]},
			"claim_token": {base64.StdEncoding.EncodeToString([]byte(vp))}, "claim_token_format": {"https://www.w3.org/TR/vc-data-model/#json-ld"}}
		st, body := send(b, newBase, asOrg, "POST", ".uma/token", "application/x-www-form-urlencoded", form.Encode())
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if st != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			return st, body
		}
		req, _ := http.NewRequest("GET", b.url+"alice/data/doc", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	if sameBase {
		if st, body := uma(); st != 200 || body != "hello" {
			t.Fatalf("the library's way with the kept grant: %d %s", st, body)
		}
	} else if st, _ := uma(); st == 200 {
		t.Fatalf("the old server's grant is accepted by the new one at another base URL")
	}
	if st, b := send(b, newBase, asPerson, "PUT", "alice/private/doc", "text/plain", "mine"); st/100 != 2 {
		t.Fatalf("PUT on the new server: %d %s", st, b)
	}
	if st, _ := send(b, newBase, asOrg, "GET", "alice/private/doc", "", ""); st != 403 {
		t.Fatalf("the moved grant reaches outside its resources: %d", st)
	}
	// The re-issued grant is recorded in the moved pod.
	if st, b := send(b, newBase, asPerson, "GET", "alice/access-records/"+path.Base(moved[1]), "", ""); st != 200 || !strings.Contains(b, "ConsentStatusExplicitlyGiven") {
		t.Errorf("the re-issued grant's record: %d %s", st, b)
	}
	if st, b := send(b, newBase, asPerson, "POST", ".vc/status", "application/json",
		`{"credentialId": "`+moved[1]+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`); st != 204 {
		t.Fatalf("revoke on the new server: %d %s", st, b)
	}
	if st, _ := send(b, newBase, asOrg, "GET", "alice/data/doc", "", ""); st != 403 {
		t.Fatalf("read on the new server after revocation there: %d", st)
	}
	if st, _ := uma(); st == 200 {
		t.Fatalf("the library's way after revocation on the new server: %d", st)
	}
}

// dpopParty is an agent with a token of the test issuer and the DPoP key
// it is bound to.
type dpopParty struct {
	token  string
	client *webidtest.Client
}

func newDPoPParty(t *testing.T, issuer *webidtest.Issuer, webID string) dpopParty {
	c := webidtest.NewClient(t, "ES256")
	return dpopParty{issuer.Token(webidtest.TokenOptions{WebID: webID, ClientID: "https://app.example/id", JKT: c.Thumbprint(), Expiry: time.Now().Add(time.Hour)}), c}
}

// dpopSend sends a request as p through a process, whose public base URL
// the proof names, and returns the status and body.
func dpopSend(t *testing.T, through *child, public string, p dpopParty, method, path, ctype, body string) (int, string) {
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
