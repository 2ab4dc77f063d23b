package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage/memory"
)

// Accept headers as clients send them.
const (
	// browserAccept is what Chromium sends when a person opens a URL.
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
	// rdflibAccept is what the data browser (rdflib's fetcher) sends.
	rdflibAccept = "text/turtle;q=1.0,application/x-turtle;q=1.0,text/n3;q=1.0,application/rdf+xml;q=0.9,application/xhtml+xml;q=0.3,text/html;q=0.2,application/ld+json;q=0.9,application/n-triples;q=0.5"
)

// getAccept sends method to path as agent with Accept and extra headers
// (name, value pairs).
func getAccept(t *testing.T, ts *httptest.Server, as who, method, path, accept string, extra ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	if h := as.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// isPage tells whether an answer is the data browser's page.
func isPage(res *http.Response, body []byte) bool {
	return strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") &&
		bytes.Contains(body, []byte(`src="/.databrowser/mashlib-`)) &&
		strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self' 'sha256-")
}

func varies(h http.Header, token string) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// TestDataBrowserNegotiation: a browser that prefers HTML gets the data
// browser's page on containers and RDF documents, with the status the
// request met (so a refusal or a 404 does not tell the kind); RDF
// clients, the data browser's own fetches among them, get RDF as
// before; non-RDF resources, uploaded HTML included, are served as
// themselves, sandboxed; the server root keeps its own page.
func TestDataBrowserNegotiation(t *testing.T) {
	ts := wacServerWith(t, memory.New(), func(c *server.Config) { c.RootACL = []byte(rootACL) })
	mustSendPlain(t, ts, alice, "PUT", "/notes/doc.ttl", "text/turtle", "<#it> <http://schema.org/name> \"Doc\" .", 201)
	mustSendPlain(t, ts, alice, "PUT", "/notes/pic.png", "image/png", "\x89PNG\r\n\x1a\n", 201)
	mustSendPlain(t, ts, alice, "PUT", "/notes/page.html", "text/html", "<script>alert(1)</script>", 201)

	for _, c := range []struct {
		name         string
		as           who
		method, path string
		accept       string
		status       int
		page         bool
		contentType  string
	}{
		{"a container", alice, "GET", "/notes/", browserAccept, 200, true, ""},
		{"an RDF document", alice, "GET", "/notes/doc.ttl", browserAccept, 200, true, ""},
		{"HEAD of an RDF document", alice, "HEAD", "/notes/doc.ttl", browserAccept, 200, false, "text/html; charset=utf-8"},
		{"the description resource", alice, "GET", "/notes/doc.ttl.meta", browserAccept, 200, true, ""},
		{"the data browser's own fetch", alice, "GET", "/notes/doc.ttl", rdflibAccept, 200, false, "text/turtle"},
		{"an RDF client", alice, "GET", "/notes/", "text/turtle", 200, false, "text/turtle"},
		{"a JSON-LD client", alice, "GET", "/notes/doc.ttl", "application/ld+json", 200, false, "application/ld+json"},
		{"a client that takes anything", alice, "GET", "/notes/doc.ttl", "*/*", 200, false, "text/turtle"},
		{"an image", alice, "GET", "/notes/pic.png", browserAccept, 200, false, "image/png"},
		{"uploaded HTML", alice, "GET", "/notes/page.html", browserAccept, 200, false, "text/html"},
		{"anonymous on a document", who{}, "GET", "/notes/doc.ttl", browserAccept, 401, true, ""},
		{"anonymous on an image", who{}, "GET", "/notes/pic.png", browserAccept, 401, true, ""},
		{"anonymous on a missing one", who{}, "GET", "/notes/nothing", browserAccept, 401, true, ""},
		{"a stranger", bob, "GET", "/notes/doc.ttl", browserAccept, 403, true, ""},
		{"a missing document", alice, "GET", "/notes/missing.ttl", browserAccept, 404, true, ""},
		{"a missing container", alice, "GET", "/gone/", browserAccept, 404, true, ""},
		{"an RDF client refused", who{}, "GET", "/notes/doc.ttl", "text/turtle", 401, false, "text/plain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body := getAccept(t, ts, c.as, c.method, c.path, c.accept)
			if res.StatusCode != c.status {
				t.Fatalf("%d, want %d: %s", res.StatusCode, c.status, body)
			}
			if got := isPage(res, body); got != c.page {
				t.Fatalf("the data browser's page: %v, want %v (%s: %.200s)", got, c.page, res.Header.Get("Content-Type"), body)
			}
			if c.contentType != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), c.contentType) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), c.contentType)
			}
			if !varies(res.Header, "Accept") {
				t.Errorf("Vary %q lacks Accept", res.Header.Values("Vary"))
			}
			if c.page && res.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Referrer-Policy %q", res.Header.Get("Referrer-Policy"))
			}
			if c.status == 401 && !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), ", "), "DPoP") {
				t.Errorf("a 401 without its DPoP challenge: %q", res.Header.Values("WWW-Authenticate"))
			}
			if c.name == "uploaded HTML" {
				if res.Header.Get("Content-Security-Policy") != "sandbox" || string(body) != "<script>alert(1)</script>" {
					t.Errorf("uploaded HTML: CSP %q, body %q; want it as stored, sandboxed", res.Header.Get("Content-Security-Policy"), body)
				}
			}
			if c.name == "HEAD of an RDF document" && len(body) != 0 {
				t.Errorf("HEAD with a body")
			}
		})
	}

	// What the data browser reads from its own fetches, as CORS lets a
	// page read them (mashlib's page is same-origin in Kluis, but a copy
	// on another origin works too).
	res, _ := getAccept(t, ts, alice, "GET", "/notes/doc.ttl", rdflibAccept, "Origin", "http://pod.example")
	exposed := strings.ToLower(res.Header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"Link", "WAC-Allow", "Updates-Via", "Accept-Patch", "Allow", "ETag"} {
		if res.Header.Get(h) == "" || !strings.Contains(exposed, strings.ToLower(h)) {
			t.Errorf("%s: %q, exposed %v", h, res.Header.Get(h), exposed != "")
		}
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "http://pod.example" || !strings.Contains(res.Header.Get("Updates-Via"), "?ticket=") ||
		!strings.Contains(res.Header.Get("Link"), `rel="acl"`) || !strings.Contains(res.Header.Get("Accept-Patch"), "text/n3") {
		t.Errorf("headers for the data browser: %v", res.Header)
	}

	// The root keeps its welcome page.
	res, body := getAccept(t, ts, alice, "GET", "/", browserAccept)
	if res.StatusCode != 200 || isPage(res, body) || !bytes.Contains(body, []byte("Kluis")) {
		t.Errorf("root: %d, the data browser's page: %v", res.StatusCode, isPage(res, body))
	}
}

