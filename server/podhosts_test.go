package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage/memory"
)

// TestPodSubdomains: with pods on subdomains, a pod created through the
// account API lives at http://<name>.<base host>/: its WebID, links,
// locations and access control all speak of that host, and requests for
// it reach the pod.
func TestPodSubdomains(t *testing.T) {
	ts, c := accountServer(t, memory.New(), func(cfg *server.Config) { cfg.PodSubdomains = true })
	const podURL = "http://alice.pod.example/"
	const webID = podURL + "profile/card#me"
	subdomainPod(t, c, "alice", podURL)

	owner := "Test " + webID + " https://app.example/id " + testBaseURL
	// The pod root on its own host is the storage.
	r := call(t, c, "HEAD", podURL, map[string]string{"authorization": owner}, "")
	links := strings.Join(r.header.Values("Link"), ", ")
	for _, want := range []string{
		`<http://www.w3.org/ns/pim/space#Storage>; rel="type"`,
		`<` + podURL + `.well-known/solid>; rel="http://www.w3.org/ns/solid/terms#storageDescription"`,
		`<` + podURL + `.acl>; rel="acl"`,
	} {
		if r.status != 200 || !strings.Contains(links, want) {
			t.Errorf("HEAD %s: %d, Link %s lacks %s", podURL, r.status, links, want)
		}
	}
	// The public profile, the owner's writes, the private settings.
	if r := call(t, c, "GET", podURL+"profile/card", map[string]string{"accept": "application/n-triples"}, ""); r.status != 200 ||
		!strings.Contains(r.text, "<"+webID+">") {
		t.Errorf("GET the profile: %d %s", r.status, r.text)
	}
	r = call(t, c, "PUT", podURL+"notes/first", map[string]string{"authorization": owner, "content-type": "text/turtle"}, "<#a> <#b> <#c>.")
	if r.status != 201 || r.header.Get("Location") != podURL+"notes/first" {
		t.Errorf("owner PUT: %d, Location %q %s", r.status, r.header.Get("Location"), r.text)
	}
	if r := call(t, c, "GET", podURL+"notes/", map[string]string{"authorization": owner, "accept": "application/n-triples"}, ""); r.status != 200 ||
		!strings.Contains(r.text, "<"+podURL+"notes/> <http://www.w3.org/ns/ldp#contains> <"+podURL+"notes/first>") {
		t.Errorf("GET the container: %d %s", r.status, r.text)
	}
	if r := call(t, c, "GET", podURL+"settings/prefs.ttl", nil, ""); r.status != 401 {
		t.Errorf("anonymous GET of the settings: %d, want 401", r.status)
	}
	stranger := "Test https://bob.example/#me https://app.example/id " + testBaseURL
	if r := call(t, c, "PUT", podURL+"notes/first", map[string]string{"authorization": stranger, "content-type": "text/turtle"}, "<#x> <#y> <#z>."); r.status != 403 {
		t.Errorf("stranger PUT: %d, want 403", r.status)
	}
	// The base host keeps the account pages and the root.
	if r := call(t, c, "GET", testBaseURL+".account/", nil, ""); r.status != 200 {
		t.Errorf("the account API on the base host: %d", r.status)
	}
	// A browser on the pod's host gets the data browser, whose assets
	// (its worker must be of the page's origin) come from the pod's host
	// too, not from the pod.
	r = call(t, c, "GET", podURL+"notes/", map[string]string{"authorization": owner, "accept": browserAccept}, "")
	js := regexp.MustCompile(`src="(/\.databrowser/[^"]+/mashlib\.min\.js)"`).FindStringSubmatch(r.text)
	if r.status != 200 || js == nil {
		t.Fatalf("a browser on the pod's host: %d %.300s", r.status, r.text)
	}
	if a := call(t, c, "GET", podURL+strings.TrimPrefix(js[1], "/"), nil, ""); a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("the data browser's script on the pod's host: %d %s", a.status, a.header.Get("Content-Type"))
	}
	_ = ts
}

// subdomainPod makes an account with a pod named name through the account
// API, and checks that the pod is at podURL.
func subdomainPod(t *testing.T, c *http.Client, name, podURL string) {
	t.Helper()
	tok := str(t, call(t, c, "POST", testBaseURL+".account/account/", nil, "").json, "authorization")
	h := map[string]string{"authorization": "CSS-Account-Token " + tok, "content-type": "application/json"}
	ctl := call(t, c, "GET", testBaseURL+".account/", h, "").json["controls"].(map[string]any)
	if r := call(t, c, "POST", str(t, ctl, "password.create"), h, `{"email":"`+name+`@example.org","password":"long enough"}`); r.status != 200 {
		t.Fatal(r.text)
	}
	r := call(t, c, "POST", str(t, ctl, "account.pod"), h, `{"name":"`+name+`"}`)
	if r.status != 200 || str(t, r.json, "webId") != podURL+"profile/card#me" || str(t, r.json, "pod") != podURL {
		t.Fatalf("pod: %d %s", r.status, r.text)
	}
	if pods := call(t, c, "GET", str(t, ctl, "account.pod"), h, ""); !strings.Contains(pods.text, podURL) {
		t.Errorf("the account's pods: %s", pods.text)
	}
}

// TestPodSubdomainGateway: @inrupt/solid-client-notifications finds the
// notification gateway on the first subject of a pod's storage
// description; that subject is the pod's storage whether the pod's host
// sorts before the base host's services or after them.
func TestPodSubdomainGateway(t *testing.T) {
	_, c := accountServer(t, memory.New(), func(cfg *server.Config) { cfg.PodSubdomains = true })
	for _, name := range []string{"alice", "zed"} {
		podURL := "http://" + name + ".pod.example/"
		subdomainPod(t, c, name, podURL)
		owner := "Test " + podURL + "profile/card#me https://app.example/id " + testBaseURL
		r := call(t, c, "GET", podURL+".well-known/solid", map[string]string{"accept": "text/turtle", "authorization": owner}, "")
		if r.status != 200 {
			t.Fatalf("GET %s.well-known/solid: %d %s", podURL, r.status, r.text)
		}
		if got := firstSubjectGateway(t, podURL+".well-known/solid", r.text); got != testBaseURL+".notifications/gateway" {
			t.Errorf("%s: gateway of the first subject = %q in\n%s", name, got, r.text)
		}
	}
}
