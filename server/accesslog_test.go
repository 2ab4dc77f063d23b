package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/webid/webidtest"
)

// logServer serves pods over a folder with Solid-OIDC and WAC, and makes
// the pod alice owned by owner.
func logServer(t *testing.T, owner string, change func(*server.Config)) (*httptest.Server, *server.Server, storage.Backend) {
	t.Helper()
	ss := newSelfServed(t)
	store, f, ts, base := ss.store, ss.fetch, ss.ts, ss.base
	ctx := context.Background()
	pods, err := ldp.New(ctx, store, ldp.Config{BaseURL: base.String(), Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.CreatePod(ctx, "alice", ldp.PodOwner{WebID: owner}); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{BaseURL: base, Fetcher: f, Pods: true}
	if change != nil {
		change(&cfg)
	}
	srv, err := server.New(ctx, cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Drain(ctx) })
	ss.serve(t, srv)
	return ts, srv, store
}

// logPage reads a page of alice's log as p, and returns its items.
func logPage(t *testing.T, ts *httptest.Server, p *grantParty, query string) (map[string]any, []map[string]any) {
	t.Helper()
	st, _, b := grantCall(t, ts, p, "GET", "/alice/.access-log?"+query, "", "", "Accept", "application/ld+json")
	if st != 200 {
		t.Fatalf("GET the log ?%s: %d %s", query, st, b)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(b), &doc); err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	for _, it := range doc["orderedItems"].([]any) {
		items = append(items, it.(map[string]any))
	}
	return doc, items
}

// TestAccessLog: what others do in a pod is in its log, with what allowed
// it (an ACL authorization, a grant and its purposes) or how it was
// refused; the owner's own requests are not. Only the owner reads the
// log; nobody writes it; the owner clears it. It pages, filters, speaks
// Turtle, verifies, and is linked from the storage description.
func TestAccessLog(t *testing.T) {
	ctx := context.Background()
	issuer := webidtest.NewIssuer(t)
	alice, bob, org := newGrantParty(t, issuer), newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, srv, _ := logServer(t, alice.webID, nil)
	flush := func() {
		t.Helper()
		if err := srv.FlushAccessLog(ctx); err != nil {
			t.Fatal(err)
		}
	}
	put := func(path, body string) {
		t.Helper()
		if st, _, b := grantCall(t, ts, &alice, "PUT", path, "text/turtle", body); st != 201 && st != 205 && st != 204 {
			t.Fatalf("PUT %s: %d %s", path, st, b)
		}
	}
	const prefixes = "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n@prefix foaf: <http://xmlns.com/foaf/0.1/>.\n"
	owner := `<#owner> a acl:Authorization; acl:agent <` + alice.webID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.` + "\n"
	put("/alice/private/doc", "<#a> <#b> <#c>.")
	put("/alice/shared/doc", "<#a> <#b> <#c>.")
	put("/alice/shared/.acl", prefixes+owner+`<#bobRead> a acl:Authorization; acl:agent <`+bob.webID+`>; acl:default <./>; acl:mode acl:Read.`)
	put("/alice/public/doc", "<#a> <#b> <#c>.")
	put("/alice/public/.acl", prefixes+owner+`<#everyone> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`)
	put("/alice/data/doc", "<#a> <#b> <#c>.")

	// A grant to the organisation, for a purpose.
	st, _, b := grantCall(t, ts, &alice, "POST", "/.vc/issue", "application/json",
		grantIssueBody("SolidAccessGrant", "ConsentStatusExplicitlyGiven", `"isProvidedTo": "`+org.webID+`"`, `"`+ts.URL+`/alice/data/"`, ""))
	var grant map[string]any
	if st != 201 || json.Unmarshal([]byte(b), &grant) != nil {
		t.Fatalf("grant: %d %s", st, b)
	}
	grantID := grant["id"].(string)

	for _, c := range []struct {
		p            *grantParty
		method, path string
		want         int
	}{
		{nil, "GET", "/alice/private/doc", 401},
		{&bob, "GET", "/alice/private/doc", 403},
		{&bob, "GET", "/alice/shared/doc", 200},
		{&bob, "PUT", "/alice/shared/doc", 403},
		{nil, "GET", "/alice/public/doc", 200},
		{&org, "GET", "/alice/data/doc", 200},
		{&alice, "GET", "/alice/private/doc", 200},
	} {
		if st, _, b := grantCall(t, ts, c.p, c.method, c.path, "text/turtle", "<#x> <#y> <#z>."); st != c.want {
			t.Fatalf("%s %s: %d, want %d (%s)", c.method, c.path, st, c.want, b)
		}
	}
	flush()

	// The storage description links the log.
	logIRI := ts.URL + "/alice/.access-log"
	if st, _, b := grantCall(t, ts, &alice, "GET", "/alice/.well-known/solid", "", "", "Accept", "text/turtle"); st != 200 || !strings.Contains(b, "<"+logIRI+">") || !strings.Contains(b, "https://kluis.invalid/ns#accessLog") {
		t.Fatalf("storage description: %d %s", st, b)
	}
	// The collection.
	st, _, b = grantCall(t, ts, &alice, "GET", "/alice/.access-log", "", "", "Accept", "application/ld+json")
	if st != 200 || !strings.Contains(b, `"type":"OrderedCollection"`) || !strings.Contains(b, `"first":"`+logIRI+`?page=first"`) {
		t.Fatalf("the collection: %d %s", st, b)
	}
	doc, items := logPage(t, ts, &alice, "page=first")
	if doc["type"] != "OrderedCollectionPage" || doc["partOf"] != logIRI {
		t.Fatalf("page: %v", doc)
	}
	// Newest first; the owner's own read is not there.
	want := []struct {
		actor, typ, object string
		status             float64
		authz, grant       string
	}{
		{org.webID, "Read", "/alice/data/doc", 200, "", grantID},
		{"kluis:Anonymous", "Read", "/alice/public/doc", 200, ts.URL + "/alice/public/.acl#everyone", ""},
		{bob.webID, "Update", "/alice/shared/doc", 403, "", ""},
		{bob.webID, "Read", "/alice/shared/doc", 200, ts.URL + "/alice/shared/.acl#bobRead", ""},
		{bob.webID, "Read", "/alice/private/doc", 403, "", ""},
		{"kluis:Anonymous", "Read", "/alice/private/doc", 401, "", ""},
	}
	if len(items) != len(want) {
		t.Fatalf("%d entries, want %d: %v", len(items), len(want), items)
	}
	for i, w := range want {
		it := items[i]
		status := it["result"].(map[string]any)["kluis:status"]
		if it["actor"] != w.actor || it["type"] != w.typ || it["object"] != ts.URL+w.object || status != w.status ||
			(w.authz != "") != (it["kluis:authorization"] != nil) || w.authz != "" && it["kluis:authorization"] != w.authz ||
			(w.grant != "") != (it["kluis:grant"] != nil) || w.grant != "" && it["kluis:grant"] != w.grant {
			t.Errorf("entry %d: %v, want %+v", i, it, w)
		}
		if !strings.HasPrefix(it["id"].(string), logIRI+"#") {
			t.Errorf("entry %d id %v", i, it["id"])
		}
	}
	if p, _ := items[0]["kluis:purpose"].([]any); len(p) != 1 || p[0] != "https://w3id.org/dpv#ServiceProvision" {
		t.Errorf("the grant's purposes: %v", items[0]["kluis:purpose"])
	}
	if items[1]["kluis:client"] != nil || items[3]["kluis:client"] != "https://app.example/id" || items[3]["kluis:issuer"] != issuer.URL {
		t.Errorf("client and issuer: %v / %v", items[1], items[3])
	}

	// Filters and paging.
	if _, got := logPage(t, ts, &alice, "page=first&agent="+url.QueryEscape(bob.webID)); len(got) != 3 {
		t.Errorf("by agent: %d entries", len(got))
	}
	if _, got := logPage(t, ts, &alice, "page=first&resource="+url.QueryEscape(ts.URL+"/alice/private/")); len(got) != 2 {
		t.Errorf("by container: %d entries", len(got))
	}
	from := items[3]["published"].(string)
	to := items[1]["published"].(string)
	if _, got := logPage(t, ts, &alice, "page=first&from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to)); len(got) != 2 || got[0]["id"] != items[2]["id"] {
		t.Errorf("by time: %v", got)
	}
	if st, _, _ := grantCall(t, ts, &alice, "GET", "/alice/.access-log?page=first&from=yesterday", "", ""); st != 400 {
		t.Errorf("a bad time: %d", st)
	}
	var paged []any
	next := "page=first&limit=4"
	var prevLink string
	for i := 0; next != ""; i++ {
		st, h, b := grantCall(t, ts, &alice, "GET", "/alice/.access-log?"+next, "", "")
		var d map[string]any
		if st != 200 || json.Unmarshal([]byte(b), &d) != nil {
			t.Fatalf("page %d: %d %s", i, st, b)
		}
		paged = append(paged, d["orderedItems"].([]any)...)
		next = ""
		if n, ok := d["next"].(string); ok {
			if !strings.Contains(h.Get("Link"), "<"+n+`>; rel="next"`) {
				t.Errorf("no next Link header: %q", h.Get("Link"))
			}
			next = strings.TrimPrefix(n, logIRI+"?")
		}
		if p, ok := d["prev"].(string); ok {
			prevLink = p
		}
	}
	if len(paged) != len(items) || paged[4].(map[string]any)["id"] != items[4]["id"] {
		t.Errorf("paging by 4: %d entries", len(paged))
	}
	if _, back := logPage(t, ts, &alice, strings.TrimPrefix(prevLink, logIRI+"?")); len(back) != 4 || back[0]["id"] != items[0]["id"] {
		t.Errorf("prev page: %v", back)
	}

	// Turtle.
	st, _, b = grantCall(t, ts, &alice, "GET", "/alice/.access-log?page=first", "", "", "Accept", "text/turtle")
	g, err := rdfx.Parse(strings.NewReader(b), rdfx.Turtle, logIRI, rdfx.ParseOptions{})
	if st != 200 || err != nil {
		t.Fatalf("Turtle: %d %v %s", st, err, b)
	}
	if !g.Has(rdfx.Triple{S: rdfx.IRI(items[0]["id"].(string)), P: rdfx.IRI("https://kluis.invalid/ns#grant"), O: rdfx.IRI(grantID)}) ||
		!g.Has(rdfx.Triple{S: rdfx.IRI(items[0]["id"].(string)), P: rdfx.IRI(rdfx.RDFType), O: rdfx.IRI("https://www.w3.org/ns/activitystreams#Read")}) {
		t.Errorf("Turtle lacks the grant entry: %s", b)
	}

	// Verification.
	st, _, b = grantCall(t, ts, &alice, "GET", "/alice/.access-log?verify", "", "")
	if st != 200 || !strings.Contains(b, `"kluis:verified":true`) {
		t.Errorf("verify: %d %s", st, b)
	}

	// Only the owner reads; nobody writes; the owner clears.
	for _, c := range []struct {
		p            *grantParty
		method, path string
		want         int
	}{
		{nil, "GET", "/alice/.access-log", 401},
		{&bob, "GET", "/alice/.access-log?page=first", 403},
		{&org, "GET", "/alice/.access-log", 403},
		{&bob, "GET", "/alice/.access-log?verify", 403},
		{&bob, "DELETE", "/alice/.access-log", 403},
		{nil, "DELETE", "/alice/.access-log", 401},
		{&alice, "PUT", "/alice/.access-log", 405},
		{&alice, "POST", "/alice/.access-log", 405},
		{&alice, "PATCH", "/alice/.access-log", 405},
		{&bob, "PUT", "/alice/.access-log", 405},
		{&alice, "PUT", "/alice/.access-log/x", 405},
	} {
		if st, _, b := grantCall(t, ts, c.p, c.method, c.path, "text/turtle", "<#x> <#y> <#z>."); st != c.want {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, st, c.want, b)
		}
	}
	// A POST into the root cannot take the name.
	if st, h, _ := grantCall(t, ts, &alice, "POST", "/alice/", "text/turtle", "<#x> <#y> <#z>.", "Slug", ".access-log"); st != 201 || strings.HasSuffix(h.Get("Location"), "/.access-log") {
		t.Errorf("POST with the log's name: %d %s", st, h.Get("Location"))
	}
	flush()
	_, items = logPage(t, ts, &alice, "page=first&limit=500")
	if len(items) != len(want)+7 || items[0]["object"] != logIRI+"/x" && items[0]["object"] != logIRI {
		t.Errorf("the refused attempts on the log are logged: %d entries", len(items))
	}
	if st, _, _ := grantCall(t, ts, &alice, "DELETE", "/alice/.access-log", "", ""); st != 204 {
		t.Fatalf("the owner clears the log: %d", st)
	}
	flush()
	if _, items := logPage(t, ts, &alice, "page=first"); len(items) != 0 {
		t.Errorf("after clearing: %d entries", len(items))
	}
}

