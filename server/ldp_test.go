package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// The Solid Protocol 0.11 (../shared/specs/solid-protocol-0.11.txt) through
// the real router, against every backend. Each case names the section it
// checks.

// binary is every byte value, then bytes that are not UTF-8.
var binary = func() string {
	b := make([]byte, 0, 260)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return string(append(b, 0xff, 0xfe, 0xc3, 0x28))
}()

var containerTypes = []string{
	`<` + nsLDP + `BasicContainer>; rel="type"`,
	`<` + nsLDP + `Container>; rel="type"`,
	`<` + nsLDP + `Resource>; rel="type"`,
}

func TestContainers(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§4.2 a container links its LDP types and is typed in its body",
			setup:  []request{put("/c/", "", "")},
			method: "GET", path: "/c/",
			wantStatus:  200,
			wantLinks:   containerTypes,
			noLinks:     []string{`<` + nsPIM + `Storage>; rel="type"`},
			wantHeaders: map[string]string{"Content-Type": "text/turtle; charset=utf-8"},
			wantTriples: []string{
				"<" + pod + "/c/> " + rdfType + " <" + nsLDP + "BasicContainer>",
				"<" + pod + "/c/> " + rdfType + " <" + nsLDP + "Container>",
				"<" + pod + "/c/> " + rdfType + " <" + nsLDP + "Resource>",
			},
			noTriples: []string{"<" + pod + "/c/> " + rdfType + " <" + nsPIM + "Storage>"},
		},
		{
			name: "§4.2 containment triples come from the listing, with contained resource metadata",
			setup: []request{
				put("/c/a.txt", "text/plain", "hello"),
				putTurtle("/c/doc", "<> ex:p ex:o."),
				put("/c/sub/x", "text/plain", "x"),
			},
			method: "GET", path: "/c/",
			wantStatus: 200,
			wantTriples: []string{
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a.txt>",
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/doc>",
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/sub/>",
				"<" + pod + "/c/a.txt> " + rdfType + " <" + nsLDP + "Resource>",
				"<" + pod + "/c/a.txt> " + rdfType + " <" + nsMedia + "text/plain#Resource>",
				"<" + pod + "/c/a.txt> <" + nsStat + "size> \"5\"^^<http://www.w3.org/2001/XMLSchema#integer>",
				"<" + pod + "/c/a.txt> <" + nsStat + "mtime> ?",
				"<" + pod + "/c/a.txt> <" + nsDCTerms + "modified> ?",
				"<" + pod + "/c/doc> " + rdfType + " <" + nsMedia + "text/turtle#Resource>",
				"<" + pod + "/c/sub/> " + rdfType + " <" + nsLDP + "BasicContainer>",
				"<" + pod + "/c/sub/> " + rdfType + " <" + nsLDP + "Container>",
				"<" + pod + "/c/sub/> <" + nsDCTerms + "modified> ?",
			},
			noTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/sub/x>"},
			check: func(t *testing.T, ts *testServer, res *http.Response, body string) {
				// "The dcterms:modified value of a contained resource
				// corresponds with the Last-Modified header field value of
				// the contained resource."
				g := graphOf(t, res, body, pod+"/c/")
				mod, ok := g.Object(rdfx.IRI(pod+"/c/a.txt"), rdfx.IRI(nsDCTerms+"modified"))
				if !ok {
					t.Fatal("no dcterms:modified for a.txt")
				}
				got, err := time.Parse(time.RFC3339, mod.Value())
				if err != nil {
					t.Fatal(err)
				}
				lm, err := http.ParseTime(headerOf(t, ts, "/c/a.txt", "Last-Modified"))
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(lm) {
					t.Errorf("dcterms:modified %v, Last-Modified %v", got, lm)
				}
				mtime, _ := g.Object(rdfx.IRI(pod+"/c/a.txt"), rdfx.IRI(nsStat+"mtime"))
				if mtime.Value() != strconv.FormatInt(lm.Unix(), 10) {
					t.Errorf("posix:mtime %s, Last-Modified %v", mtime.Value(), lm.Unix())
				}
			},
		},
		{
			name:   "§4.3 auxiliary resources are not contained",
			setup:  []request{put("/c/a", "text/plain", "a"), putTurtle("/c/a.acl", ""), putTurtle("/c/a.meta", ""), putTurtle("/c/.acl", "")},
			method: "GET", path: "/c/",
			wantStatus:  200,
			wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a>"},
			noTriples: []string{
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a.acl>",
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a.meta>",
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/.acl>",
			},
		},
		{
			name:   "§4.2 a container's own triples are served with the server's",
			setup:  []request{putTurtle("/c/", "<> ex:title \"Photos\".")},
			method: "GET", path: "/c/", headers: accept("application/n-triples"),
			wantStatus: 200,
			wantTriples: []string{
				"<" + pod + "/c/> <http://example.org/title> \"Photos\"",
				"<" + pod + "/c/> " + rdfType + " <" + nsLDP + "BasicContainer>",
			},
		},
		{
			name:   "§4.2 a container reads as JSON-LD",
			setup:  []request{put("/c/a", "text/plain", "a")},
			method: "GET", path: "/c/", headers: accept("application/ld+json"),
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Type": "application/ld+json"},
			wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a>"},
		},
		{
			name:   "§5.4 a deleted resource leaves the containment",
			setup:  []request{put("/c/a", "text/plain", "a"), put("/c/b", "text/plain", "b"), del("/c/a")},
			method: "GET", path: "/c/",
			wantStatus:  200,
			wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/b>"},
			noTriples:   []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/a>"},
		},
		{
			name:   "§4.2 non-RDF resources are served byte for byte with their content type",
			setup:  []request{put("/bin", "application/octet-stream", binary)},
			method: "GET", path: "/bin",
			wantStatus:    200,
			wantBodyExact: ptr(binary),
			wantHeaders:   map[string]string{"Content-Type": "application/octet-stream", "Content-Length": strconv.Itoa(len(binary))},
			wantLinks:     []string{`<` + nsLDP + `NonRDFSource>; rel="type"`, `<` + nsLDP + `Resource>; rel="type"`},
		},
		{
			name:   "§4.2 a text resource keeps its content type and parameters",
			setup:  []request{put("/notes.txt", "text/plain; charset=iso-8859-1", "caf\xe9")},
			method: "GET", path: "/notes.txt", headers: accept("text/turtle"),
			wantStatus:    200,
			wantBodyExact: ptr("caf\xe9"),
			wantHeaders:   map[string]string{"Content-Type": "text/plain; charset=iso-8859-1"},
		},
	})
}

// TestBigContainer checks §4.2 containment on a container of 10,000
// children, on the filesystem backend, with the objects put straight into
// the backend. Every filesystem Put syncs its file, which takes seconds per
// 10,000 on a disk, so the backend lives on a memory file system when the
// machine has one.
func TestBigContainer(t *testing.T) {
	const n = 10_000
	dir := t.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "kluis-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		dir = shm
	}
	store, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	ts := newTestServer(t, store, nil)
	if res, body := send(t, ts, put("/big/", "", "")); res.StatusCode != 201 {
		t.Fatalf("PUT /big/: %d %s", res.StatusCode, body)
	}
	for i := range n {
		if _, err := store.Put(ctx, fmt.Sprintf("r/big/child-%d", i), strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, mt := range []string{"text/turtle", "application/n-triples"} {
		res, body := do(t, ts, "GET", "/big/", nil, map[string]string{"Accept": mt})
		if res.StatusCode != 200 {
			t.Fatalf("GET /big/ as %s: %d", mt, res.StatusCode)
		}
		g := graphOf(t, res, body, pod+"/big/")
		got := 0
		for range g.Match(rdfx.IRI(pod+"/big/"), rdfx.IRI(nsLDP+"contains"), rdfx.Term{}) {
			got++
		}
		if got != n {
			t.Errorf("as %s: %d ldp:contains, want %d", mt, got, n)
		}
		if !g.Has(rdfx.Triple{S: rdfx.IRI(pod + "/big/child-9999"), P: rdfx.IRI(nsStat + "size"), O: rdfx.Literal("1", "http://www.w3.org/2001/XMLSchema#integer")}) {
			t.Errorf("as %s: no posix:size of child-9999", mt)
		}
	}
}

func TestStorage(t *testing.T) {
	storageType := `<` + nsPIM + `Storage>; rel="type"`
	description := `</.well-known/solid>; rel="` + storageRel + `"`
	runCases(t, []protocolCase{
		{
			name:   "§4.1 the root of a fresh server is a container and the storage",
			method: "GET", path: "/",
			wantStatus: 200,
			wantLinks:  append([]string{storageType, description}, containerTypes...),
			wantTriples: []string{
				"<" + pod + "/> " + rdfType + " <" + nsLDP + "BasicContainer>",
				"<" + pod + "/> " + rdfType + " <" + nsPIM + "Storage>",
			},
			wantHeaderHas: map[string][]string{"Vary": {"Accept"}},
		},
		{
			name:   "§4.1 a browser asking the root gets the welcome page",
			method: "GET", path: "/",
			headers:     accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Type": "text/html; charset=UTF-8"},
			wantBody:    []string{"Solid pod server"},
		},
		{
			name:   "§4.1 a container below the root is not a storage",
			setup:  []request{put("/c/", "", "")},
			method: "HEAD", path: "/c/",
			wantStatus: 200,
			wantLinks:  []string{description},
			noLinks:    []string{storageType},
		},
		{
			name:   "§4.1 every resource links the storage description: document",
			setup:  []request{put("/a/b.txt", "text/plain", "b")},
			method: "GET", path: "/a/b.txt",
			wantStatus: 200,
			wantLinks:  []string{description},
		},
		{
			name:   "§4.1 every resource links the storage description: OPTIONS",
			setup:  []request{put("/a/b.txt", "text/plain", "b")},
			method: "OPTIONS", path: "/a/b.txt",
			wantStatus: 204,
			wantLinks:  []string{description},
		},
		{
			name:   "§4.1 the storage description types the storage pim:Storage",
			method: "GET", path: "/.well-known/solid",
			wantStatus:    200,
			wantHeaders:   map[string]string{"Content-Type": "text/turtle; charset=utf-8"},
			wantHeaderHas: map[string][]string{"Vary": {"Accept"}},
			wantTriples:   []string{"<" + pod + "/> " + rdfType + " <" + nsPIM + "Storage>"},
			noLinks:       []string{`</.well-known/solid.acl>; rel="acl"`},
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
					t.Errorf("ETag %q, Last-Modified %q: want both", res.Header.Get("ETag"), res.Header.Get("Last-Modified"))
				}
			},
		},
		{
			name:   "§4.1 the storage description reads as JSON-LD",
			method: "GET", path: "/.well-known/solid", headers: accept("application/ld+json"),
			wantStatus:  200,
			wantTriples: []string{"<" + pod + "/> " + rdfType + " <" + nsPIM + "Storage>"},
		},
		{
			name:   "§4.1 the storage description is read-only",
			method: "PUT", path: "/.well-known/solid", headers: ct("text/turtle"), body: "<> <http://example.org/p> 1.",
			wantStatus:      405,
			wantHeaderLacks: map[string][]string{"Allow": {"PUT", "DELETE", "PATCH"}},
			wantHeaderHas:   map[string][]string{"Allow": {"GET"}},
		},
		{
			name:   "§3.1 no container can take the storage description's name",
			method: "PUT", path: "/.well-known/solid/",
			wantStatus: 409,
			then: []exchange{
				{method: "PUT", path: "/.well-known/solid/x", headers: ct("text/plain"), body: "x", wantStatus: 409},
				{method: "PATCH", path: "/.well-known/solid/y", headers: ct("application/sparql-update"), body: "INSERT DATA { <#a> <#b> <#c> }", wantStatus: 409},
				{method: "GET", path: "/.well-known/solid/", wantStatus: 404},
				{method: "GET", path: "/.well-known/solid", wantStatus: 200},
			},
		},
		{
			name:   "§4.1 POST never takes the storage description's name",
			setup:  []request{put("/.well-known/", "", "")},
			method: "POST", path: "/.well-known/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "solid"}, body: "x",
			wantStatus: 201,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if loc := res.Header.Get("Location"); loc == pod+"/.well-known/solid" {
					t.Errorf("Location %q", loc)
				}
			},
			then: []exchange{{method: "GET", path: "/.well-known/solid", wantStatus: 200,
				wantTriples: []string{"<" + pod + "/> " + rdfType + " <" + nsPIM + "Storage>"}}},
		},
		{
			name:   "§4.1 POST to the storage description is 405",
			method: "POST", path: "/.well-known/solid", headers: ct("text/plain"), body: "x",
			wantStatus:  405,
			wantHeaders: map[string]string{"Allow": "GET, HEAD, OPTIONS"},
		},
		{
			name:   "§5.4 DELETE of the root is 405 with an Allow without DELETE",
			method: "DELETE", path: "/",
			wantStatus:      405,
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"}},
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE"}},
			then:            []exchange{{method: "GET", path: "/", wantStatus: 200}},
		},
		{
			name: "§5.4 DELETE of the root's ACL is 405 with an Allow without DELETE",
			setup: []request{putTurtle("/.acl", `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#all> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`)},
			method: "DELETE", path: "/.acl",
			wantStatus:      405,
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE"}},
			then: []exchange{{method: "HEAD", path: "/.acl", wantStatus: 200,
				wantHeaderLacks: map[string][]string{"Allow": {"DELETE"}}}},
		},
		{
			name:   "§5.4 the root's Allow never lists DELETE",
			method: "OPTIONS", path: "/",
			wantStatus:      204,
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "POST"}},
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE"}},
			wantLinks:       []string{storageType},
		},
	})
}

