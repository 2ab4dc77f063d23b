package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
)

// This file is the harness of the protocol tests in ldp_test.go: a table
// case is a few setup requests, one request with its expectations, and
// follow-up requests with theirs, run through the real router against
// every backend of backends().

// Vocabulary of the expectations.
const (
	pod        = "http://pod.example"
	nsLDP      = "http://www.w3.org/ns/ldp#"
	nsPIM      = "http://www.w3.org/ns/pim/space#"
	nsSolid    = "http://www.w3.org/ns/solid/terms#"
	nsDCTerms  = "http://purl.org/dc/terms/"
	nsStat     = "http://www.w3.org/ns/posix/stat#"
	nsRDF      = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsMedia    = "http://www.w3.org/ns/iana/media-types/"
	rdfType    = "<" + nsRDF + "type>"
	ldpContain = "<" + nsLDP + "contains>"
	storageRel = nsSolid + "storageDescription"

	// ttlPrefixes starts the Turtle bodies of the cases.
	ttlPrefixes = "@prefix ldp: <http://www.w3.org/ns/ldp#>.\n" +
		"@prefix dcterms: <http://purl.org/dc/terms/>.\n" +
		"@prefix posix: <http://www.w3.org/ns/posix/stat#>.\n" +
		"@prefix pim: <http://www.w3.org/ns/pim/space#>.\n" +
		"@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n" +
		"@prefix ex: <http://example.org/>.\n"
)

// request is one HTTP request. A header value may hold $ETAG(/path) or
// $MODIFIED(/path), replaced by the ETag or Last-Modified that a HEAD of
// /path answers just before the request is sent.
type request struct {
	method, path string
	headers      map[string]string
	body         string
	// raw sends the request line as written, bypassing Go's URL handling.
	raw bool
}

// exchange is a request and what its response must hold.
type exchange struct {
	method, path string
	headers      map[string]string
	body         string
	raw          bool

	wantStatus int
	// wantHeaders are exact values; "" means the header must be absent.
	wantHeaders map[string]string
	// wantHeaderHas lists comma-separated items each header must hold
	// (compared case-insensitively); wantHeaderLacks those it must not.
	wantHeaderHas   map[string][]string
	wantHeaderLacks map[string][]string
	// wantLinks are Link elements written `<iri>; rel="rel"`, with
	// relative IRIs taken against http://pod.example; noLinks must be
	// absent.
	wantLinks, noLinks []string
	// wantBody are substrings of the body; wantBodyExact, when set, the
	// whole body; noBody substrings it must not hold.
	wantBody      []string
	wantBodyExact *string
	noBody        []string
	// wantTriples and noTriples are N-Triples statements that the body,
	// parsed as its Content-Type with the request URL as base, must hold
	// or not; an object written "?" matches any object.
	wantTriples, noTriples []string
	// check runs last, for what the fields above cannot say.
	check func(t *testing.T, ts *testServer, res *http.Response, body string)
}

// protocolCase is one row of a protocol table.
type protocolCase struct {
	// name cites the spec section the case checks.
	name string
	// config changes the server's configuration.
	config func(*server.Config)
	// backend runs on the fresh backend before the server starts.
	backend func(t *testing.T, b storage.Backend)
	// setup requests must each answer 2xx.
	setup []request

	method, path string
	headers      map[string]string
	body         string
	raw          bool

	wantStatus                     int
	wantHeaders                    map[string]string
	wantHeaderHas, wantHeaderLacks map[string][]string
	wantLinks, noLinks             []string
	wantBody                       []string
	wantBodyExact                  *string
	noBody                         []string
	wantTriples, noTriples         []string
	check                          func(t *testing.T, ts *testServer, res *http.Response, body string)

	// then are requests made after the case's own, with their
	// expectations.
	then []exchange
}

func (tc protocolCase) exchange() exchange {
	return exchange{
		method: tc.method, path: tc.path, headers: tc.headers, body: tc.body, raw: tc.raw,
		wantStatus: tc.wantStatus, wantHeaders: tc.wantHeaders,
		wantHeaderHas: tc.wantHeaderHas, wantHeaderLacks: tc.wantHeaderLacks,
		wantLinks: tc.wantLinks, noLinks: tc.noLinks,
		wantBody: tc.wantBody, wantBodyExact: tc.wantBodyExact, noBody: tc.noBody,
		wantTriples: tc.wantTriples, noTriples: tc.noTriples, check: tc.check,
	}
}

// runCases runs every case against every backend, each on a fresh backend
// and server.
func runCases(t *testing.T, cases []protocolCase) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ts := newGuardedServer(t, b.open(t), tc.backend, tc.config)
					for _, r := range tc.setup {
						res, body := send(t, ts, r)
						if res.StatusCode/100 != 2 {
							t.Fatalf("setup %s %s: status %d: %s", r.method, r.path, res.StatusCode, body)
						}
					}
					for i, x := range append([]exchange{tc.exchange()}, tc.then...) {
						what := "request"
						if i > 0 {
							what = fmt.Sprintf("then[%d]", i-1)
						}
						x.run(t, ts, what)
					}
				})
			}
		})
	}
}