// TestAccessLogSettings: with owners included, the owner's requests are
// logged; turned off, nothing is, and there is no log to read.
func TestAccessLogSettings(t *testing.T) {
	ctx := context.Background()
	issuer := webidtest.NewIssuer(t)
	alice := newGrantParty(t, issuer)
	ts, srv, _ := logServer(t, alice.webID, func(c *server.Config) { c.AccessLog.IncludeOwners = true })
	grantCall(t, ts, &alice, "GET", "/alice/profile/card", "", "")
	if err := srv.FlushAccessLog(ctx); err != nil {
		t.Fatal(err)
	}
	if _, items := logPage(t, ts, &alice, "page=first"); len(items) != 1 || items[0]["actor"] != alice.webID {
		t.Errorf("owners included: %v", items)
	}

	ts, _, store := logServer(t, alice.webID, func(c *server.Config) { c.AccessLog.Off = true })
	grantCall(t, ts, nil, "GET", "/alice/profile/card", "", "")
	if st, _, _ := grantCall(t, ts, &alice, "GET", "/alice/.access-log", "", ""); st != 404 {
		t.Errorf("the log when off: %d", st)
	}
	for info := range store.List(ctx, "sys/") {
		if info.Key == "sys/access-log/" {
			t.Errorf("a log was written while off")
		}
	}
}