func TestAuxiliaryResources(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§4.3 a document links its acl and describedby resources",
			setup:  []request{put("/a/doc", "text/plain", "x")},
			method: "GET", path: "/a/doc",
			wantStatus: 200,
			wantLinks:  []string{`</a/doc.acl>; rel="acl"`, `</a/doc.meta>; rel="describedby"`},
		},
		{
			name:   "§4.3 a container links its acl and describedby resources",
			setup:  []request{put("/a/", "", "")},
			method: "HEAD", path: "/a/",
			wantStatus: 200,
			wantLinks:  []string{`</a/.acl>; rel="acl"`, `</a/.meta>; rel="describedby"`},
		},
		{
			name:   "§4.3 the root links its acl",
			method: "HEAD", path: "/",
			wantStatus: 200,
			wantLinks:  []string{`</.acl>; rel="acl"`, `</.meta>; rel="describedby"`},
		},
		{
			name:   "§4.3.2 a description resource links what it describes",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "GET", path: "/doc.meta",
			wantStatus: 200,
			wantLinks:  []string{`</doc>; rel="describes"`},
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if res.Header.Get("ETag") == "" {
					t.Error("no ETag on the description resource")
				}
			},
		},
		{
			name:   "§4.3.2 the description resource is RDF the client may write",
			setup:  []request{put("/doc", "text/plain", "x"), putTurtle("/doc.meta", "<doc> ex:label \"A doc\".")},
			method: "GET", path: "/doc.meta", headers: accept("application/n-triples"),
			wantStatus:  200,
			wantTriples: []string{"<" + pod + "/doc> <http://example.org/label> \"A doc\""},
		},
		{
			// It exists, empty, with its subject, so the PATCH is no
			// creation.
			name:   "§4.3.2 the description resource can be patched",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "PATCH", path: "/doc.meta", headers: ct("application/sparql-update"),
			body:       "INSERT DATA { <doc> <http://example.org/label> \"A doc\" }",
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc.meta", wantStatus: 200,
				wantTriples: []string{"<" + pod + "/doc> <http://example.org/label> \"A doc\""}}},
		},
		{
			name:   "§4.3.2 the empty description resource takes If-Match with the ETag it was served with",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "PUT", path: "/doc.meta", headers: map[string]string{"Content-Type": "text/turtle", "If-Match": "$ETAG(/doc.meta)"},
			body:       "<doc> <http://example.org/p> 1.",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/doc.meta", headers: map[string]string{"If-None-Match": "$ETAG(/doc.meta)"}, wantStatus: 304},
				{method: "PATCH", path: "/doc.meta", headers: map[string]string{"Content-Type": "text/n3", "If-Match": "$ETAG(/doc.meta)"},
					body:       "@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { <doc> <http://example.org/p> 2. }.",
					wantStatus: 204},
			},
		},
		{
			name:   "§4.3.2 the empty description resource is there: If-None-Match: * fails",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "PUT", path: "/doc.meta", headers: map[string]string{"Content-Type": "text/turtle", "If-None-Match": "*"},
			body:       "<doc> <http://example.org/p> 1.",
			wantStatus: 412,
		},
		{
			name:   "§4.3 an auxiliary resource of a missing resource cannot be made",
			method: "PUT", path: "/nothing.meta", headers: ct("text/turtle"), body: "<> <http://example.org/p> 1.",
			wantStatus: 409,
		},
		{
			name:   "§4.3 the ACL resource is RDF: PUT of image/png is 415",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "PUT", path: "/doc.acl", headers: ct("image/png"), body: "\x89PNG",
			wantStatus: 415,
			then:       []exchange{{method: "GET", path: "/doc.acl", wantStatus: 404}},
		},
		{
			name:   "§4.3 deleting a resource deletes its ACL and description resources",
			setup:  []request{put("/doc", "text/plain", "x"), putTurtle("/doc.acl", ""), putTurtle("/doc.meta", "<doc> ex:p 1.")},
			method: "DELETE", path: "/doc",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/doc.acl", wantStatus: 404},
				{method: "GET", path: "/doc.meta", wantStatus: 404},
				{method: "PUT", path: "/doc", headers: ct("text/plain"), body: "again", wantStatus: 201},
				{method: "GET", path: "/doc.acl", wantStatus: 404},
				{method: "GET", path: "/doc.meta", headers: accept("application/n-triples"), wantStatus: 200,
					noBody: []string{"example.org/p"}},
			},
		},
		{
			name:   "§4.3 deleting a container deletes its ACL and description resources",
			setup:  []request{put("/c/", "", ""), putTurtle("/c/.acl", ""), putTurtle("/c/.meta", "<> ex:p 1.")},
			method: "DELETE", path: "/c/",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/c/.acl", wantStatus: 404},
				{method: "GET", path: "/c/.meta", wantStatus: 404},
				{method: "GET", path: "/c/", wantStatus: 404},
			},
		},
	})

	// §5.3: "Servers MUST NOT allow HTTP POST, PUT and PATCH to update a
	// container's resource metadata statements"; Kluis protects the same
	// statements about any resource in its description resource.
	var cases []protocolCase
	for _, bad := range []struct{ what, triple string }{
		{"containment", "<> ldp:contains <doc2>."},
		{"containment of the subject", "<doc> ldp:contains <x>."},
		{"an LDP type", "<doc> a ldp:Container."},
		{"a media type", "<doc> a <http://www.w3.org/ns/iana/media-types/text/plain#Resource>."},
		{"the storage type", "<doc> a pim:Storage."},
		{"the size", "<doc> posix:size 3."},
		{"the mtime", "<doc> posix:mtime 3."},
		{"the modified date", "<doc> dcterms:modified \"2020-01-01T00:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>."},
	} {
		cases = append(cases,
			protocolCase{
				name:   "§4.3.2 PUT of server-managed triples in a description resource is 409: " + bad.what,
				setup:  []request{put("/doc", "text/plain", "x")},
				method: "PUT", path: "/doc.meta", headers: ct("text/turtle"), body: ttlPrefixes + bad.triple,
				wantStatus: 409,
				then:       []exchange{{method: "GET", path: "/doc.meta", wantStatus: 200, wantBodyExact: ptr("")}},
			},
			protocolCase{
				name:   "§4.3.2 PATCH of server-managed triples in a description resource is 409: " + bad.what,
				setup:  []request{put("/doc", "text/plain", "x")},
				method: "PATCH", path: "/doc.meta", headers: ct("application/sparql-update"),
				body:       sparqlPrefixes + "INSERT DATA { " + strings.TrimSuffix(bad.triple, ".") + " }",
				wantStatus: 409,
			},
		)
	}
	runCases(t, cases)
}

// sparqlPrefixes starts the SPARQL Update bodies of the cases.
const sparqlPrefixes = "PREFIX ldp: <http://www.w3.org/ns/ldp#>\n" +
	"PREFIX dcterms: <http://purl.org/dc/terms/>\n" +
	"PREFIX posix: <http://www.w3.org/ns/posix/stat#>\n" +
	"PREFIX pim: <http://www.w3.org/ns/pim/space#>\n" +
	"PREFIX ex: <http://example.org/>\n"

