package server_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/consent"
)

// fakeLog is an access log in memory, in pages of two, newest first;
// it remembers what it was asked.
type fakeLog struct {
	mu      sync.Mutex
	entries []consent.LogEntry
	asked   []consent.LogQuery
	storage []string
}

func (f *fakeLog) Read(_ context.Context, storage string, q consent.LogQuery) ([]consent.LogEntry, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, q)
	f.storage = append(f.storage, storage)
	start := 0
	if q.Cursor == "page2" {
		start = 2
	}
	end := min(start+2, len(f.entries))
	next := ""
	if end < len(f.entries) {
		next = "page2"
	}
	return f.entries[start:end], next, nil
}

// accessPerson is a person signed up on the pages with a pod, in a
// browser: their cookies and the account page's CSRF token.
type accessPerson struct {
	browser *http.Client
	webID   string
	pod     string
}

func signUpWithPod(t *testing.T, ts *testServer, name string) accessPerson {
	t.Helper()
	b := formClient(t, ts)
	_, tok := page(t, b, "/.account/signup/")
	f := url.Values{"csrf": {tok}, "email": {name + "@example.org"}, "password": {"long enough"}, "password2": {"long enough"}, "pod": {name}, "name": {name}}
	if res := postForm(t, b, "/.account/signup/", f, ""); res.status != 303 {
		t.Fatalf("sign-up %s: %d %s", name, res.status, res.text)
	}
	return accessPerson{browser: b, webID: testBaseURL + name + "/profile/card#me", pod: testBaseURL + name + "/"}
}

// testAuth is the Authorization header of the test Authenticator.
func testAuth(webID string) map[string]string {
	return map[string]string{"authorization": "Test " + webID + " https://app.example/id https://idp.example/"}
}

var (
	ruleBlock   = regexp.MustCompile(`(?s)<div class="item" data-testid="rule">(.*?)</div>`)
	ruleID      = regexp.MustCompile(`name="rule" value="([^"]+)"`)
	ruleACL     = regexp.MustCompile(`name="acl" value="([^"]+)"`)
	testidBlock = regexp.MustCompile(`data-testid="(grant|request|denial|access)"(?: data-state="[a-z]+")? data-iri="([^"]+)"`)
)