// newGuardedServer starts a test server over b whose every backend call
// must stay inside the resource space "r/": no request may reach another
// key (Kluis keeps accounts and keys outside it).
func newGuardedServer(t *testing.T, b storage.Backend, prepare func(*testing.T, storage.Backend), mutate func(*server.Config)) *testServer {
	t.Helper()
	g := &keyGuard{Backend: b}
	// Registered before the server's own cleanup, so it runs after the
	// server has stopped.
	t.Cleanup(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, k := range g.outside {
			t.Errorf("the server touched backend key %q, outside the resource space r/", k)
		}
	})
	if prepare != nil {
		prepare(t, b)
	}
	return newTestServer(t, g, mutate)
}

// keyGuard records every key outside "r/" that the server uses.
type keyGuard struct {
	storage.Backend
	mu      sync.Mutex
	outside []string
}

func (g *keyGuard) see(key string) {
	// The ACL generation (ldp/aclgeneration.go) is the one object outside
	// it that access control asks and ACL writes rewrite.
	if !strings.HasPrefix(key, "r/") && key != ldp.ACLGenerationKey {
		g.mu.Lock()
		g.outside = append(g.outside, key)
		g.mu.Unlock()
	}
}

func (g *keyGuard) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	g.see(key)
	return g.Backend.Get(ctx, key, o)
}

func (g *keyGuard) Stat(ctx context.Context, key string) (storage.Info, error) {
	g.see(key)
	return g.Backend.Stat(ctx, key)
}

func (g *keyGuard) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	g.see(key)
	return g.Backend.Put(ctx, key, r, o)
}

func (g *keyGuard) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	g.see(key)
	return g.Backend.Delete(ctx, key, o)
}

func (g *keyGuard) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	g.see(prefix)
	return g.Backend.List(ctx, prefix)
}

// send makes one request and returns the response with its whole body.
func send(t *testing.T, ts *testServer, r request) (*http.Response, string) {
	t.Helper()
	headers := make(map[string]string, len(r.headers))
	for k, v := range r.headers {
		headers[k] = expand(t, ts, v)
	}
	if r.raw {
		return sendRaw(t, ts, r.method, r.path, headers, r.body)
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	return do(t, ts, r.method, r.path, body, headers)
}

var placeholder = regexp.MustCompile(`\$(ETAG|MODIFIED)\(([^)]*)\)`)

// expand replaces the placeholders of a header value.
func expand(t *testing.T, ts *testServer, v string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(v, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		res, _ := do(t, ts, "HEAD", sub[2], nil, nil)
		name := "ETag"
		if sub[1] == "MODIFIED" {
			name = "Last-Modified"
		}
		got := res.Header.Get(name)
		if got == "" {
			t.Fatalf("HEAD %s: no %s for the placeholder %s", sub[2], name, m)
		}
		return got
	})
}

// sendRaw writes the request line and headers as they are.
func sendRaw(t *testing.T, ts *testServer, method, target string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: pod.example\r\nConnection: close\r\n", method, target)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("raw %s %q: %v", method, target, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("raw %s %q: reading body: %v", method, target, err)
	}
	return res, string(data)
}

// run sends the exchange's request and checks the response.
func (x exchange) run(t *testing.T, ts *testServer, what string) {
	t.Helper()
	res, body := send(t, ts, request{method: x.method, path: x.path, headers: x.headers, body: x.body, raw: x.raw})
	where := fmt.Sprintf("%s %s %s", what, x.method, x.path)
	if x.wantStatus != 0 && res.StatusCode != x.wantStatus {
		t.Errorf("%s: status = %d, want %d; body:\n%s", where, res.StatusCode, x.wantStatus, body)
	}
	for name, want := range x.wantHeaders {
		got, present := res.Header.Values(name), len(res.Header.Values(name)) > 0
		switch {
		case want == "" && present:
			t.Errorf("%s: header %s = %q, want none", where, name, got)
		case want != "" && strings.Join(got, ", ") != want:
			t.Errorf("%s: header %s = %q, want %q", where, name, strings.Join(got, ", "), want)
		}
	}
	for name, items := range x.wantHeaderHas {
		have := headerItems(res.Header, name)
		for _, item := range items {
			if !slices.Contains(have, strings.ToLower(item)) {
				t.Errorf("%s: header %s = %q, want it to hold %q", where, name, res.Header.Values(name), item)
			}
		}
	}
	for name, items := range x.wantHeaderLacks {
		have := headerItems(res.Header, name)
		for _, item := range items {
			if slices.Contains(have, strings.ToLower(item)) {
				t.Errorf("%s: header %s = %q, want it without %q", where, name, res.Header.Values(name), item)
			}
		}
	}
	links := responseLinks(res.Header)
	for _, l := range x.wantLinks {
		if !slices.Contains(links, normalLink(l)) {
			t.Errorf("%s: no Link %s in %q", where, l, res.Header.Values("Link"))
		}
	}
	for _, l := range x.noLinks {
		if slices.Contains(links, normalLink(l)) {
			t.Errorf("%s: unexpected Link %s in %q", where, l, res.Header.Values("Link"))
		}
	}
	for _, s := range x.wantBody {
		if !strings.Contains(body, s) {
			t.Errorf("%s: body lacks %q:\n%s", where, s, body)
		}
	}
	if x.wantBodyExact != nil && body != *x.wantBodyExact {
		t.Errorf("%s: body = %q, want %q", where, truncated(body), truncated(*x.wantBodyExact))
	}
	for _, s := range x.noBody {
		if strings.Contains(body, s) {
			t.Errorf("%s: body holds %q:\n%s", where, s, body)
		}
	}
	if len(x.wantTriples)+len(x.noTriples) > 0 {
		g := graphOf(t, res, body, pod+x.path)
		for _, s := range x.wantTriples {
			if !hasTriple(t, g, s) {
				t.Errorf("%s: body lacks the triple %s:\n%s", where, s, body)
			}
		}
		for _, s := range x.noTriples {
			if hasTriple(t, g, s) {
				t.Errorf("%s: body holds the triple %s:\n%s", where, s, body)
			}
		}
	}
	if x.check != nil {
		x.check(t, ts, res, body)
	}
}