func TestReadingResources(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§5.2 GET of a missing resource is 404",
			method: "GET", path: "/nothing",
			wantStatus: 404,
		},
		{
			name:   "§5.2 HEAD has no body",
			setup:  []request{put("/doc.txt", "text/plain", "hello")},
			method: "HEAD", path: "/doc.txt",
			wantStatus:    200,
			wantBodyExact: ptr(""),
			wantHeaders:   map[string]string{"Content-Length": "5", "Content-Type": "text/plain"},
		},
		{
			name:   "§5.2 OPTIONS of a container lists Allow, Accept-Patch, Accept-Post and Accept-Put",
			setup:  []request{put("/c/", "", "")},
			method: "OPTIONS", path: "/c/",
			wantStatus: 204,
			wantHeaderHas: map[string][]string{
				"Allow":        {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"},
				"Accept-Patch": {"text/n3", "application/sparql-update"},
				"Accept-Post":  {"*/*"},
				"Accept-Put":   {"*/*"},
			},
		},
		{
			name:   "§5.2 OPTIONS of a document has no Accept-Post",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "OPTIONS", path: "/doc",
			wantStatus:      204,
			wantHeaders:     map[string]string{"Accept-Post": ""},
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "PUT", "PATCH", "DELETE"}, "Accept-Patch": {"text/n3"}, "Accept-Put": {"*/*"}},
			wantHeaderLacks: map[string][]string{"Allow": {"POST"}},
		},
		{
			name:   "§5.2 GET lists Allow and the Accept-* headers",
			setup:  []request{putTurtle("/doc", "<> ex:p 1.")},
			method: "GET", path: "/doc",
			wantStatus:    200,
			wantHeaderHas: map[string][]string{"Allow": {"GET", "PUT", "PATCH", "DELETE"}, "Accept-Patch": {"text/n3", "application/sparql-update"}, "Accept-Put": {"*/*"}},
			wantLinks:     []string{`<` + nsLDP + `RDFSource>; rel="type"`},
		},
		{
			name:   "§5.2 OPTIONS of a missing resource offers PUT but not DELETE",
			method: "OPTIONS", path: "/nothing",
			wantStatus:      204,
			wantHeaderHas:   map[string][]string{"Allow": {"PUT", "PATCH"}},
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE"}},
		},
		{
			name:   "§5 PROPFIND is 405, with the root's Allow, without DELETE (§5.4)",
			method: "PROPFIND", path: "/",
			wantStatus:      405,
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "POST", "PUT", "PATCH"}},
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE", "PROPFIND"}},
		},
		{
			name:   "§5 COPY is 405 with the document's Allow",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "COPY", path: "/doc", headers: map[string]string{"Destination": pod + "/copy"},
			wantStatus:      405,
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "PUT", "DELETE"}},
			wantHeaderLacks: map[string][]string{"Allow": {"POST", "COPY"}},
			then:            []exchange{{method: "GET", path: "/copy", wantStatus: 404}},
		},
		{
			name:   "§5 MKCOL is 405",
			method: "MKCOL", path: "/c/",
			wantStatus:      405,
			wantHeaderLacks: map[string][]string{"Allow": {"DELETE", "MKCOL"}},
			then:            []exchange{{method: "GET", path: "/c/", wantStatus: 404}},
		},
		{name: "§5 TRACE is 405", method: "TRACE", path: "/", wantStatus: 405, wantHeaderHas: map[string][]string{"Allow": {"GET"}}},
		{name: "§5 an unsupported method on a bad path is 400", method: "PROPFIND", path: "/a/../b", raw: true, wantStatus: 400},
		{
			name:   "§5.2 OPTIONS of a document links its type",
			setup:  []request{putTurtle("/doc", "<> ex:p 1.")},
			method: "OPTIONS", path: "/doc",
			wantStatus: 204,
			wantLinks:  []string{`<` + nsLDP + `RDFSource>; rel="type"`, `</doc.acl>; rel="acl"`},
		},
		{
			name:   "§5.2 the storage description offers no Accept-Put or Accept-Patch: it takes neither",
			method: "OPTIONS", path: "/.well-known/solid",
			wantStatus:  204,
			wantHeaders: map[string]string{"Allow": "GET, HEAD, OPTIONS", "Accept-Put": "", "Accept-Patch": "", "Accept-Post": ""},
		},
	})
}

// TestHeadMatchesGet checks that HEAD answers with exactly the headers of
// GET, Content-Length included (RFC 9110 §9.3.2, Solid Protocol §5.2).
func TestHeadMatchesGet(t *testing.T) {
	paths := []struct {
		path   string
		accept string
	}{
		{"/", ""},
		{"/c/", ""},
		{"/c/", "application/ld+json"},
		{"/c/doc", ""},
		{"/c/doc", "application/rdf+xml"},
		{"/c/doc.meta", ""},
		{"/c/bin", ""},
		{"/.well-known/solid", ""},
		{"/nothing", ""},
		{"/", "text/html"},
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ts := newGuardedServer(t, b.open(t), nil, nil)
			for _, r := range []request{putTurtle("/c/doc", "<> ex:p 1."), put("/c/bin", "application/octet-stream", binary)} {
				if res, body := send(t, ts, r); res.StatusCode/100 != 2 {
					t.Fatalf("setup: %d %s", res.StatusCode, body)
				}
			}
			for _, p := range paths {
				h := map[string]string{}
				if p.accept != "" {
					h["Accept"] = p.accept
				}
				get, body := do(t, ts, "GET", p.path, nil, h)
				head, hbody := do(t, ts, "HEAD", p.path, nil, h)
				if hbody != "" {
					t.Errorf("HEAD %s: body %q", p.path, hbody)
				}
				if get.StatusCode != head.StatusCode {
					t.Errorf("%s: GET %d, HEAD %d", p.path, get.StatusCode, head.StatusCode)
				}
				if want := strconv.Itoa(len(body)); get.Header.Get("Content-Length") != want {
					t.Errorf("GET %s: Content-Length %q, body of %s bytes", p.path, get.Header.Get("Content-Length"), want)
				}
				for _, hdr := range []http.Header{get.Header, head.Header} {
					hdr.Del("Date")
					hdr.Del(server.HeaderRequestID)
				}
				if fmt.Sprint(get.Header) != fmt.Sprint(head.Header) {
					t.Errorf("%s (Accept %q): headers differ\nGET:  %v\nHEAD: %v", p.path, p.accept, get.Header, head.Header)
				}
			}
		})
	}
}

func TestWritingResources(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§5.3 PUT creates: 201 with Location",
			method: "PUT", path: "/doc.txt", headers: ct("text/plain"), body: "hello",
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/doc.txt"},
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if res.Header.Get("ETag") == "" {
					t.Error("no ETag after PUT")
				}
			},
			then: []exchange{{method: "GET", path: "/doc.txt", wantStatus: 200, wantBodyExact: ptr("hello")}},
		},
		{
			name:   "§5.3 PUT replaces: 204 and the new content",
			setup:  []request{put("/doc.txt", "text/plain", "a longer first version")},
			method: "PUT", path: "/doc.txt", headers: ct("text/markdown"), body: "# short",
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc.txt", wantStatus: 200, wantBodyExact: ptr("# short"),
				wantHeaders: map[string]string{"Content-Type": "text/markdown"}}},
		},
		{
			name:   "§5.3 PUT creates the intermediate containers, visible in their parents",
			method: "PUT", path: "/a/b/c.txt", headers: ct("text/plain"), body: "c",
			wantStatus: 201,
			then: []exchange{
				{method: "GET", path: "/", wantStatus: 200, wantTriples: []string{"<" + pod + "/> " + ldpContain + " <" + pod + "/a/>"}},
				{method: "GET", path: "/a/", wantStatus: 200, wantLinks: containerTypes,
					wantTriples: []string{"<" + pod + "/a/> " + ldpContain + " <" + pod + "/a/b/>"}},
				{method: "GET", path: "/a/b/", wantStatus: 200,
					wantTriples: []string{"<" + pod + "/a/b/> " + ldpContain + " <" + pod + "/a/b/c.txt>"}},
			},
		},
		{
			name:   "§5.3 PUT of a container path creates a container",
			method: "PUT", path: "/new/",
			wantStatus: 201,
			then:       []exchange{{method: "GET", path: "/new/", wantStatus: 200, wantLinks: containerTypes}},
		},
		{
			name:   "§5.3 PUT on a container may not write containment triples: 409",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PUT", path: "/c/", headers: ct("text/turtle"), body: ttlPrefixes + "<> ldp:contains <y>.",
			wantStatus: 409,
		},
		{
			name:   "§5.3 PUT on a container may not write its resource metadata: 409",
			setup:  []request{put("/c/", "", "")},
			method: "PUT", path: "/c/", headers: ct("text/turtle"), body: ttlPrefixes + "<> dcterms:modified \"2020-01-01\".",
			wantStatus: 409,
		},
		{
			name:   "§5.3 PUT with an RDF type stores Turtle: the same triples come back",
			method: "PUT", path: "/card", headers: ct("application/ld+json"),
			body:       `{"@id": "#me", "http://xmlns.com/foaf/0.1/name": "Ada", "http://xmlns.com/foaf/0.1/knows": {"@id": "bob#me"}}`,
			wantStatus: 201,
			then: []exchange{{method: "GET", path: "/card", headers: accept("text/turtle"), wantStatus: 200,
				wantHeaders: map[string]string{"Content-Type": "text/turtle; charset=utf-8"},
				wantTriples: []string{
					"<" + pod + "/card#me> <http://xmlns.com/foaf/0.1/name> \"Ada\"",
					"<" + pod + "/card#me> <http://xmlns.com/foaf/0.1/knows> <" + pod + "/bob#me>",
				},
				wantLinks: []string{`<` + nsLDP + `RDFSource>; rel="type"`}}},
		},
		{
			name:   "§5.3 a binary round trip is byte for byte, not UTF-8 included",
			method: "PUT", path: "/img.bin", headers: ct("image/x-test"), body: binary,
			wantStatus: 201,
			then: []exchange{{method: "GET", path: "/img.bin", wantStatus: 200, wantBodyExact: ptr(binary),
				wantHeaders: map[string]string{"Content-Type": "image/x-test"}}},
		},
		{
			name:   "RFC 9110 §9.3.4 PUT of Turtle, stored as sent, answers with the ETag that GET sends",
			method: "PUT", path: "/doc", headers: ct("text/turtle"), body: "<#a> <#b> <#c>.",
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, body string) {
				if res.Header.Get("ETag") == "" {
					t.Error("no ETag")
				}
				etagIsCurrent(t, ts, res, body)
			},
		},
		{
			name:   "RFC 9110 §9.3.4 PUT of bytes answers with the ETag that GET sends",
			setup:  []request{put("/bin", "application/octet-stream", "old")},
			method: "PUT", path: "/bin", headers: ct("application/octet-stream"), body: binary,
			wantStatus: 204,
			check:      etagIsCurrent,
		},
		{
			name:   "RFC 9110 §9.3.4 PUT of JSON-LD, stored transformed as Turtle, answers with no ETag",
			method: "PUT", path: "/doc", headers: ct("application/ld+json"), body: `{"@id": "#a", "http://example.org/p": "x"}`,
			wantStatus:  201,
			wantHeaders: map[string]string{"ETag": ""},
		},
		{
			name:   "RFC 9110 §8.8.3 PUT of a container sends no ETag but the container's",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PUT", path: "/c/", headers: ct("text/turtle"), body: "<> <http://example.org/p> 1.",
			wantStatus: 204,
			check:      etagIsCurrent,
		},
		{
			name:   "RFC 9110 §8.8.3 POST of a container sends no ETag but the container's",
			method: "POST", path: "/", headers: map[string]string{"Slug": "c", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`},
			wantStatus: 201,
			check:      etagIsCurrent,
		},
		{
			name:   "RFC 9110 §8.8.3 POST of a document sends the ETag that GET sends",
			method: "POST", path: "/", headers: map[string]string{"Slug": "d", "Content-Type": "text/turtle"}, body: "<#a> <#b> <#c>.",
			wantStatus: 201,
			check:      etagIsCurrent,
		},
		{
			name:   "RFC 9110 §8.8.3 PATCH of a container sends no ETag but the container's",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PATCH", path: "/c/", headers: ct("application/sparql-update"), body: "INSERT DATA { <> <http://example.org/p> 1 }",
			wantStatus: 204,
			check:      etagIsCurrent,
		},
		{
			name:   "RFC 9110 §8.8.3 PATCH of a document sends the ETag that GET sends",
			setup:  []request{putTurtle("/doc", "")},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"), body: "INSERT DATA { <#a> <#b> <#c> }",
			wantStatus: 204,
			check:      etagIsCurrent,
		},
		{
			name:   "§5.3 POST to a container creates a child named after the Slug",
			setup:  []request{put("/c/", "", "")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "note.txt"}, body: "n",
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/c/note.txt"},
			then: []exchange{
				{method: "GET", path: "/c/note.txt", wantStatus: 200, wantBodyExact: ptr("n")},
				{method: "GET", path: "/c/", wantStatus: 200, wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/note.txt>"}},
			},
		},
		{
			name:   "§5.3 POST without a Slug makes up a name",
			method: "POST", path: "/", headers: ct("text/turtle"), body: "<> <http://example.org/p> 1.",
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
				loc := res.Header.Get("Location")
				name, ok := strings.CutPrefix(loc, pod+"/")
				if !ok || name == "" || strings.Contains(name, "/") {
					t.Fatalf("Location %q", loc)
				}
				if !exists(t, ts, "/"+name) {
					t.Errorf("GET %s fails", loc)
				}
			},
		},
		{
			name:   "§5.3 POST never reuses an existing name: a suffix is added",
			setup:  []request{put("/c/note", "text/plain", "first")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "note"}, body: "second",
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
				loc := res.Header.Get("Location")
				if loc == pod+"/c/note" || !strings.HasPrefix(loc, pod+"/c/note") {
					t.Errorf("Location %q, want /c/note with a suffix", loc)
				}
			},
			then: []exchange{{method: "GET", path: "/c/note", wantStatus: 200, wantBodyExact: ptr("first")}},
		},
		{
			name:   "§5.3 POST of RDF to a taken name keeps the content under the new name",
			setup:  []request{put("/c/card", "text/plain", "first")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "application/ld+json", "Slug": "card"},
			body:       `{"@id": "#me", "http://xmlns.com/foaf/0.1/name": "Ada"}`,
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
				loc := res.Header.Get("Location")
				if loc == "" || loc == pod+"/c/card" {
					t.Fatalf("Location %q reused", loc)
				}
				got, body := do(t, ts, "GET", strings.TrimPrefix(loc, pod), nil, map[string]string{"Accept": "application/n-triples"})
				g := graphOf(t, got, body, loc)
				if !hasTriple(t, g, "<"+loc+"#me> <http://xmlns.com/foaf/0.1/name> \"Ada\"") {
					t.Errorf("GET %s lacks the posted triple, with relative IRIs taken against the new name:\n%s", loc, body)
				}
			},
		},
		{
			name:   "§5.3 POST of a container with Turtle to a taken name keeps the content",
			setup:  []request{put("/c/box/", "", "")},
			method: "POST", path: "/c/",
			headers:    map[string]string{"Content-Type": "text/turtle", "Slug": "box", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`},
			body:       `<> <http://purl.org/dc/terms/title> "Box".`,
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
				loc := res.Header.Get("Location")
				if loc == "" || loc == pod+"/c/box/" {
					t.Fatalf("Location %q", loc)
				}
				got, body := do(t, ts, "GET", strings.TrimPrefix(loc, pod), nil, nil)
				g := graphOf(t, got, body, loc)
				if !hasTriple(t, g, "<"+loc+"> <http://purl.org/dc/terms/title> \"Box\"") {
					t.Errorf("GET %s lacks the posted triple:\n%s", loc, body)
				}
			},
		},
		{
			name:   "§5.3 POST never takes the other slash form of an existing name",
			setup:  []request{put("/c/note/", "", "")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "note"}, body: "n",
			wantStatus: 201,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if loc := res.Header.Get("Location"); loc == pod+"/c/note" {
					t.Errorf("Location %q beside the container /c/note/", loc)
				}
			},
		},
		{
			name:   "§5.3 POST with a Slug of spaces and Unicode: Location and containment are percent-encoded",
			setup:  []request{put("/c/", "", "")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "my note é"}, body: "n",
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/c/my%20note%20%C3%A9"},
			then: []exchange{
				{method: "GET", path: "/c/my%20note%20%C3%A9", wantStatus: 200, wantBodyExact: ptr("n")},
				{method: "GET", path: "/c/", wantStatus: 200, wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/my%20note%20%C3%A9>"}},
			},
		},
		{
			name:   "§5.3 POST of a container with a Slug ending in a slash",
			method: "POST", path: "/", headers: map[string]string{"Slug": "box/", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`},
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/box/"},
		},
		{
			name:   "§5.3 POST sanitises a Slug with a path separator",
			method: "POST", path: "/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "a/../../b"}, body: "n",
			wantStatus: 201,
			check:      slugLocation(pod + "/"),
		},
		{
			name:   "§5.3 POST sanitises an encoded Slug",
			method: "POST", path: "/", headers: map[string]string{"Content-Type": "text/plain", "Slug": "%2e%2e%2Fx"}, body: "n",
			wantStatus: 201,
			check:      slugLocation(pod + "/"),
		},
		{
			name:   "§5.3 POST never makes a name that is ..",
			method: "POST", path: "/", headers: map[string]string{"Content-Type": "text/plain", "Slug": ".."}, body: "n",
			wantStatus: 201,
			check:      slugLocation(pod + "/"),
		},
		{
			name:   "§4.3 POST never makes an auxiliary name",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/turtle", "Slug": "x.acl"}, body: "",
			wantStatus: 201,
			check: func(t *testing.T, ts *testServer, res *http.Response, body string) {
				slugLocation(pod+"/c/")(t, ts, res, body)
				if loc := res.Header.Get("Location"); strings.HasSuffix(loc, ".acl") {
					t.Errorf("Location %q is an ACL", loc)
				}
			},
		},
		{
			name:   "§5.3 POST with Link rel=type ldp:BasicContainer creates a container",
			setup:  []request{put("/c/", "", "")},
			method: "POST", path: "/c/",
			headers:     map[string]string{"Slug": "photos", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`},
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/c/photos/"},
			then: []exchange{
				{method: "GET", path: "/c/photos/", wantStatus: 200, wantLinks: containerTypes},
				{method: "GET", path: "/c/", wantStatus: 200, wantTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/photos/>"}},
			},
		},
		{
			name:   "§5.3 POST with Link rel=type ldp:Container and Turtle creates a container with its triples",
			method: "POST", path: "/",
			headers: map[string]string{"Slug": "box", "Content-Type": "text/turtle",
				"Link": `<http://www.w3.org/ns/ldp#Resource>; rel="type", <http://www.w3.org/ns/ldp#Container>; rel="type"`},
			body:        "<> <http://purl.org/dc/terms/title> \"Box\".",
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/box/"},
			then: []exchange{{method: "GET", path: "/box/", wantStatus: 200,
				wantTriples: []string{"<" + pod + "/box/> <http://purl.org/dc/terms/title> \"Box\""}}},
		},
		{
			name:   "§5.3 POST to a missing container is 404",
			method: "POST", path: "/nothing/", headers: ct("text/plain"), body: "x",
			wantStatus: 404,
		},
		{
			name:   "§5.3 POST to a missing document is 404",
			method: "POST", path: "/nothing", headers: ct("text/plain"), body: "x",
			wantStatus: 404,
		},
		{
			name:   "§5 POST to a document is 405 with Allow",
			setup:  []request{put("/doc", "text/plain", "x")},
			method: "POST", path: "/doc", headers: ct("text/plain"), body: "x",
			wantStatus:      405,
			wantHeaderHas:   map[string][]string{"Allow": {"GET", "PUT"}},
			wantHeaderLacks: map[string][]string{"Allow": {"POST"}},
		},
	})
}