// TestAccessLogRetention: the owner asks for a shorter retention, within
// the server's; bad documents are refused.
func TestAccessLogRetention(t *testing.T) {
	issuer := webidtest.NewIssuer(t)
	alice, bob := newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, _, _ := logServer(t, alice.webID, func(c *server.Config) { c.AccessLog.MaxAge = 30 * 24 * time.Hour })
	if st, _, b := grantCall(t, ts, &alice, "GET", "/alice/.access-log?retention", "", ""); st != 200 || !strings.Contains(b, `"kluis:maxAgeDays":30`) {
		t.Fatalf("retention: %d %s", st, b)
	}
	for _, c := range []struct {
		p          *grantParty
		ctype, doc string
		want       int
	}{
		{&alice, "application/json", `{"maxAgeDays": 7, "maxBytes": 100000}`, 204},
		{&alice, "application/json", `{"maxAgeDays": -1}`, 400},
		{&alice, "application/json", `{"keepForever": true}`, 400},
		{&alice, "text/turtle", `<#a> <#b> <#c>.`, 400},
		{&bob, "application/json", `{"maxAgeDays": 1}`, 403},
		{nil, "application/json", `{"maxAgeDays": 1}`, 401},
	} {
		if st, _, b := grantCall(t, ts, c.p, "PUT", "/alice/.access-log?retention", c.ctype, c.doc); st != c.want {
			t.Errorf("PUT retention %s: %d, want %d (%s)", c.doc, st, c.want, b)
		}
	}
	if st, _, b := grantCall(t, ts, &alice, "GET", "/alice/.access-log?retention", "", ""); st != 200 || !strings.Contains(b, `"kluis:maxAgeDays":7`) || !strings.Contains(b, `"kluis:maxBytes":100000`) {
		t.Fatalf("retention after PUT: %d %s", st, b)
	}
	grantCall(t, ts, &alice, "PUT", "/alice/.access-log?retention", "application/json", `{"maxAgeDays": 365}`)
	if st, _, b := grantCall(t, ts, &alice, "GET", "/alice/.access-log?retention", "", ""); st != 200 || !strings.Contains(b, `"kluis:maxAgeDays":30`) {
		t.Fatalf("a longer retention than the server's: %d %s", st, b)
	}
}