func truncated(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// headerItems splits every value of a header at commas, trimmed and
// lower-cased.
func headerItems(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for item := range strings.SplitSeq(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(item)))
		}
	}
	return out
}

var linkElement = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?([^",;]*)"?`)

// responseLinks returns the Link elements of a response as "iri rel", one
// per relation type.
func responseLinks(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Link") {
		for _, m := range linkElement.FindAllStringSubmatch(v, -1) {
			for rel := range strings.FieldsSeq(m[2]) {
				out = append(out, m[1]+" "+rel)
			}
		}
	}
	return out
}

// normalLink turns `<iri>; rel="rel"` into the form of responseLinks,
// making a relative IRI absolute.
func normalLink(l string) string {
	m := linkElement.FindStringSubmatch(l)
	if m == nil {
		panic("bad link in a test case: " + l)
	}
	iri := m[1]
	if strings.HasPrefix(iri, "/") {
		iri = pod + iri
	}
	return iri + " " + m[2]
}

// graphOf parses a response body as its Content-Type.
func graphOf(t *testing.T, res *http.Response, body, base string) *rdfx.Graph {
	t.Helper()
	ct := res.Header.Get("Content-Type")
	g, err := rdfx.Parse(strings.NewReader(body), ct, base, rdfx.ParseOptions{})
	if err != nil {
		t.Fatalf("the body does not parse as %q: %v\n%s", ct, err, body)
	}
	return g
}

// hasTriple reports whether g holds the N-Triples statement s, whose
// object may be "?" for any.
func hasTriple(t *testing.T, g *rdfx.Graph, s string) bool {
	t.Helper()
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	s = strings.TrimSpace(s)
	anyObject := strings.HasSuffix(s, " ?")
	if anyObject {
		s = strings.TrimSuffix(s, "?") + "<urn:any>"
	}
	p, err := rdfx.Parse(strings.NewReader(s+" ."), rdfx.NTriples, pod+"/", rdfx.ParseOptions{})
	if err != nil || p.Len() != 1 {
		t.Fatalf("bad triple in a test case %q: %v", s, err)
	}
	want := p.Sorted()[0]
	if anyObject {
		for range g.Match(want.S, want.P, rdfx.Term{}) {
			return true
		}
		return false
	}
	return g.Has(want)
}

// Request builders for setup steps.

func put(path, contentType, body string) request {
	r := request{method: "PUT", path: path, body: body}
	if contentType != "" {
		r.headers = map[string]string{"Content-Type": contentType}
	}
	return r
}

func putTurtle(path, body string) request { return put(path, "text/turtle", ttlPrefixes+body) }

func post(path string, headers map[string]string, body string) request {
	return request{method: "POST", path: path, headers: headers, body: body}
}

func patchReq(path, contentType, body string) request {
	return request{method: "PATCH", path: path, headers: map[string]string{"Content-Type": contentType}, body: body}
}

func del(path string) request { return request{method: "DELETE", path: path} }

// ct is a Content-Type header.
func ct(contentType string) map[string]string { return map[string]string{"Content-Type": contentType} }

// accept is an Accept header.
func accept(mediaType string) map[string]string { return map[string]string{"Accept": mediaType} }

// ptr returns a pointer to s, for wantBodyExact.
func ptr(s string) *string { return &s }

// headerOf sends a HEAD and returns one of its headers.
func headerOf(t *testing.T, ts *testServer, path, name string) string {
	t.Helper()
	res, _ := do(t, ts, "HEAD", path, nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s: status %d", path, res.StatusCode)
	}
	return res.Header.Get(name)
}

// stat reports whether the backend key exists, through the server's view:
// a GET of the resource path.
func exists(t *testing.T, ts *testServer, path string) bool {
	t.Helper()
	res, _ := do(t, ts, "GET", path, nil, nil)
	return res.StatusCode == http.StatusOK
}

// readAll reads and closes r.
func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