// etagIsCurrent checks that an ETag sent with a write is the one a GET of
// the written resource then sends (RFC 9110 §8.8.3, §15.3.2), so that a
// client may use it in If-Match.
func etagIsCurrent(t *testing.T, ts *testServer, res *http.Response, _ string) {
	t.Helper()
	etag := res.Header.Get("ETag")
	if etag == "" {
		return
	}
	path := res.Request.URL.Path
	if loc := res.Header.Get("Location"); loc != "" {
		path = strings.TrimPrefix(loc, pod)
	}
	if got := headerOf(t, ts, path, "ETag"); got != etag {
		t.Errorf("%s %s answered ETag %s, but HEAD %s sends %s", res.Request.Method, res.Request.URL.Path, etag, path, got)
	}
}

// slugLocation checks that a POST made a direct, safe child of parent.
func slugLocation(parent string) func(t *testing.T, ts *testServer, res *http.Response, body string) {
	return func(t *testing.T, ts *testServer, res *http.Response, _ string) {
		t.Helper()
		loc := res.Header.Get("Location")
		name, ok := strings.CutPrefix(loc, parent)
		if !ok || name == "" || strings.Contains(strings.TrimSuffix(name, "/"), "/") ||
			name == "." || name == ".." || strings.Contains(strings.ToLower(name), "%2f") {
			t.Fatalf("Location %q is not a safe child of %s", loc, parent)
		}
		if !exists(t, ts, strings.TrimPrefix(loc, pod)) {
			t.Errorf("GET %s fails", loc)
		}
	}
}

func TestN3Patch(t *testing.T) {
	const doc = "<#alice> ex:family \"Garcia\"; ex:given \"Claudia\".\n<#bob> ex:family \"Smith\"."
	alice := "<" + pod + "/doc#alice> "
	n3 := func(body string) string {
		return "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n@prefix ex: <http://example.org/>.\n" + body
	}
	rename := n3(`_:rename a solid:InsertDeletePatch;
  solid:where   { ?person ex:family "Garcia". };
  solid:inserts { ?person ex:given "Alex". };
  solid:deletes { ?person ex:given "Claudia". }.`)
	runCases(t, []protocolCase{
		{
			name:   "§5.3.1 N3 Patch: where with one binding, deletes and inserts",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"), body: rename,
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				wantTriples: []string{alice + "<http://example.org/given> \"Alex\""},
				noTriples:   []string{alice + "<http://example.org/given> \"Claudia\""}}},
		},
		{
			name:   "§5.3.1 N3 Patch on a missing resource creates it: 201",
			method: "PATCH", path: "/new/doc", headers: ct("text/n3"),
			body:        n3(`<> a solid:InsertDeletePatch; solid:inserts { <#x> ex:p "v". }.`),
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/new/doc"},
			then: []exchange{
				{method: "GET", path: "/new/doc", wantStatus: 200, wantTriples: []string{"<" + pod + "/new/doc#x> <http://example.org/p> \"v\""}},
				{method: "GET", path: "/new/", wantStatus: 200, wantTriples: []string{"<" + pod + "/new/> " + ldpContain + " <" + pod + "/new/doc>"}},
			},
		},
		{
			name:   "§5.3.1 N3 Patch: where with no binding is 409",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:where { ?x ex:family "Nobody". }; solid:inserts { ?x ex:p 1. }.`),
			wantStatus: 409,
		},
		{
			name:   "§5.3.1 N3 Patch: where with two bindings is 409",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:where { ?x ex:family ?f. }; solid:inserts { ?x ex:p 1. }.`),
			wantStatus: 409,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				noTriples: []string{alice + "<http://example.org/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer>"}}},
		},
		{
			name:   "§5.3.1 N3 Patch: deleting a missing triple is 409",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:deletes { <#alice> ex:given "Nobody". }; solid:inserts { <#alice> ex:p 1. }.`),
			wantStatus: 409,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				noTriples: []string{alice + "<http://example.org/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer>"}}},
		},
		{
			name:   "§5.3.1 N3 Patch without solid:InsertDeletePatch is 422",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p solid:inserts { <#a> ex:p 1. }.`),
			wantStatus: 422,
		},
		{
			name:   "§5.3.1 N3 Patch with two solid:inserts is 422",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:p 1. }; solid:inserts { <#a> ex:p 2. }.`),
			wantStatus: 422,
		},
		{
			name:   "§5.3.1 N3 Patch with a variable in inserts that is not in where is 422",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { ?x ex:p 1. }.`),
			wantStatus: 422,
		},
		{
			name:   "§5.3.1 N3 Patch with a blank node in inserts is 422",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { _:b ex:p 1. }.`),
			wantStatus: 422,
		},
		{
			name:   "§5.3.1 N3 Patch with two patch resources is 422",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body: n3(`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:p 1. }.
_:q a solid:InsertDeletePatch; solid:inserts { <#a> ex:p 2. }.`),
			wantStatus: 422,
		},
		{
			name:   "§5.3.1 N3 Patch that does not parse is 400 with the position",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:p "open .`),
			wantStatus: 400,
			wantBody:   []string{"3:"},
		},
		{
			name:   "§5.3.1 PATCH of a container may not insert containment: 409",
			setup:  []request{put("/c/", "", "")},
			method: "PATCH", path: "/c/", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { <> <http://www.w3.org/ns/ldp#contains> <x>. }.`),
			wantStatus: 409,
		},
		{
			name:   "§5.3.1 PATCH of a container may add its own triples",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PATCH", path: "/c/", headers: ct("text/n3"),
			body:       n3(`_:p a solid:InsertDeletePatch; solid:inserts { <> ex:title "C". }.`),
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/c/", wantStatus: 200, wantTriples: []string{
				"<" + pod + "/c/> <http://example.org/title> \"C\"",
				"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/x>",
			}}},
		},
		{
			name:   "§5.3.1 PATCH with an unknown media type is 415",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/json-patch+json"), body: `[]`,
			wantStatus: 415,
		},
		{
			name:   "§5.3.1 PATCH of a non-RDF resource is 415",
			setup:  []request{put("/doc.txt", "text/plain", "x")},
			method: "PATCH", path: "/doc.txt", headers: ct("application/sparql-update"), body: `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 415,
			then:       []exchange{{method: "GET", path: "/doc.txt", wantStatus: 200, wantBodyExact: ptr("x")}},
		},
		{
			name:   "§5.3.1 PATCH of the storage description is 405",
			method: "PATCH", path: "/.well-known/solid", headers: ct("application/sparql-update"), body: `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 405,
		},
	})
}