// TestDataBrowserOff: with the data browser off, a browser gets what an
// RDF client gets.
func TestDataBrowserOff(t *testing.T) {
	ts := wacServerWith(t, memory.New(), func(c *server.Config) {
		c.RootACL = []byte(rootACL)
		c.DataBrowser.Off = true
	})
	mustSendPlain(t, ts, alice, "PUT", "/notes/doc.ttl", "text/turtle", "<#it> <http://schema.org/name> \"Doc\" .", 201)
	res, body := getAccept(t, ts, alice, "GET", "/notes/doc.ttl", browserAccept)
	if res.StatusCode != 200 || isPage(res, body) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/turtle") {
		t.Errorf("%d %s: want Turtle", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := getAccept(t, ts, alice, "GET", "/.databrowser/mashlib-2.3.3/mashlib.min.js", ""); res.StatusCode == 200 {
		t.Errorf("the assets are served while the data browser is off")
	}
}

// TestDataBrowserAssets: the assets are served gzipped to clients that
// take it and plain to others, cached for good under a folder named after
// the version, with validators; mashlib's chunks are loaded from that
// folder, not from the root (its public path).
func TestDataBrowserAssets(t *testing.T) {
	ts := wacServerWith(t, memory.New(), func(c *server.Config) { c.RootACL = []byte(rootACL) })
	res, page := getAccept(t, ts, alice, "GET", "/nothing/", browserAccept)
	if !isPage(res, page) {
		t.Fatalf("no page: %d %s", res.StatusCode, page)
	}
	start := bytes.Index(page, []byte(`src="/.databrowser/`)) + len(`src="`)
	js := string(page[start : start+bytes.IndexByte(page[start:], '"')])
	if !strings.HasSuffix(js, "/mashlib.min.js") {
		t.Fatalf("the page loads %q", js)
	}
	folder := strings.TrimSuffix(js, "mashlib.min.js")

	plain, body := getAccept(t, ts, who{}, "GET", js, "", "Accept-Encoding", "identity")
	if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" || len(body) < 1<<20 {
		t.Fatalf("plain: %d %q, %d bytes", plain.StatusCode, plain.Header.Get("Content-Encoding"), len(body))
	}
	if !strings.Contains(plain.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(plain.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("headers %v", plain.Header)
	}
	if n := bytes.Count(body, []byte(`.p="`+folder+`"`)); n != 1 {
		t.Errorf("the public path %q is set %d times, want once", folder, n)
	}
	if bytes.Contains(body, []byte(`.p="/"`)) {
		t.Errorf("the public path is still the root")
	}
	zipped, zbody := getAccept(t, ts, who{}, "GET", js, "", "Accept-Encoding", "gzip")
	if zipped.Header.Get("Content-Encoding") != "gzip" || !varies(zipped.Header, "Accept-Encoding") || len(zbody) > len(body)/2 {
		t.Fatalf("gzip: %q, %d of %d bytes", zipped.Header.Get("Content-Encoding"), len(zbody), len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, body) {
		t.Errorf("the gzipped asset differs from the plain one")
	}
	if again, _ := getAccept(t, ts, who{}, "GET", js, "", "Accept-Encoding", "gzip", "If-None-Match", zipped.Header.Get("ETag")); again.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", again.StatusCode)
	}
	for _, name := range []string{"mash.css", "841.mashlib.min.js"} {
		if r, _ := getAccept(t, ts, who{}, "GET", folder+name, ""); r.StatusCode != 200 {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}
	for _, name := range []string{"nothing.js", "", "../PIN", "PIN", "mashlib.min.js.map"} {
		if r, _ := getAccept(t, ts, who{}, "GET", folder+name, ""); r.StatusCode != 404 {
			t.Errorf("%q: %d, want 404", name, r.StatusCode)
		}
	}
}

// mustSendPlain is sendAs that must answer want.
func mustSendPlain(t *testing.T, ts *httptest.Server, as who, method, path, ct, body string, want int) {
	t.Helper()
	if st, _, b := sendAs(t, ts, as, method, path, ct, body); st != want {
		t.Fatalf("%s %s: %d, want %d (%s)", method, path, st, want, strings.TrimSpace(b))
	}
}
