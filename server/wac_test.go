package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage/s3"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// testAgents authenticates requests of the WAC tests: the Authorization
// header "Test <webid> <client_id> <issuer>" names the agent. It lives in a
// test file only: the real binary authenticates with Solid-OIDC.
type testAgents struct{}

func (testAgents) Authenticate(r *http.Request) (server.Agent, error) {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) != 4 || f[0] != "Test" {
		return server.Agent{}, nil
	}
	return server.Agent{WebID: f[1], ClientID: f[2], Issuer: f[3]}, nil
}

// wacServer starts a server with Web Access Control over a filesystem
// backend in dir; fetchGroup serves remote group documents.
func wacServer(t *testing.T, dir string, fetchGroup server.FetchFunc) *httptest.Server {
	t.Helper()
	store, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return wacServerOn(t, store, fetchGroup)
}

func wacServerOn(t *testing.T, store storage.Backend, fetchGroup server.FetchFunc) *httptest.Server {
	t.Helper()
	return wacServerWith(t, store, func(c *server.Config) { c.FetchGroup = fetchGroup })
}

// wacServerWith starts a server with Web Access Control over store and
// the test Authenticator; mutate adjusts the rest of its configuration.
func wacServerWith(t *testing.T, store storage.Backend, mutate func(*server.Config)) *httptest.Server {
	t.Helper()
	base, _ := url.Parse("http://pod.example/")
	cfg := server.Config{BaseURL: base, Authenticator: testAgents{}}
	mutate(&cfg)
	srv, err := server.New(context.Background(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Drain(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// who is an agent of the scenario.
type who struct{ webid, client, issuer string }

func (w who) header() string {
	if w.webid == "" {
		return ""
	}
	return "Test " + w.webid + " " + w.client + " " + w.issuer
}

func sendAs(t *testing.T, ts *httptest.Server, as who, method, path, ct, body string) (int, http.Header, string) {
	t.Helper()
	return sendFrom(t, ts, as, "", method, path, ct, body)
}

const (
	aliceID     = "https://alice.example/profile/card#me"
	bobID       = "https://bob.example/profile/card#me"
	employee1   = "https://staff.clinic.example/ann#me"
	employee2   = "https://staff.clinic.example/ben#me"
	clinicApp   = "https://clinic.example/app/id"
	otherApp    = "https://games.example/app/id"
	clinicIDP   = "https://idp.clinic.example/"
	otherIDP    = "https://idp.other.example/"
	clinicGroup = "https://clinic.example/org/staff#group"
)

// rootACL gives Alice every mode on everything, and nobody else anything.
const rootACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.
`

// healthACL adds the Clinic's staff, through the Clinic's app, with tokens
// of the Clinic's identity provider, reading /alice/health/ and below.
const healthACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#clinic> a acl:Authorization; acl:agentGroup <` + clinicGroup + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read;
  acl:condition [ a acl:ClientCondition; acl:client <` + clinicApp + `> ],
                [ a acl:IssuerCondition; acl:issuer <` + clinicIDP + `> ].
`

// TestOrganisationScenario is the end-to-end scenario: a clinic, as
// a group of employees, may read Alice's health data and nothing else, only
// through its own app and with tokens of its own identity provider, until
// Alice withdraws the grant, which every server sharing the storage honours
// on the very next request.
func TestOrganisationScenario(t *testing.T) {
	t.Run("filesystem", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		organisationScenario(t, func() storage.Backend {
			store, err := filesystem.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			return store
		})
	})
	t.Run("minio", func(t *testing.T) {
		if os.Getenv("KLUIS_S3_ENDPOINT") == "" {
			t.Skip("KLUIS_S3_ENDPOINT is not set; bash .ci/test runs this on MinIO")
		}
		first := openS3(t).(*s3.Backend)
		organisationScenario(t, func() storage.Backend { return first })
	})
}

// organisationScenario runs the scenario; open returns a handle on the one
// storage the two servers share.
func organisationScenario(t *testing.T, open func() storage.Backend) {
	groupDoc := `@prefix vcard: <http://www.w3.org/2006/vcard/ns#>.
<#group> a vcard:Group; vcard:hasMember <` + employee1 + `>, <` + employee2 + `>.`
	fetches := 0
	fetch := func(_ context.Context, u string) ([]byte, string, error) {
		fetches++
		if u != "https://clinic.example/org/staff" {
			t.Errorf("fetched %s", u)
		}
		return []byte(groupDoc), "text/turtle", nil
	}
	one := wacServerOn(t, open(), fetch)
	two := wacServerOn(t, open(), fetch) // a second server process on the same storage

	alice := who{aliceID, "https://alice-app.example/id", "https://idp.alice.example/"}
	ann := who{employee1, clinicApp, clinicIDP}
	ben := who{employee2, clinicApp, clinicIDP}
	annOtherApp := who{employee1, otherApp, clinicIDP}
	annOtherIDP := who{employee1, clinicApp, otherIDP}
	bob := who{bobID, clinicApp, clinicIDP}

	// Without any ACL, the storage denies everything (WAC 1.0 §5.1).
	if st, _, _ := sendAs(t, one, alice, "PUT", "/alice/health/record", "text/plain", "x"); st != 403 {
		t.Fatalf("write without any ACL: %d, want 403", st)
	}
	if st, _, _ := sendAs(t, one, who{}, "GET", "/", "", ""); st != 401 {
		t.Fatalf("anonymous read without any ACL: %d, want 401", st)
	}

	// Alice's data. (The root ACL is seeded straight into storage, as a
	// hoster provisioning the pod would.)
	store := open()
	if _, err := store.Put(context.Background(), "r/.acl", strings.NewReader(rootACL), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	// Written past Kluis, the ACL moves no ACL generation: it takes effect
	// once the versions kept of the missing root ACL are a second old
	// (aclversions.go, aclVersionMaxAge).
	for _, p := range []string{"/alice/health/record", "/alice/finance/account"} {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			st, _, body := sendAs(t, one, alice, "PUT", p, "text/turtle", "<#it> a <#Thing>.")
			if st == 201 {
				break
			}
			if st != 403 || time.Now().After(deadline) {
				t.Fatalf("Alice PUT %s: %d %s", p, st, body)
			}
		}
	}
	if st, _, body := sendAs(t, one, alice, "PUT", "/alice/health/.acl", "text/turtle", healthACL); st != 201 {
		t.Fatalf("Alice PUT the health ACL: %d %s", st, body)
	}

	checks := []struct {
		name       string
		server     *httptest.Server
		as         who
		method     string
		path       string
		wantStatus int
	}{
		{"employee through the clinic's app reads health", one, ann, "GET", "/alice/health/record", 200},
		{"the other employee too, on the other server", two, ben, "GET", "/alice/health/record", 200},
		{"the health container itself", two, ann, "GET", "/alice/health/", 200},
		{"but not finance", one, ann, "GET", "/alice/finance/account", 403},
		{"and may not write health", one, ann, "PUT", "/alice/health/record", 403},
		{"nor read its ACL", one, ann, "GET", "/alice/health/.acl", 403},
		{"the same employee through another app", one, annOtherApp, "GET", "/alice/health/record", 403},
		{"a token from another issuer", one, annOtherIDP, "GET", "/alice/health/record", 403},
		{"Bob, not in the group, through the clinic's app", one, bob, "GET", "/alice/health/record", 403},
		{"anonymous", one, who{}, "GET", "/alice/health/record", 401},
		{"Alice herself", two, alice, "GET", "/alice/finance/account", 200},
	}
	for _, c := range checks {
		st, _, body := sendAs(t, c.server, c.as, c.method, c.path, "text/plain", "")
		if st != c.wantStatus {
			t.Errorf("%s: %s %s = %d, want %d (%s)", c.name, c.method, c.path, st, c.wantStatus, strings.TrimSpace(body))
		}
	}
	// WAC-Allow tells the employee what they may do, never more.
	if _, h, _ := sendAs(t, one, ann, "GET", "/alice/health/record", "", ""); h.Get("WAC-Allow") != `user="read",public=""` {
		t.Errorf("WAC-Allow for the employee = %q", h.Get("WAC-Allow"))
	}

	// Alice withdraws the grant, through the first server...
	ownerOnly := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.`
	if st, _, body := sendAs(t, one, alice, "PUT", "/alice/health/.acl", "text/turtle", ownerOnly); st != 204 {
		t.Fatalf("Alice replaces the health ACL: %d %s", st, body)
	}
	// ... and the very next request on every server is refused.
	for i, ts := range []*httptest.Server{one, two} {
		if st, _, _ := sendAs(t, ts, ann, "GET", "/alice/health/record", "", ""); st != 403 {
			t.Errorf("server %d after the withdrawal: %d, want 403", i+1, st)
		}
	}
	// Deleting the ACL falls back to the root's: still only Alice.
	if st, _, _ := sendAs(t, two, alice, "DELETE", "/alice/health/.acl", "", ""); st != 204 {
		t.Fatalf("Alice deletes the health ACL: %d", st)
	}
	if st, _, _ := sendAs(t, one, ben, "GET", "/alice/health/record", "", ""); st != 403 {
		t.Errorf("after deleting the ACL: %d, want 403", st)
	}
	if st, _, _ := sendAs(t, one, alice, "GET", "/alice/health/record", "", ""); st != 200 {
		t.Errorf("Alice after deleting the ACL: %d, want 200", st)
	}
	if fetches == 0 {
		t.Error("the group document was never fetched")
	}
}

// TestACLDiscoveryAndEditing: apps find the ACL through exactly one Link
// rel="acl" (404 while it does not exist), create it with a PATCH of only
// INSERT DATA (201), edit it by PATCH, and a write that would leave it
// unusable is refused and changes nothing.
func TestACLDiscoveryAndEditing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ts := wacServer(t, dir, nil)
	store, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Put(context.Background(), "r/.acl", strings.NewReader(rootACL), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	alice := who{aliceID, "https://app.example/id", "https://idp.example/"}
	if st, _, _ := sendAs(t, ts, alice, "PUT", "/doc", "text/turtle", "<#a> <#b> <#c>."); st != 201 {
		t.Fatalf("PUT /doc: %d", st)
	}
	_, h, _ := sendAs(t, ts, alice, "HEAD", "/doc", "", "")
	var acls []string
	for _, l := range parseLinkValues(h.Values("Link")) {
		if l.rel == "acl" {
			acls = append(acls, l.target)
		}
	}
	if len(acls) != 1 || acls[0] != "http://pod.example/doc.acl" {
		t.Fatalf("rel=acl links: %q", acls)
	}
	if st, _, _ := sendAs(t, ts, alice, "GET", "/doc.acl", "", ""); st != 404 {
		t.Errorf("GET of a missing ACL: %d, want 404", st)
	}
	insert := `INSERT DATA { <#owner> a <http://www.w3.org/ns/auth/acl#Authorization>;
  <http://www.w3.org/ns/auth/acl#agent> <` + aliceID + `>;
  <http://www.w3.org/ns/auth/acl#accessTo> </doc>;
  <http://www.w3.org/ns/auth/acl#mode> <http://www.w3.org/ns/auth/acl#Read>, <http://www.w3.org/ns/auth/acl#Control>. }`
	if st, _, body := sendAs(t, ts, alice, "PATCH", "/doc.acl", "application/sparql-update", insert); st != 201 {
		t.Fatalf("create the ACL by PATCH: %d %s", st, body)
	}
	_, h, _ = sendAs(t, ts, alice, "HEAD", "/doc.acl", "", "")
	var conds []string
	for _, l := range parseLinkValues(h.Values("Link")) {
		if l.rel == "http://www.w3.org/ns/auth/acl#condition" {
			conds = append(conds, l.target)
		}
	}
	if !strings.Contains(strings.Join(conds, " "), "ClientCondition") || !strings.Contains(strings.Join(conds, " "), "IssuerCondition") {
		t.Errorf("condition links on the ACL resource: %q", conds)
	}
	// Now Alice may read but not write /doc.
	if st, _, _ := sendAs(t, ts, alice, "PUT", "/doc", "text/turtle", "<#x> <#y> <#z>."); st != 403 {
		t.Errorf("PUT after the ACL took Write away: %d, want 403", st)
	}
	// An edit that leaves the ACL unparseable is refused and changes nothing.
	before, _, _ := store.Get(context.Background(), "r/doc.acl", storage.GetOptions{})
	old, _ := io.ReadAll(before)
	before.Close()
	if st, _, _ := sendAs(t, ts, alice, "PUT", "/doc.acl", "text/turtle", "this is { not turtle"); st != 400 {
		t.Errorf("PUT of a broken ACL: %d, want 400", st)
	}
	after, _, _ := store.Get(context.Background(), "r/doc.acl", storage.GetOptions{})
	now, _ := io.ReadAll(after)
	after.Close()
	if string(now) != string(old) {
		t.Error("a refused ACL write changed the ACL")
	}
}

type linkValue struct{ target, rel string }

// parseLinkValues reads "<target>; rel="a b"" elements of Link headers.
func parseLinkValues(values []string) []linkValue {
	var out []linkValue
	for _, v := range values {
		for _, el := range strings.Split(v, ",") {
			el = strings.TrimSpace(el)
			end := strings.IndexByte(el, '>')
			if !strings.HasPrefix(el, "<") || end < 0 {
				continue
			}
			target := el[1:end]
			for _, p := range strings.Split(el[end+1:], ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && k == "rel" {
					for _, rel := range strings.Fields(strings.Trim(val, `"`)) {
						out = append(out, linkValue{target, rel})
					}
				}
			}
		}
	}
	return out
}

// TestMetaNeedsWrite: anyone who may append to a container (a public
// inbox) may not append to its description resource; Write on the subject
// may (Kluis's choice, see acl/required.go).
func TestMetaNeedsWrite(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	for k, v := range map[string]string{
		"r/.acl": rootACL,
		"r/inbox/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:mode acl:Append.`,
		"r/inbox/": "",
	} {
		if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
			t.Fatal(err)
		}
	}
	ts := wacServerOn(t, store, nil)
	const insert = `INSERT DATA { <http://pod.example/inbox/> <http://purl.org/dc/terms/title> "mine now" }`
	bob, alice := who{bobID, "https://app.example/id", "https://idp.example/"}, who{aliceID, "https://app.example/id", "https://idp.example/"}
	if status, _, body := sendAs(t, ts, bob, "POST", "/inbox/", "text/plain", "a note"); status != 201 {
		t.Fatalf("bob appends to the inbox: %d %s", status, body)
	}
	if status, _, body := sendAs(t, ts, bob, "PATCH", "/inbox/.meta", "application/sparql-update", insert); status != 403 {
		t.Errorf("bob appends to the inbox's description: %d %s", status, body)
	}
	if status, _, body := sendAs(t, ts, alice, "PATCH", "/inbox/.meta", "application/sparql-update", insert); status/100 != 2 {
		t.Errorf("alice patches the inbox's description: %d %s", status, body)
	}
}

// TestLongNameMadeBeforeTheLimit: a resource whose name is so long that
// its ACL's key is over the key limit (made before such names were
// refused) has no ACL of its own: it inherits, rather than failing.
func TestLongNameMadeBeforeTheLimit(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	name := strings.Repeat("a", 253)
	for k, v := range map[string]string{"r/.acl": rootACL, "r/c/": "", "r/c/" + name: "old"} {
		if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
	ts := wacServerOn(t, store, nil)
	if status, _, body := sendAs(t, ts, who{aliceID, "a", "b"}, "GET", "/c/"+name, "", ""); status != 200 || body != "old" {
		t.Errorf("GET as the owner: %d %q", status, body)
	}
	if status, _, _ := sendAs(t, ts, who{bobID, "a", "b"}, "GET", "/c/"+name, "", ""); status != 403 {
		t.Errorf("GET as a stranger: %d", status)
	}
}