func TestSPARQLUpdate(t *testing.T) {
	const doc = "<#alice> ex:name \"Alice\"; ex:age 41.\n<#bob> ex:name \"Bob\"."
	alice := "<" + pod + "/doc#alice> "
	runCases(t, []protocolCase{
		{
			name:   "§5.3.1 SPARQL Update: INSERT DATA",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       `INSERT DATA { <#alice> <http://example.org/nick> "Al" . }`,
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200, wantTriples: []string{
				alice + "<http://example.org/nick> \"Al\"", alice + "<http://example.org/name> \"Alice\""}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: DELETE DATA of a present triple",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       sparqlPrefixes + `DELETE DATA { <#alice> ex:name "Alice" . }`,
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				noTriples: []string{alice + "<http://example.org/name> \"Alice\""}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: DELETE DATA of a missing triple is 409",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       sparqlPrefixes + `DELETE DATA { <#alice> ex:name "Alicia" . }`,
			wantStatus: 409,
		},
		{
			name:   "§5.3.1 SPARQL Update as @inrupt/solid-client sends it: DELETE DATA; INSERT DATA",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       "DELETE DATA {<" + pod + "/doc#alice> <http://example.org/name> \"Alice\".};\nINSERT DATA {<" + pod + "/doc#alice> <http://example.org/name> \"Alicia\".};",
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				wantTriples: []string{alice + "<http://example.org/name> \"Alicia\""},
				noTriples:   []string{alice + "<http://example.org/name> \"Alice\""}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: a stale DELETE DATA; INSERT DATA is 409 and changes nothing",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       "DELETE DATA {<" + pod + "/doc#alice> <http://example.org/name> \"Al\".};\nINSERT DATA {<" + pod + "/doc#alice> <http://example.org/name> \"Alicia\".};",
			wantStatus: 409,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				wantTriples: []string{alice + "<http://example.org/name> \"Alice\""},
				noTriples:   []string{alice + "<http://example.org/name> \"Alicia\""}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: DELETE/INSERT WHERE with PREFIX and BASE",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body: "BASE <" + pod + "/doc>\nPREFIX ex: <http://example.org/>\n" +
				"DELETE { ?p ex:age ?a } INSERT { ?p ex:age 42 } WHERE { ?p ex:name \"Alice\"; ex:age ?a }",
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", headers: accept("application/n-triples"), wantStatus: 200,
				wantTriples: []string{alice + "<http://example.org/age> \"42\"^^<http://www.w3.org/2001/XMLSchema#integer>"},
				noTriples:   []string{alice + "<http://example.org/age> \"41\"^^<http://www.w3.org/2001/XMLSchema#integer>"}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: DELETE WHERE",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       sparqlPrefixes + `DELETE WHERE { ?p ex:name ?n }`,
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				noTriples:   []string{alice + "<http://example.org/name> ?"},
				wantTriples: []string{alice + "<http://example.org/age> ?"}}},
		},
		{
			name:   "§5.3.1 SPARQL Update: INSERT WHERE with no match changes nothing",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       sparqlPrefixes + `INSERT { ?p ex:nick "x" } WHERE { ?p ex:name "Nobody" }`,
			wantStatus: 204,
			then: []exchange{{method: "GET", path: "/doc", wantStatus: 200,
				noTriples: []string{alice + "<http://example.org/nick> ?"}}},
		},
		{
			name:   "§5.3.1 SPARQL Update with an unsupported feature is 400",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       sparqlPrefixes + `DELETE { ?p ex:age ?a } WHERE { ?p ex:age ?a FILTER(?a > 40) }`,
			wantStatus: 400,
		},
		{
			name:   "§5.3.1 SPARQL Update on a missing resource creates it: 201",
			method: "PATCH", path: "/fresh", headers: ct("application/sparql-update"),
			body:        `INSERT DATA { <#a> <http://example.org/p> "v" }`,
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/fresh"},
			then: []exchange{{method: "GET", path: "/fresh", wantStatus: 200,
				wantTriples: []string{"<" + pod + "/fresh#a> <http://example.org/p> \"v\""}}},
		},
		{
			name:   "§5.3.1 SPARQL Update that does not parse is 400",
			setup:  []request{putTurtle("/doc", doc)},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"),
			body:       `INSERT DATA { <#a> <#b> `,
			wantStatus: 400,
		},
	})
}

func TestDeletingResources(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§5.4 DELETE of a document",
			setup:  []request{put("/c/doc", "text/plain", "x")},
			method: "DELETE", path: "/c/doc",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/c/doc", wantStatus: 404},
				{method: "GET", path: "/c/", wantStatus: 200, noTriples: []string{"<" + pod + "/c/> " + ldpContain + " <" + pod + "/c/doc>"}},
			},
		},
		{
			name:   "§5.4 DELETE of a non-empty container is 409 with a body",
			setup:  []request{put("/c/doc", "text/plain", "x")},
			method: "DELETE", path: "/c/",
			wantStatus: 409,
			wantBody:   []string{"not empty"},
			then:       []exchange{{method: "GET", path: "/c/doc", wantStatus: 200}},
		},
		{
			name:   "§5.4 DELETE of an empty container",
			setup:  []request{put("/c/doc", "text/plain", "x"), del("/c/doc")},
			method: "DELETE", path: "/c/",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/c/", wantStatus: 404},
				{method: "GET", path: "/", wantStatus: 200, noTriples: []string{"<" + pod + "/> " + ldpContain + " <" + pod + "/c/>"}},
			},
		},
		{
			name:   "§5.4 DELETE of a missing resource is 404",
			method: "DELETE", path: "/nothing",
			wantStatus: 404,
		},
		{
			name:   "§5.4 DELETE of an auxiliary resource leaves its subject",
			setup:  []request{put("/doc", "text/plain", "x"), putTurtle("/doc.acl", "")},
			method: "DELETE", path: "/doc.acl",
			wantStatus: 204,
			then: []exchange{
				{method: "GET", path: "/doc.acl", wantStatus: 404},
				{method: "GET", path: "/doc", wantStatus: 200},
			},
		},
	})
}