// TestAccessLogLive: the owner subscribes to the log with a WebSocket
// channel and hears of an access when its batch is written; nobody else
// may subscribe to it, whatever the pod's ACLs say.
func TestAccessLogLive(t *testing.T) {
	ctx := context.Background()
	store, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pods, err := ldp.New(ctx, store, ldp.Config{BaseURL: testBaseURL, Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.CreatePod(ctx, "alice", ldp.PodOwner{WebID: aliceID}); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, store, func(cfg *server.Config) {
		cfg.Authenticator = testAgents{}
		cfg.Permissions = nil
		cfg.Pods = true
	})
	// The pod's root is readable by Bob: still not its log.
	mustSend(t, ts, alice, "PUT", "/alice/.acl", "text/turtle", strings.ReplaceAll(sharedACL, "<./>", "</alice/>"), 204)
	for _, as := range []who{bob, {}} {
		if st, d := subscribe(t, ts, as, notify.WebSocket, wsRequest(notify.WebSocket, "/alice/.access-log", "")); st != 403 && st != 401 {
			t.Errorf("%q subscribes to the log: %d %v", as.webid, st, d)
		}
	}
	conn := dialChannel(t, ts, alice, "/alice/.access-log", "")
	mustSend(t, ts, bob, "GET", "/alice/profile/card", "", "", 200)
	if err := ts.srv.FlushAccessLog(ctx); err != nil {
		t.Fatal(err)
	}
	if a := next(t, conn); a.Type != "Update" || a.Object != testBaseURL+"alice/.access-log" {
		t.Errorf("notification %+v", a)
	}
}

// TestAccessLogView: the access page's view reads the same entries, with
// their IRIs, by the pod's root IRI; another IRI is refused.
func TestAccessLogView(t *testing.T) {
	ctx := context.Background()
	issuer := webidtest.NewIssuer(t)
	alice, bob := newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, srv, _ := logServer(t, alice.webID, nil)
	grantCall(t, ts, &bob, "GET", "/alice/profile/card", "", "")
	if err := srv.FlushAccessLog(ctx); err != nil {
		t.Fatal(err)
	}
	v := srv.AccessLog()
	es, next, err := v.Read(ctx, ts.URL+"/alice/", consent.LogQuery{Limit: 10})
	if err != nil || next != "" || len(es) != 1 || es[0].Agent != bob.webID || es[0].Status != 200 || es[0].Mode != "Read" ||
		!strings.HasPrefix(es[0].ID, ts.URL+"/alice/.access-log#") || !strings.HasPrefix(es[0].Authorization, ts.URL+"/alice/") {
		t.Fatalf("view: %+v %q %v", es, next, err)
	}
	if _, _, err := v.Read(ctx, ts.URL+"/alice/profile/", consent.LogQuery{}); err == nil {
		t.Errorf("a view of a non-root IRI")
	}
}

// TestAccessLogPatchMode: a PATCH is logged with the mode its content
// needs: Append for one that only inserts, Write for one that deletes.
func TestAccessLogPatchMode(t *testing.T) {
	ctx := context.Background()
	issuer := webidtest.NewIssuer(t)
	alice, bob := newGrantParty(t, issuer), newGrantParty(t, issuer)
	ts, srv, _ := logServer(t, alice.webID, nil)
	const prefixes = "@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n"
	for _, w := range [][2]string{
		{"/alice/drop/doc", "<#a> <#b> <#c>."},
		{"/alice/drop/.acl", prefixes + `<#owner> a acl:Authorization; acl:agent <` + alice.webID + `>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bob.webID + `>; acl:default <./>; acl:mode acl:Append.`},
	} {
		if st, _, b := grantCall(t, ts, &alice, "PUT", w[0], "text/turtle", w[1]); st/100 != 2 {
			t.Fatalf("PUT %s: %d %s", w[0], st, b)
		}
	}
	const patchType = "text/n3"
	insert := `@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { <#x> <#y> <#z>. }.`
	remove := `@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:deletes { <#a> <#b> <#c>. }.`
	if st, _, b := grantCall(t, ts, &bob, "PATCH", "/alice/drop/doc", patchType, insert); st/100 != 2 {
		t.Fatalf("bob's insert: %d %s", st, b)
	}
	if st, _, b := grantCall(t, ts, &bob, "PATCH", "/alice/drop/doc", patchType, remove); st != 403 {
		t.Fatalf("bob's delete: %d %s", st, b)
	}
	if err := srv.FlushAccessLog(ctx); err != nil {
		t.Fatal(err)
	}
	_, items := logPage(t, ts, &alice, "page=first")
	if len(items) != 2 || items[0]["kluis:mode"] != "acl:Write" || items[1]["kluis:mode"] != "acl:Append" {
		t.Fatalf("the PATCHes' modes, newest first: %v", items)
	}
}