// testids lists the data-iri of the page's elements by data-testid.
func testids(html string) map[string][]string {
	out := map[string][]string{}
	for _, m := range testidBlock.FindAllStringSubmatch(html, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// TestAccessPage: the owner of a pod sees its access rules, the requests
// waiting, the grants and the log (from a fake), and removes a rule,
// allows, denies and revokes from the page; the change holds at the
// next request. Others are refused, and forms without the token or from
// another site too.
func TestAccessPage(t *testing.T) {
	log := &fakeLog{}
	ts, _ := accountServer(t, backends()[0].open(t), func(c *server.Config) { c.AccessLog.Reader = log })
	alice := signUpWithPod(t, ts, "alice")
	bob := signUpWithPod(t, ts, "bob")
	api := publicClient(ts, false)
	const org = "https://org.example/profile#org"
	pagePath := "/.vc/access?" + url.Values{"storage": {alice.pod}}.Encode()

	// Alice's data: a shared folder with rules of every kind, a private one.
	for _, p := range []string{"shared/doc", "private/doc"} {
		if r := call(t, api, "PUT", alice.pod+p, mergeHeaders(testAuth(alice.webID), map[string]string{"content-type": "text/turtle"}), "<#a> <#b> <#c>."); r.status != 201 {
			t.Fatalf("PUT %s: %d %s", p, r.status, r.text)
		}
	}
	sharedACL := `@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + alice.webID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
<#friends> a acl:Authorization; acl:agentGroup <https://groups.example/friends#g>; acl:default <./>; acl:mode acl:Append.
<#app> a acl:Authorization; acl:agent <https://carol.example/#me>; acl:origin <https://app.example>; acl:accessTo <./>; acl:mode acl:Write;
  acl:condition [ a acl:ClientCondition; acl:client <https://app.example/id> ].
<#issuer> a acl:Authorization; acl:agentClass acl:AuthenticatedAgent; acl:default <./>; acl:mode acl:Read;
  acl:condition [ a acl:IssuerCondition; acl:issuer <https://idp.example/> ].`
	if r := call(t, api, "PUT", alice.pod+"shared/.acl", mergeHeaders(testAuth(alice.webID), map[string]string{"content-type": "text/turtle"}), sharedACL); r.status != 201 {
		t.Fatalf("PUT the ACL: %d %s", r.status, r.text)
	}

	// The organisation asks three times.
	var requests []string
	for range 3 {
		r := call(t, api, "POST", testBaseURL+".vc/issue", mergeHeaders(testAuth(org), map[string]string{"content-type": "application/json"}),
			grantIssueBody("SolidAccessRequest", "ConsentStatusRequested", `"isConsentForDataSubject": "`+alice.webID+`"`, `"`+alice.pod+`private/"`, ""))
		if r.status != 201 {
			t.Fatalf("request: %d %s", r.status, r.text)
		}
		requests = append(requests, str(t, r.json, "id"))
	}

	// Who may see the page: not someone logged out, nor bob.
	anon := formClient(t, ts)
	if r := call(t, anon, "GET", testBaseURL+strings.TrimPrefix(pagePath, "/"), nil, ""); r.status != 303 ||
		!strings.HasPrefix(r.header.Get("Location"), "/.account/login/?return=") {
		t.Errorf("logged out: %d %v", r.status, r.header)
	}
	if r := call(t, bob.browser, "GET", testBaseURL+strings.TrimPrefix(pagePath, "/"), nil, ""); r.status != 403 || !strings.Contains(r.text, "not yours") ||
		strings.Contains(r.text, requests[0]) || r.header.Get("Content-Security-Policy") == "" {
		t.Errorf("bob on alice's page: %d %s", r.status, r.text)
	}
	for _, q := range []string{"storage=" + url.QueryEscape(alice.pod+"shared/"), "storage=https://elsewhere.example/", ""} {
		if r := call(t, alice.browser, "GET", testBaseURL+".vc/access?"+q, nil, ""); r.status != 403 && r.status != 400 {
			t.Errorf("page of %q: %d", q, r.status)
		}
	}
	if html, _ := page(t, bob.browser, "/.vc/access?"+url.Values{"storage": {bob.pod}}.Encode()); len(testids(html)["request"]) != 0 {
		t.Errorf("bob sees alice's requests")
	}

	// The account page links to the access page of each pod.
	if html, _ := page(t, alice.browser, "/.account/"); !strings.Contains(strings.ToLower(html), strings.ToLower(`href="/.vc/access?storage=`+url.QueryEscape(alice.pod)+`"`)) {
		t.Errorf("the account page does not link the access page:\n%s", html)
	}

	html, tok := page(t, alice.browser, pagePath)
	if got := testids(html)["request"]; !slices.Equal(sortedCopy(got), sortedCopy(requests)) {
		t.Errorf("requests on the page %v, want %v", got, requests)
	}
	for _, want := range []string{
		"everyone, also people not logged in", "anyone logged in", "the members of the group https://groups.example/friends#g",
		"only through apps on https://app.example", "only with the app https://app.example/id", "only when logged in through https://idp.example/",
		"https://carol.example/#me", "Service provision (https://w3id.org/dpv#ServiceProvision)", org,
		"No organisation has a grant now.", "No one else has made requests to your pod.",
		"<strong>everyone, also people not logged in</strong> may see this folder and everything in it.",
		"may add to everything in this folder that has no rules of its own.",
		"<strong>https://carol.example/#me</strong> may change and delete this folder, but not what is in it, only through apps on https://app.example, only with the app https://app.example/id.",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// Allow the first request, deny the second.
	form := func(v url.Values) url.Values {
		v.Set("csrf", tok)
		v.Set("storage", alice.pod)
		return v
	}
	r := postForm(t, alice.browser, "/.vc/access", form(url.Values{"action": {"approve"}, "request": {requests[0]}}), "")
	if r.status != 303 || !strings.Contains(r.header.Get("Location"), "done=approved") {
		t.Fatalf("approve: %d %s", r.status, r.text)
	}
	if r := postForm(t, alice.browser, "/.vc/access", form(url.Values{"action": {"deny"}, "request": {requests[1]}}), ""); r.status != 303 || !strings.Contains(r.header.Get("Location"), "done=denied") {
		t.Fatalf("deny: %d %s", r.status, r.text)
	}
	// Bob cannot answer alice's third request from his page.
	_, bobTok := page(t, bob.browser, "/.vc/access?"+url.Values{"storage": {bob.pod}}.Encode())
	if r := postForm(t, bob.browser, "/.vc/access", url.Values{"csrf": {bobTok}, "storage": {bob.pod}, "action": {"approve"}, "request": {requests[2]}}, ""); r.status != 400 {
		t.Errorf("bob approves alice's request: %d %s", r.status, r.text)
	}
	html, _ = page(t, alice.browser, pagePath)
	ids := testids(html)
	if len(ids["grant"]) != 1 || len(ids["denial"]) != 1 || !slices.Equal(ids["request"], requests[2:]) {
		t.Fatalf("after the decisions: %v", ids)
	}
	grant := ids["grant"][0]
	if !strings.Contains(html, `data-testid="grant" data-state="active" data-iri="`+grant+`"`) {
		t.Errorf("the grant is not shown as active")
	}
	if !strings.Contains(html, "may see") || !strings.Contains(html, "You refused.") {
		t.Errorf("after the decisions the page says:\n%s", html)
	}
	if r := call(t, api, "GET", alice.pod+"private/doc", testAuth(org), ""); r.status != 200 {
		t.Fatalf("the organisation reads with its grant: %d", r.status)
	}

	// The log, from the fake: what the organisation read under the grant,
	// a refusal, and paging.
	log.mu.Lock()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	log.entries = []consent.LogEntry{
		{ID: alice.pod + ".access-log#e3", Time: now, Agent: org, Resource: alice.pod + "private/doc", Method: "GET", Mode: "Read", Status: 200,
			Grant: grant, Purposes: []string{"https://w3id.org/dpv#ServiceProvision"}},
		{ID: alice.pod + ".access-log#e2", Time: now.Add(-time.Minute), Resource: alice.pod + "private/doc", Method: "GET", Mode: "Read", Status: 401},
		{ID: alice.pod + ".access-log#e1", Time: now.Add(-time.Hour), Agent: "https://carol.example/#me", Resource: alice.pod + "shared/doc", Method: "PUT", Status: 204,
			Authorization: alice.pod + "shared/.acl#app"},
	}
	log.mu.Unlock()
	html, _ = page(t, alice.browser, pagePath)
	if got := testids(html)["access"]; !slices.Equal(got, []string{alice.pod + ".access-log#e3", alice.pod + ".access-log#e2"}) {
		t.Errorf("log entries on the page: %v", got)
	}
	for _, want := range []string{`title="` + grant + `">under your grant</span>`, "for Service provision (https://w3id.org/dpv#ServiceProvision)", "someone not logged in", "refused", `href="` + alice.pod + `.access-log"`,
		"By organisation and grant", "log=page2"} {
		if !strings.Contains(html, want) {
			t.Errorf("the log section lacks %q", want)
		}
	}
	html, _ = page(t, alice.browser, pagePath+"&log=page2")
	if got := testids(html)["access"]; !slices.Equal(got, []string{alice.pod + ".access-log#e1"}) || strings.Contains(html, "Older entries") ||
		!strings.Contains(html, `title="`+alice.pod+`shared/.acl#app">by the rule shared/.acl#app</span>`) {
		t.Errorf("the second page of the log: %v", got)
	}
	log.mu.Lock()
	if last := log.asked[len(log.asked)-1]; last.Cursor != "page2" || last.Limit <= 0 || log.storage[len(log.storage)-1] != alice.pod {
		t.Errorf("the log was asked %+v for %v", last, log.storage)
	}
	log.mu.Unlock()

	// The organisation's requests alone: from its grant, the log filtered
	// on it, and the filter kept on the next page.
	whoLink := "/.vc/access?" + url.Values{"storage": {alice.pod}, "who": {org}}.Encode() + "#log"
	html, _ = page(t, alice.browser, pagePath)
	if !strings.Contains(html, `href="`+template.HTMLEscapeString(whoLink)+`">What it did</a>`) {
		t.Errorf("the grant does not link its organisation's requests (%s)", whoLink)
	}
	html, _ = page(t, alice.browser, pagePath+"&who="+url.QueryEscape(org))
	log.mu.Lock()
	if last := log.asked[len(log.asked)-1]; last.Agent != org {
		t.Errorf("the filtered page asked the log %+v", last)
	}
	log.mu.Unlock()
	if !strings.Contains(html, "Requests by ") || !strings.Contains(html, "requests</a>") ||
		!strings.Contains(html, "log=page2&amp;storage="+url.QueryEscape(alice.pod)+"&amp;who="+url.QueryEscape(org)+"#log") {
		t.Errorf("the page filtered on the organisation:\n%s", html)
	}

	// Revoke: the organisation's next read fails.
	if r := postForm(t, alice.browser, "/.vc/access", form(url.Values{"action": {"revoke"}, "grant": {grant}}), ""); r.status != 303 {
		t.Fatalf("revoke: %d %s", r.status, r.text)
	}
	if r := call(t, api, "GET", alice.pod+"private/doc", testAuth(org), ""); r.status != 403 {
		t.Errorf("the organisation reads after the revocation: %d", r.status)
	}
	html, _ = page(t, alice.browser, pagePath)
	if ids := testids(html); len(ids["grant"]) != 1 || !strings.Contains(html, `data-testid="grant" data-state="revoked"`) || !strings.Contains(html, "You revoked this grant on") || !strings.Contains(html, "No organisation has a grant now.") || !strings.Contains(html, "asked to see") {
		t.Errorf("after the revocation: %v", ids)
	}

	// Remove the public rule: the anonymous read fails after it.
	if r := call(t, api, "GET", alice.pod+"shared/doc", nil, ""); r.status != 200 {
		t.Fatalf("anonymous read before: %d", r.status)
	}
	find := func(html, words string) url.Values {
		for _, m := range ruleBlock.FindAllStringSubmatch(html, -1) {
			if strings.Contains(m[1], words) && strings.Contains(m[1], alice.pod+"shared/.acl") {
				v := url.Values{"action": {"remove"}}
				if id := ruleID.FindStringSubmatch(m[1]); id != nil {
					v.Set("rule", id[1])
					v.Set("acl", ruleACL.FindStringSubmatch(m[1])[1])
				}
				return v
			}
		}
		t.Fatalf("no rule with %q", words)
		return nil
	}
	public := find(html, "everyone, also people not logged in")
	// Without the token, with another's token, from another site: refused.
	for name, tc := range map[string]struct {
		v      url.Values
		origin string
		who    *http.Client
	}{
		"no token":     {url.Values{"storage": {alice.pod}, "action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}, "", alice.browser},
		"bob's token":  {url.Values{"csrf": {bobTok}, "storage": {alice.pod}, "action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}, "", alice.browser},
		"other origin": {form(url.Values{"action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}), "https://evil.example", alice.browser},
		"null origin":  {form(url.Values{"action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}), "null", alice.browser},
		"bob's cookie": {url.Values{"csrf": {bobTok}, "storage": {alice.pod}, "action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}, "", bob.browser},
	} {
		r := postForm(t, tc.who, "/.vc/access", tc.v, tc.origin)
		if r.status != 403 {
			t.Errorf("%s: %d %s", name, r.status, r.text)
		}
	}
	if r := call(t, alice.browser, "POST", testBaseURL+".vc/access", map[string]string{"content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "cross-site"},
		form(url.Values{"action": {"remove"}, "rule": public["rule"], "acl": public["acl"]}).Encode()); r.status != 403 {
		t.Errorf("Sec-Fetch-Site cross-site: %d", r.status)
	}
	if r := call(t, api, "GET", alice.pod+"shared/doc", nil, ""); r.status != 200 {
		t.Fatalf("a refused form changed the rules: %d", r.status)
	}
	if r := postForm(t, alice.browser, "/.vc/access", form(public), ""); r.status != 303 || !strings.Contains(r.header.Get("Location"), "done=removed") {
		t.Fatalf("remove: %d %s", r.status, r.text)
	}
	if r := call(t, api, "GET", alice.pod+"shared/doc", nil, ""); r.status != 401 {
		t.Errorf("anonymous read after the removal: %d", r.status)
	}
	if r := call(t, api, "GET", alice.pod+"shared/doc", testAuth(alice.webID), ""); r.status != 200 {
		t.Errorf("alice reads after the removal: %d", r.status)
	}
	// Again, from the stale page: the rule is gone, said plainly.
	if r := postForm(t, alice.browser, "/.vc/access", form(public), ""); r.status != 409 || !strings.Contains(r.text, "no longer there") {
		t.Errorf("removing it twice: %d %s", r.status, r.text)
	}
	// Her own Control has no button, and the form is refused.
	html, _ = page(t, alice.browser, pagePath)
	own := url.Values{"action": {"remove"}, "rule": {alice.pod + "shared/.acl#owner"}, "acl": {alice.pod + "shared/.acl"}}
	if !strings.Contains(html, "it cannot be removed here") {
		t.Errorf("the owner's rule has a Remove button")
	}
	if r := postForm(t, alice.browser, "/.vc/access", form(own), ""); r.status != 409 || !strings.Contains(r.text, "control of your pod") {
		t.Errorf("removing her own control: %d %s", r.status, r.text)
	}
	// Bad input is a clear 4xx.
	for _, v := range []url.Values{
		{"action": {"remove"}, "rule": {"x"}, "acl": {bob.pod + ".acl"}},
		{"action": {"remove"}, "rule": {"x"}, "acl": {alice.pod + "shared/doc"}},
		{"action": {"revoke"}, "grant": {"https://elsewhere.example/vc/1"}},
		{"action": {"fly"}},
	} {
		if r := postForm(t, alice.browser, "/.vc/access", form(v), ""); r.status != 400 {
			t.Errorf("%v: %d %s", v, r.status, r.text)
		}
	}
	if r := postForm(t, alice.browser, "/.vc/access", url.Values{"csrf": {strings.Repeat("x", 20<<10)}}, ""); r.status != 413 {
		t.Errorf("a huge form: %d", r.status)
	}
}

// TestAccessPageLogOff: without an access log the page says so.
func TestAccessPageLogOff(t *testing.T) {
	ts, _ := accountServer(t, backends()[0].open(t), func(c *server.Config) { c.AccessLog.Off = true })
	alice := signUpWithPod(t, ts, "alice")
	html, _ := page(t, alice.browser, "/.vc/access?"+url.Values{"storage": {alice.pod}}.Encode())
	if !strings.Contains(html, "The access log is off on this server") || strings.Contains(html, ".access-log") {
		t.Errorf("the page without a log:\n%s", html)
	}
}

func mergeHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