func TestRepresentations(t *testing.T) {
	const ttl = ttlPrefixes + "<#me> ex:name \"Ada\"; ex:knows <../bob#me>; ex:page <>."
	me := "<" + pod + "/a/card#me> "
	triples := []string{
		me + "<http://example.org/name> \"Ada\"",
		me + "<http://example.org/knows> <" + pod + "/bob#me>",
		me + "<http://example.org/page> <" + pod + "/a/card>",
	}
	var cases []protocolCase
	for _, mt := range []string{"text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml", "text/n3"} {
		cases = append(cases, protocolCase{
			name:   "§5.5 an RDF source reads as " + mt + ", relative IRIs taken against its URL",
			setup:  []request{put("/a/card", "text/turtle", ttl)},
			method: "GET", path: "/a/card", headers: accept(mt),
			wantStatus:    200,
			wantTriples:   triples,
			wantHeaderHas: map[string][]string{"Vary": {"Accept"}},
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if got, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";"); got != mt {
					t.Errorf("Content-Type %q, want %s", res.Header.Get("Content-Type"), mt)
				}
			},
		})
	}
	bodies := map[string]string{
		"application/ld+json":   `{"@id": "#me", "http://example.org/name": "Ada", "http://example.org/knows": {"@id": "../bob#me"}, "http://example.org/page": {"@id": ""}}`,
		"application/n-triples": "<" + pod + "/a/card#me> <http://example.org/name> \"Ada\" .\n<" + pod + "/a/card#me> <http://example.org/knows> <" + pod + "/bob#me> .\n<" + pod + "/a/card#me> <http://example.org/page> <" + pod + "/a/card> .\n",
		"application/rdf+xml": `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="#me"><ex:name>Ada</ex:name><ex:knows rdf:resource="../bob#me"/><ex:page rdf:resource=""/></rdf:Description>
</rdf:RDF>`,
		"text/n3": ttl,
	}
	for mt, body := range bodies {
		cases = append(cases, protocolCase{
			name:   "§5.5 an RDF source can be written as " + mt,
			method: "PUT", path: "/a/card", headers: ct(mt), body: body,
			wantStatus: 201,
			then: []exchange{{method: "GET", path: "/a/card", headers: accept("text/turtle"), wantStatus: 200,
				wantHeaders: map[string]string{"Content-Type": "text/turtle; charset=utf-8"}, wantTriples: triples}},
		})
	}
	cases = append(cases,
		protocolCase{
			name:   "§5.5 q-values are honoured",
			setup:  []request{put("/a/card", "text/turtle", ttl)},
			method: "GET", path: "/a/card", headers: accept("text/turtle;q=0.5, application/ld+json;q=0.9, */*;q=0.1"),
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Type": "application/ld+json"},
		},
		protocolCase{
			name:   "§5.5 q=0 refuses a media type",
			setup:  []request{put("/a/card", "text/turtle", ttl)},
			method: "GET", path: "/a/card", headers: accept("text/turtle;q=0, */*"),
			wantStatus: 200,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if strings.HasPrefix(res.Header.Get("Content-Type"), "text/turtle") {
					t.Errorf("Content-Type %q after q=0", res.Header.Get("Content-Type"))
				}
			},
		},
		protocolCase{
			name:   "§5.5 a wildcard subtype picks the preferred RDF syntax",
			setup:  []request{put("/a/card", "text/turtle", ttl)},
			method: "GET", path: "/a/card", headers: accept("application/*"),
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Type": "application/ld+json"},
		},
		protocolCase{
			name:   "§5.5 406 when no representation fits",
			setup:  []request{put("/a/card", "text/turtle", ttl)},
			method: "GET", path: "/a/card", headers: accept("image/png, application/json"),
			wantStatus:    406,
			wantHeaderHas: map[string][]string{"Vary": {"Accept"}},
		},
		protocolCase{
			name:   "§5.5 406 for a container when no representation fits",
			method: "GET", path: "/", headers: accept("image/png"),
			wantStatus: 406,
		},
		protocolCase{
			name:   "§5.5 a Turtle body that does not parse is 400 with the line and column",
			method: "PUT", path: "/a/card", headers: ct("text/turtle"), body: "<#a> <#b> <#c> .\n<#a> <#b> \"open",
			wantStatus: 400,
			wantBody:   []string{"2:"},
			then:       []exchange{{method: "GET", path: "/a/card", wantStatus: 404}},
		},
		protocolCase{
			name:   "§5.5 a JSON-LD body that does not parse is 400 with the line and column",
			method: "PUT", path: "/a/card", headers: ct("application/ld+json"), body: "{\n  \"@id\": \"#a\",\n  oops\n}",
			wantStatus: 400,
			wantBody:   []string{"3:"},
		},
		protocolCase{
			name:   "§5.5 a JSON-LD @graph named after the document is stored as the document's graph",
			method: "PUT", path: "/a/card", headers: ct("application/ld+json"),
			body:       `{"@id": "", "@graph": [{"@id": "#me", "http://example.org/name": "Ada", "http://example.org/knows": {"@id": "../bob#me"}, "http://example.org/page": {"@id": ""}}]}`,
			wantStatus: 201,
			then:       []exchange{{method: "GET", path: "/a/card", headers: accept("text/turtle"), wantStatus: 200, wantTriples: triples}},
		},
		protocolCase{
			name:   "§5.5 a POSTed JSON-LD @graph named by <> takes the new resource's name",
			setup:  []request{put("/a/", "", "")},
			method: "POST", path: "/a/", headers: map[string]string{"Content-Type": "application/ld+json", "Slug": "card"},
			body:       `{"@id": "", "@graph": {"@id": "#me", "http://example.org/name": "Ada", "http://example.org/knows": {"@id": "../bob#me"}, "http://example.org/page": {"@id": ""}}}`,
			wantStatus: 201,
			then:       []exchange{{method: "GET", path: "/a/card", headers: accept("text/turtle"), wantStatus: 200, wantTriples: triples}},
		},
		protocolCase{
			name:   "§5.5 a JSON-LD graph named after another resource is 400, saying why, and nothing is stored",
			method: "PUT", path: "/a/card", headers: ct("application/ld+json"),
			body:       `{"@id": "` + pod + `/a/other", "@graph": [{"@id": "#me", "http://example.org/name": "Ada"}]}`,
			wantStatus: 400,
			wantBody:   []string{"named graphs are not supported: ", "<" + pod + "/a/other>"},
			then:       []exchange{{method: "GET", path: "/a/card", wantStatus: 404}},
		},
		protocolCase{
			name:   "§5.5 a POSTed RDF source reads as JSON-LD",
			method: "POST", path: "/", headers: map[string]string{"Content-Type": "text/turtle", "Slug": "card"}, body: "<#me> <http://example.org/name> \"Ada\".",
			wantStatus: 201,
			then: []exchange{{method: "GET", path: "/card", headers: accept("application/ld+json"), wantStatus: 200,
				wantTriples: []string{"<" + pod + "/card#me> <http://example.org/name> \"Ada\""}}},
		},
	)
	// Kluis parses no RDFa: HTML and XHTML, RDFa attributes or not, are
	// non-RDF resources (§4.2, §5.5 asks only for Turtle and JSON-LD),
	// stored and served byte for byte under the type they were sent with,
	// whatever the Accept header asks.
	for _, doc := range []struct{ contentType, body string }{
		{"text/html; charset=utf-8", "<!DOCTYPE html>\r\n<html prefix=\"foaf: http://xmlns.com/foaf/0.1/\"><body  about=\"#me\"   typeof=\"foaf:Person\">\r\n" +
			"<p property=\"foaf:name\">Ad&#97; \xc3\xa9</p><br></body></html>\n\n"},
		{"application/xhtml+xml", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<html xmlns="http://www.w3.org/1999/xhtml" vocab="http://xmlns.com/foaf/0.1/">` +
			`<body about="#me" typeof="Person"><p property='name'>Ada</p><br/></body></html>` + "\t\n"},
	} {
		mt, _, _ := strings.Cut(doc.contentType, ";")
		exact := []exchange{
			{method: "GET", path: "/a/page", headers: accept(mt), wantStatus: 200, wantBodyExact: ptr(doc.body),
				wantHeaders: map[string]string{"Content-Type": doc.contentType, "Content-Length": strconv.Itoa(len(doc.body))},
				wantLinks:   []string{`<` + nsLDP + `NonRDFSource>; rel="type"`}, noLinks: []string{`<` + nsLDP + `RDFSource>; rel="type"`}},
			{method: "GET", path: "/a/page", headers: accept("text/turtle"), wantStatus: 200, wantBodyExact: ptr(doc.body),
				wantHeaders: map[string]string{"Content-Type": doc.contentType}},
		}
		cases = append(cases,
			protocolCase{
				name:   "§5.5 " + mt + " is not parsed for RDFa: PUT stores a non-RDF resource byte for byte",
				method: "PUT", path: "/a/page", headers: ct(doc.contentType), body: doc.body,
				wantStatus: 201,
				then:       exact,
			},
			protocolCase{
				name:   "§5.5 " + mt + " is not parsed for RDFa: POST stores a non-RDF resource byte for byte",
				setup:  []request{put("/a/", "", "")},
				method: "POST", path: "/a/", headers: map[string]string{"Content-Type": doc.contentType, "Slug": "page"}, body: doc.body,
				wantStatus: 201,
				then: append(exact, exchange{method: "GET", path: "/a/", wantStatus: 200,
					wantTriples: []string{"<" + pod + "/a/page> " + rdfType + " <" + nsMedia + mt + "#Resource>"}}),
			},
			protocolCase{
				name:   "§4.3 " + mt + " is not RDF, so an auxiliary resource refuses it",
				method: "PUT", path: "/a/page.meta", headers: ct(doc.contentType), body: doc.body,
				wantStatus: 415,
			},
		)
	}
	runCases(t, cases)
}

func TestConditionalRequests(t *testing.T) {
	const future = "Fri, 01 Jan 2100 00:00:00 GMT"
	const past = "Mon, 01 Jan 2001 00:00:00 GMT"
	setupDoc := []request{putTurtle("/doc", "<> ex:p 1.")}
	setupBin := []request{put("/bin", "application/octet-stream", binary)}
	validators := func(t *testing.T, _ *testServer, res *http.Response, _ string) {
		t.Helper()
		etag := res.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
			t.Errorf("ETag %q is not a strong entity-tag", etag)
		}
		if _, err := http.ParseTime(res.Header.Get("Last-Modified")); err != nil {
			t.Errorf("Last-Modified %q: %v", res.Header.Get("Last-Modified"), err)
		}
	}
	var cases []protocolCase
	for _, r := range []struct{ what, path string }{
		{"an RDF source", "/doc"}, {"a non-RDF source", "/bin"}, {"a container", "/c/"}, {"the root", "/"},
		{"a description resource", "/doc.meta"}, {"an ACL resource", "/doc.acl"},
	} {
		cases = append(cases, protocolCase{
			name:   "RFC 9110 §8.8 strong ETag and Last-Modified on " + r.what,
			setup:  []request{putTurtle("/doc", "<> ex:p 1."), put("/bin", "application/octet-stream", "b"), put("/c/x", "text/plain", "x"), putTurtle("/doc.acl", "")},
			method: "GET", path: r.path,
			wantStatus: 200,
			check:      validators,
		})
	}
	cases = append(cases,
		protocolCase{
			name:   "RFC 9110 §13.1.2 GET with the current ETag in If-None-Match is 304 with the ETag",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-None-Match": "$ETAG(/doc)"},
			wantStatus:    304,
			wantBodyExact: ptr(""),
			check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
				if want := headerOf(t, ts, "/doc", "ETag"); res.Header.Get("ETag") != want {
					t.Errorf("304 ETag %q, want %q", res.Header.Get("ETag"), want)
				}
				if res.Header.Get("Last-Modified") == "" {
					t.Error("304 without Last-Modified")
				}
			},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 HEAD with If-None-Match: * is 304 with the ETag",
			setup:  setupBin,
			method: "HEAD", path: "/bin", headers: map[string]string{"If-None-Match": "*"},
			wantStatus: 304,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if res.Header.Get("ETag") == "" {
					t.Error("304 without ETag")
				}
			},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 a container with its current ETag is 304",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "GET", path: "/c/", headers: map[string]string{"If-None-Match": "$ETAG(/c/)"},
			wantStatus: 304,
			wantLinks:  containerTypes,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if res.Header.Get("ETag") == "" {
					t.Error("304 without ETag")
				}
			},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 a stale ETag in If-None-Match gets the representation",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-None-Match": `"stale"`},
			wantStatus: 200,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 the ETag of another representation gets this one",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-None-Match": "$ETAG(/doc)", "Accept": "application/ld+json"},
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Type": "application/ld+json"},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.3 GET with a later If-Modified-Since is 304",
			setup:  setupBin,
			method: "GET", path: "/bin", headers: map[string]string{"If-Modified-Since": future},
			wantStatus: 304,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.3 GET with If-Modified-Since the Last-Modified is 304",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-Modified-Since": "$MODIFIED(/doc)"},
			wantStatus: 304,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.3 GET with an earlier If-Modified-Since is 200",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-Modified-Since": past},
			wantStatus: 200,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PUT with a stale If-Match is 412",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/turtle", "If-Match": `"stale"`}, body: "<> <http://example.org/p> 2.",
			wantStatus: 412,
			then: []exchange{{method: "GET", path: "/doc", headers: accept("application/n-triples"), wantStatus: 200,
				wantTriples: []string{"<" + pod + "/doc> <http://example.org/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer>"}}},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PUT with the current If-Match replaces",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/turtle", "If-Match": "$ETAG(/doc)"}, body: "<> <http://example.org/p> 2.",
			wantStatus: 204,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PUT with If-Match on a missing resource is 412",
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-Match": "*"}, body: "x",
			wantStatus: 412,
			then:       []exchange{{method: "GET", path: "/doc", wantStatus: 404}},
		},
		protocolCase{
			name:   "§5.3 Note: PUT with If-None-Match: * on an existing resource is 412",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}, body: "x",
			wantStatus: 412,
		},
		protocolCase{
			name:   "§5.3 Note: PUT with If-None-Match: * on a missing resource creates it",
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"}, body: "x",
			wantStatus: 201,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 POST with a stale If-Match on the container is 412",
			setup:  []request{put("/c/", "", "")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "If-Match": `"stale"`}, body: "x",
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 POST with the container's current If-Match creates",
			setup:  []request{put("/c/", "", "")},
			method: "POST", path: "/c/", headers: map[string]string{"Content-Type": "text/plain", "If-Match": "$ETAG(/c/)"}, body: "x",
			wantStatus: 201,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PATCH with a stale If-Match is 412",
			setup:  setupDoc,
			method: "PATCH", path: "/doc", headers: map[string]string{"Content-Type": "application/sparql-update", "If-Match": `"stale"`},
			body:       `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PATCH with the current If-Match of another representation applies",
			setup:  setupDoc,
			method: "PATCH", path: "/doc", headers: map[string]string{"Content-Type": "application/sparql-update", "If-Match": "$ETAG(/doc)"},
			body:       `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 204,
		},
		protocolCase{
			name:   "§5.3 Note: PATCH with If-None-Match: * on an existing resource is 412",
			setup:  setupDoc,
			method: "PATCH", path: "/doc", headers: map[string]string{"Content-Type": "application/sparql-update", "If-None-Match": "*"},
			body:       `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 DELETE with a stale If-Match is 412",
			setup:  setupDoc,
			method: "DELETE", path: "/doc", headers: map[string]string{"If-Match": `"stale"`},
			wantStatus: 412,
			then:       []exchange{{method: "GET", path: "/doc", wantStatus: 200}},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 DELETE with the current If-Match deletes",
			setup:  setupBin,
			method: "DELETE", path: "/bin", headers: map[string]string{"If-Match": "$ETAG(/bin)"},
			wantStatus: 204,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 DELETE with If-None-Match: * of an existing resource is 412",
			setup:  setupBin,
			method: "DELETE", path: "/bin", headers: map[string]string{"If-None-Match": "*"},
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 PUT of a container with its current If-Match replaces",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PUT", path: "/c/", headers: map[string]string{"Content-Type": "text/turtle", "If-Match": "$ETAG(/c/)"}, body: "<> <http://example.org/p> 1.",
			wantStatus: 204,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 the ETag of a container changes with its containment",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "PUT", path: "/c/y", headers: map[string]string{"Content-Type": "text/plain"}, body: "y",
			wantStatus: 201,
			then: []exchange{{method: "GET", path: "/c/", headers: map[string]string{"If-None-Match": `"stale"`}, wantStatus: 200,
				check: func(t *testing.T, ts *testServer, res *http.Response, _ string) {
					etag := res.Header.Get("ETag")
					send(t, ts, del("/c/y"))
					if after := headerOf(t, ts, "/c/", "ETag"); after == etag {
						t.Errorf("ETag %s unchanged after a child went", etag)
					}
				}}},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 DELETE of an empty container with its current If-Match",
			setup:  []request{put("/c/", "", "")},
			method: "DELETE", path: "/c/", headers: map[string]string{"If-Match": "$ETAG(/c/)"},
			wantStatus: 204,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 If-Match compares strongly: a weak tag fails",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-Match": "W/$ETAG(/doc)"}, body: "x",
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.2 If-None-Match compares weakly: a weak tag of the current one is 304",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"If-None-Match": `"other", W/$ETAG(/doc)`},
			wantStatus: 304,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.4 PUT with an earlier If-Unmodified-Since is 412",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-Unmodified-Since": past}, body: "x",
			wantStatus: 412,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.4 PUT with a later If-Unmodified-Since replaces",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-Unmodified-Since": future}, body: "x",
			wantStatus: 204,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 HEAD with a stale If-Match is 412",
			setup:  setupDoc,
			method: "HEAD", path: "/doc", headers: map[string]string{"If-Match": `"stale"`},
			wantStatus: 412,
		},
		protocolCase{
			name:   "§5.3 Note: PATCH with If-None-Match: * on a missing resource creates it",
			method: "PATCH", path: "/doc", headers: map[string]string{"Content-Type": "application/sparql-update", "If-None-Match": "*"},
			body:       `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 201,
		},
		protocolCase{
			name:   "RFC 9110 §13.1.1 a malformed If-Match is 400",
			setup:  setupDoc,
			method: "PUT", path: "/doc", headers: map[string]string{"Content-Type": "text/plain", "If-Match": `no-quotes`}, body: "x",
			wantStatus: 400,
		},
		protocolCase{
			name:   "RFC 9110 §14.2 a byte range of a non-RDF resource is 206",
			setup:  setupBin,
			method: "GET", path: "/bin", headers: map[string]string{"Range": "bytes=1-3"},
			wantStatus:    206,
			wantBodyExact: ptr(binary[1:4]),
			wantHeaders:   map[string]string{"Content-Range": fmt.Sprintf("bytes 1-3/%d", len(binary)), "Content-Length": "3"},
		},
		protocolCase{
			name:   "RFC 9110 §14.2 a suffix range is 206",
			setup:  setupBin,
			method: "GET", path: "/bin", headers: map[string]string{"Range": "bytes=-4"},
			wantStatus:    206,
			wantBodyExact: ptr(binary[len(binary)-4:]),
			wantHeaders:   map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", len(binary)-4, len(binary)-1, len(binary))},
		},
		protocolCase{
			name:   "RFC 9110 §15.5.17 a range past the end is 416 with Content-Range: bytes */size",
			setup:  setupBin,
			method: "GET", path: "/bin", headers: map[string]string{"Range": "bytes=1000-"},
			wantStatus:  416,
			wantHeaders: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", len(binary))},
		},
		protocolCase{
			name:   "RFC 9110 §14.2 an RDF source is served whole despite a Range",
			setup:  setupDoc,
			method: "GET", path: "/doc", headers: map[string]string{"Range": "bytes=0-3"},
			wantStatus:  200,
			wantHeaders: map[string]string{"Content-Range": ""},
		},
		protocolCase{
			name:   "RFC 9110 §13.1.5 If-Range with a stale ETag gets the whole resource",
			setup:  setupBin,
			method: "GET", path: "/bin", headers: map[string]string{"Range": "bytes=0-3", "If-Range": `"stale"`},
			wantStatus:    200,
			wantBodyExact: ptr(binary),
		},
	)
	runCases(t, cases)
}

func TestSlashSemantics(t *testing.T) {
	runCases(t, []protocolCase{
		{
			name:   "§3.1 PUT /a when /a/ exists is 409",
			setup:  []request{put("/a/", "", "")},
			method: "PUT", path: "/a", headers: ct("text/plain"), body: "x",
			wantStatus: 409,
			then:       []exchange{{method: "GET", path: "/a", wantStatus: 404}},
		},
		{
			name:   "§3.1 PUT /a/ when /a exists is 409",
			setup:  []request{put("/a", "text/plain", "x")},
			method: "PUT", path: "/a/",
			wantStatus: 409,
			then:       []exchange{{method: "GET", path: "/a/", wantStatus: 404}},
		},
		{
			name:   "§3.1 PUT /a/b when /a is a document is 409",
			setup:  []request{put("/a", "text/plain", "x")},
			method: "PUT", path: "/a/b", headers: ct("text/plain"), body: "y",
			wantStatus: 409,
			then:       []exchange{{method: "GET", path: "/a", wantStatus: 200, wantBodyExact: ptr("x")}},
		},
		{
			name:   "§3.1 PUT /a/b/c when /a/b is a document is 409",
			setup:  []request{put("/a/b", "text/plain", "x")},
			method: "PUT", path: "/a/b/c", headers: ct("text/plain"), body: "y",
			wantStatus: 409,
		},
		{
			name:   "§3.1 PATCH /a when /a/ exists is 409",
			setup:  []request{put("/a/", "", "")},
			method: "PATCH", path: "/a", headers: ct("application/sparql-update"), body: `INSERT DATA { <#a> <#b> <#c> }`,
			wantStatus: 409,
		},
		{
			name:   "§3.1 POST of a container beside a document of that name gets another name",
			setup:  []request{put("/c/x", "text/plain", "x")},
			method: "POST", path: "/c/", headers: map[string]string{"Slug": "x", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`},
			wantStatus: 201,
			check: func(t *testing.T, _ *testServer, res *http.Response, _ string) {
				if loc := res.Header.Get("Location"); loc == pod+"/c/x/" {
					t.Errorf("Location %q beside the document /c/x", loc)
				}
			},
		},
		{
			name:   "§4.3 a container cannot be named like an auxiliary resource: 400",
			setup:  []request{put("/x", "text/plain", "x")},
			method: "PUT", path: "/x.acl/",
			wantStatus: 400,
		},
		{
			name:   "§3.1 GET /a/ when /a is a document is 404",
			setup:  []request{put("/a", "text/plain", "x")},
			method: "GET", path: "/a/",
			wantStatus: 404,
		},
		{
			name:   "§3.1 GET /a when /a/ is a container is 404",
			setup:  []request{put("/a/", "", "")},
			method: "GET", path: "/a",
			wantStatus: 404,
		},
	})
}

func TestCORS(t *testing.T) {
	const origin = "https://app.example"
	exposed := []string{"Accept-Patch", "Accept-Post", "Accept-Put", "Allow", "Content-Range", "ETag",
		"Last-Modified", "Link", "Location", "Updates-Via", "WAC-Allow", "WWW-Authenticate"}
	cors := func(extra map[string]string) map[string]string {
		h := map[string]string{"Origin": origin}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	runCases(t, []protocolCase{
		{
			name:   "§8.1 GET with an Origin echoes it, allows credentials and exposes the headers",
			setup:  []request{putTurtle("/doc", "<> ex:p 1.")},
			method: "GET", path: "/doc", headers: cors(nil),
			wantStatus:    200,
			wantHeaders:   map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"},
			wantHeaderHas: map[string][]string{"Access-Control-Expose-Headers": exposed, "Vary": {"Origin"}},
		},
		{
			name:   "§8.1 an error response carries the CORS headers too",
			method: "GET", path: "/nothing", headers: cors(nil),
			wantStatus:    404,
			wantHeaders:   map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"},
			wantHeaderHas: map[string][]string{"Access-Control-Expose-Headers": exposed, "Vary": {"Origin"}},
		},
		{
			name:   "§8.1 a 201 carries the CORS headers, Location exposed",
			method: "PUT", path: "/doc", headers: cors(map[string]string{"Content-Type": "text/plain"}), body: "x",
			wantStatus:    201,
			wantHeaders:   map[string]string{"Access-Control-Allow-Origin": origin},
			wantHeaderHas: map[string][]string{"Access-Control-Expose-Headers": {"Location", "ETag"}},
		},
		{
			name:   "§8.1 a preflight is answered with the method and headers asked for",
			method: "OPTIONS", path: "/doc",
			headers: cors(map[string]string{
				"Access-Control-Request-Method":  "PATCH",
				"Access-Control-Request-Headers": "content-type, authorization, dpop, link, slug, if-match, x-custom",
			}),
			wantStatus: 204,
			wantHeaders: map[string]string{
				"Access-Control-Allow-Origin":      origin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Headers":     "content-type, authorization, dpop, link, slug, if-match, x-custom",
			},
			wantHeaderHas: map[string][]string{"Access-Control-Allow-Methods": {"PATCH"}, "Vary": {"Origin"}},
		},
		{
			name:   "§8.1 a preflight for an unusual method allows it",
			method: "OPTIONS", path: "/",
			headers:       cors(map[string]string{"Access-Control-Request-Method": "PROPFIND"}),
			wantStatus:    204,
			wantHeaderHas: map[string][]string{"Access-Control-Allow-Methods": {"PROPFIND"}, "Access-Control-Allow-Headers": {"Accept"}},
		},
		{
			name:   "§8.1 a preflight for a method that is a part of a known one allows it",
			method: "OPTIONS", path: "/",
			headers:       cors(map[string]string{"Access-Control-Request-Method": "ET"}),
			wantStatus:    204,
			wantHeaderHas: map[string][]string{"Access-Control-Allow-Methods": {"ET", "GET"}},
		},
		{
			name:   "§8.1 a request without Origin still varies by Origin",
			method: "GET", path: "/",
			wantStatus:    200,
			wantHeaders:   map[string]string{"Access-Control-Allow-Origin": ""},
			wantHeaderHas: map[string][]string{"Vary": {"Origin", "Accept"}},
		},
	})
}

func TestLimits(t *testing.T) {
	big := strings.Repeat("x", 2048)
	smallBody := func(c *server.Config) { c.MaxBodyBytes = 1024 }
	fewTriples := func(c *server.Config) { c.MaxTriples = 10 }
	var many strings.Builder
	for i := range 11 {
		fmt.Fprintf(&many, "<#s> <#p> %d .\n", i)
	}
	runCases(t, []protocolCase{
		{
			name:   "§2.1 PUT with content and no Content-Type is 400",
			method: "PUT", path: "/doc", body: "content",
			wantStatus: 400,
			then:       []exchange{{method: "GET", path: "/doc", wantStatus: 404}},
		},
		{
			name:   "§2.1 POST with content and no Content-Type is 400",
			method: "POST", path: "/", body: "content",
			wantStatus: 400,
		},
		{
			name:   "§2.1 PATCH with content and no Content-Type is 400",
			setup:  []request{putTurtle("/doc", "")},
			method: "PATCH", path: "/doc", body: "INSERT DATA { <#a> <#b> <#c> }",
			wantStatus: 400,
		},
		{
			name:   "§5.3 PUT of image/png to a container is 415",
			method: "PUT", path: "/c/", headers: ct("image/png"), body: "\x89PNG",
			wantStatus: 415,
			then:       []exchange{{method: "GET", path: "/c/", wantStatus: 404}},
		},
		{
			name:   "§5.3 POST of a container with image/png is 415",
			method: "POST", path: "/", headers: map[string]string{"Content-Type": "image/png", "Link": `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`}, body: "\x89PNG",
			wantStatus: 415,
		},
		{
			name:   "§2.1 a malformed Content-Type is 400",
			method: "PUT", path: "/doc", headers: ct("text/"), body: "x",
			wantStatus: 400,
		},
		{
			name:   "RFC 9110 §15.5.14 PUT above Config.MaxBodyBytes is 413",
			config: smallBody,
			method: "PUT", path: "/doc", headers: ct("text/plain"), body: big,
			wantStatus: 413,
			then:       []exchange{{method: "GET", path: "/doc", wantStatus: 404}},
		},
		{
			name:   "RFC 9110 §15.5.14 POST above Config.MaxBodyBytes is 413",
			config: smallBody,
			method: "POST", path: "/", headers: ct("text/plain"), body: big,
			wantStatus: 413,
		},
		{
			name:   "RFC 9110 §15.5.14 PATCH above Config.MaxBodyBytes is 413",
			config: smallBody,
			setup:  []request{putTurtle("/doc", "")},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"), body: "INSERT DATA { <#a> <#b> \"" + big + "\" }",
			wantStatus: 413,
		},
		{
			name:   "RDF above Config.MaxTriples is 413 on PUT",
			config: fewTriples,
			method: "PUT", path: "/doc", headers: ct("text/turtle"), body: many.String(),
			wantStatus: 413,
			then:       []exchange{{method: "GET", path: "/doc", wantStatus: 404}},
		},
		{
			name:   "RDF above Config.MaxTriples is 413 on POST",
			config: fewTriples,
			method: "POST", path: "/", headers: ct("application/n-triples"), body: strings.ReplaceAll(many.String(), "#", pod+"/x#"),
			wantStatus: 413,
		},
		{
			name:   "RDF above Config.MaxTriples is 413 on PATCH",
			config: fewTriples,
			setup:  []request{put("/doc", "text/turtle", "<#s> <#p> 1, 2, 3, 4, 5, 6, 7, 8, 9 .")},
			method: "PATCH", path: "/doc", headers: ct("application/sparql-update"), body: "INSERT DATA { <#s> <#p> 10, 11 }",
			wantStatus: 413,
		},
		{
			name:   "RDF at Config.MaxTriples is stored",
			config: fewTriples,
			method: "PUT", path: "/doc", headers: ct("text/turtle"), body: "<#s> <#p> 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 .",
			wantStatus: 201,
		},
	})
}

func TestPathSafety(t *testing.T) {
	// secrets lie outside the resource space: no request may read them.
	secrets := func(t *testing.T, b storage.Backend) {
		for _, key := range []string{"secret", "accounts/alice", "r.secret", "x/r/secret"} {
			if _, err := b.Put(context.Background(), key, strings.NewReader("SECRET"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var cases []protocolCase
	for _, p := range []struct {
		path string
		raw  bool
	}{
		{"/../secret", true},
		{"/a/../../secret", true},
		{"/%2e%2e/secret", false},
		{"/%2E%2E/accounts/alice", false},
		{"/.%2e/secret", false},
		{"/a/%2e%2e/%2e%2e/secret", false},
		{"/..%2fsecret", false},
		{"/a%2Fb", false},
		{"/a%2f..%2f..%2fsecret", false},
		{"/a%00b", false},
		{"/secret%00", false},
		{"/a%5Cb", false},
		{"/a\\..\\..\\secret", true},
		{"/..\\secret", true},
		{"/./secret", true},
		{"/a//b", true},
		{"/.", true},
		{"/..", true},
	} {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			tc := protocolCase{
				name:    fmt.Sprintf("path safety: %s %q is 400", method, p.path),
				backend: secrets,
				method:  method, path: p.path, raw: p.raw,
				wantStatus: 400,
				noBody:     []string{"SECRET"},
			}
			if method == "PUT" {
				tc.headers, tc.body = ct("text/plain"), "overwritten"
			}
			cases = append(cases, tc)
		}
	}
	cases = append(cases,
		protocolCase{
			name:    "path safety: names that look like keys outside r/ stay inside it",
			backend: secrets,
			setup:   []request{put("/secret", "text/plain", "mine")},
			method:  "GET", path: "/secret",
			wantStatus:    200,
			wantBodyExact: ptr("mine"),
		},
		protocolCase{
			name:    "path safety: an encoded space and percent are ordinary characters",
			backend: secrets,
			method:  "PUT", path: "/a%20b%25c", headers: ct("text/plain"), body: "x",
			wantStatus:  201,
			wantHeaders: map[string]string{"Location": pod + "/a%20b%25c"},
			then:        []exchange{{method: "GET", path: "/a%20b%25c", wantStatus: 200, wantBodyExact: ptr("x")}},
		},
	)
	runCases(t, cases)
	// The secrets are untouched.
	for _, b := range backends() {
		t.Run(b.name+"/secrets intact", func(t *testing.T) {
			store := b.open(t)
			ts := newGuardedServer(t, store, secrets, nil)
			for _, c := range cases[:len(cases)-2] {
				send(t, ts, request{method: c.method, path: c.path, raw: c.raw, headers: c.headers, body: c.body})
			}
			for _, key := range []string{"secret", "accounts/alice", "r.secret", "x/r/secret"} {
				body, _, err := store.Get(context.Background(), key, storage.GetOptions{})
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if got := readAll(t, body); got != "SECRET" {
					t.Errorf("%s now holds %q", key, got)
				}
			}
		})
	}
}

// TestConcurrentWrites checks that concurrent writers lose nothing: PATCH is
// a read-modify-write retried on conflict, and concurrent POSTs with one
// Slug get distinct names (Solid Protocol §5.3).
func TestConcurrentWrites(t *testing.T) {
	const n = 12
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ts := newGuardedServer(t, b.open(t), nil, nil)
			if res, body := send(t, ts, putTurtle("/doc", "")); res.StatusCode != 201 {
				t.Fatalf("PUT: %d %s", res.StatusCode, body)
			}
			statuses := make(chan int, 2*n)
			locations := make(chan string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					res, err := ts.Client().Do(newRequest(t, "PATCH", ts.URL+"/doc", "application/sparql-update",
						fmt.Sprintf("INSERT DATA { <#s> <http://example.org/p> %d }", i), nil))
					if err == nil {
						res.Body.Close()
						statuses <- res.StatusCode
					}
				})
				wg.Go(func() {
					res, err := ts.Client().Do(newRequest(t, "POST", ts.URL+"/", "text/plain", "x", map[string]string{"Slug": "same"}))
					if err == nil {
						res.Body.Close()
						statuses <- res.StatusCode
						locations <- res.Header.Get("Location")
					}
				})
			}
			wg.Wait()
			close(statuses)
			close(locations)
			for s := range statuses {
				if s != 204 && s != 201 {
					t.Errorf("status %d", s)
				}
			}
			seen := map[string]bool{}
			for l := range locations {
				if seen[l] {
					t.Errorf("two POSTs made %s", l)
				}
				seen[l] = true
			}
			if len(seen) != n {
				t.Errorf("%d distinct Locations, want %d", len(seen), n)
			}
			res, body := do(t, ts, "GET", "/doc", nil, map[string]string{"Accept": "application/n-triples"})
			g := graphOf(t, res, body, pod+"/doc")
			if g.Len() != n {
				t.Errorf("%d triples after %d concurrent PATCHes:\n%s", g.Len(), n, body)
			}
		})
	}
}

// newRequest makes a request with a body, safe to call from any goroutine.
func newRequest(t *testing.T, method, url, contentType, body string, headers map[string]string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return nil
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// TestRDFIsStoredAsTurtle checks that an RDF source is stored as Turtle
// whatever syntax it came in (Solid Protocol §5.5), and bytes as they came.
func TestRDFIsStoredAsTurtle(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			store := b.open(t)
			ts := newGuardedServer(t, store, nil, nil)
			for _, r := range []request{
				put("/ld", "application/ld+json", `{"@id": "#me", "http://xmlns.com/foaf/0.1/name": "Ada"}`),
				put("/nt", "application/n-triples", "<"+pod+"/nt#me> <http://xmlns.com/foaf/0.1/name> \"Ada\" .\n"),
				put("/xml", "application/rdf+xml", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="#me"><name xmlns="http://xmlns.com/foaf/0.1/">Ada</name></rdf:Description></rdf:RDF>`),
				put("/ttl", "text/turtle; charset=utf-8", "<#me> <http://xmlns.com/foaf/0.1/name> \"Ada\"."),
				put("/bin", "image/png", binary),
			} {
				if res, body := send(t, ts, r); res.StatusCode != 201 {
					t.Fatalf("%s %s: %d %s", r.method, r.path, res.StatusCode, body)
				}
			}
			for _, name := range []string{"ld", "nt", "xml", "ttl"} {
				body, info, err := store.Get(ctx, "r/"+name, storage.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				data := readAll(t, body)
				if info.ContentType != "text/turtle" {
					t.Errorf("%s is stored as %q", name, info.ContentType)
				}
				base := pod + "/" + name
				g, err := rdfx.Parse(strings.NewReader(data), rdfx.Turtle, base, rdfx.ParseOptions{})
				if err != nil {
					t.Fatalf("%s is not stored as Turtle: %v\n%s", name, err, data)
				}
				want := rdfx.Triple{S: rdfx.IRI(base + "#me"), P: rdfx.IRI("http://xmlns.com/foaf/0.1/name"), O: rdfx.Literal("Ada", "http://www.w3.org/2001/XMLSchema#string")}
				if g.Len() != 1 || !g.Has(want) {
					t.Errorf("%s stored as:\n%s", name, data)
				}
			}
			body, info, err := store.Get(ctx, "r/bin", storage.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if data := readAll(t, body); data != binary || info.ContentType != "image/png" {
				t.Errorf("bytes stored as %q, %q", info.ContentType, truncated(data))
			}
		})
	}
}
