package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// The tests of this file check that a request's work is bounded before it
// is done (issue 13): authorization before the body is read, and the one
// range whose answer needs the size.

// answerWithin bounds every wait for an answer here: what is bounded
// answers in well under it, what is not never would.
const answerWithin = 5 * time.Second

// TestRangeZeroSuffix: "bytes=-0" is satisfiable by no representation (RFC
// 9110 §14.1.1), so a non-RDF resource answers 416 with its size in
// Content-Range (§14.4, §15.5.17), after the preconditions.
func TestRangeZeroSuffix(t *testing.T) {
	const ten = "0123456789"
	setupTen := []request{put("/ten", "application/octet-stream", ten)}
	runCases(t, []protocolCase{
		{
			name:   "RFC 9110 §14.1.1 bytes=-0 of a 10-byte resource is 416 with Content-Range: bytes */10",
			setup:  setupTen,
			method: "GET", path: "/ten", headers: map[string]string{"Range": "bytes=-0"},
			wantStatus:  416,
			wantHeaders: map[string]string{"Content-Range": "bytes */10", "ETag": ""},
		},
		{
			name:   "RFC 9110 §14.1.1 bytes=-0 of an empty resource is 416 with Content-Range: bytes */0",
			setup:  []request{put("/empty", "application/octet-stream", "")},
			method: "GET", path: "/empty", headers: map[string]string{"Range": "bytes=-0"},
			wantStatus:  416,
			wantHeaders: map[string]string{"Content-Range": "bytes */0"},
		},
		{
			name:   "RFC 9110 §13.2.2 If-None-Match decides before bytes=-0: 304",
			setup:  setupTen,
			method: "GET", path: "/ten", headers: map[string]string{"Range": "bytes=-0", "If-None-Match": "$ETAG(/ten)"},
			wantStatus: 304,
		},
		{
			name:   "RFC 9110 §13.1.5 bytes=-0 with a stale If-Range gets the whole resource",
			setup:  setupTen,
			method: "GET", path: "/ten", headers: map[string]string{"Range": "bytes=-0", "If-Range": `"stale"`},
			wantStatus:    200,
			wantBodyExact: ptr(ten),
		},
		{
			name:   "RFC 9110 §14.2 bytes=-0 of an RDF source is ignored: 200",
			setup:  []request{put("/doc", "text/turtle", "<#a> <#b> <#c>.")},
			method: "GET", path: "/doc", headers: map[string]string{"Range": "bytes=-0"},
			wantStatus: 200,
		},
		{
			name:   "RFC 9110 §14.2 bytes=-0 of a missing resource is 404",
			method: "GET", path: "/nothing", headers: map[string]string{"Range": "bytes=-0"},
			wantStatus: 404,
		},
	})
}

// countingBody is a request body of size bytes of 'x' that counts what the
// server reads of it.
type countingBody struct {
	size, read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.size-b.read)
	for i := range n {
		p[i] = 'x'
	}
	b.read += n
	return int(n), nil
}

// newWACServer is a server with Web Access Control over a memory store
// seeded with seed (key to Turtle, "" for an empty container), and the test
// agents of testAgents.
func newWACServer(t *testing.T, seed map[string]string, mutate func(*server.Config)) *server.Server {
	t.Helper()
	store := memory.New()
	for k, v := range seed {
		if _, err := store.Put(context.Background(), k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := url.Parse(testBaseURL)
	cfg := server.Config{BaseURL: base, Authenticator: testAgents{}}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := server.New(context.Background(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestAuthorizeBeforeBody: every write is authorized before a byte of its
// body is read, so a refusal costs the headers only, whatever the body
// (issue 13 #3: an anonymous 16 MiB patch cost 1.9 s and 440 MB before its
// 401). PATCH first checks Append, which every patch needs, then reads the
// patch within MaxPatchBytes, then checks the modes of its content.
func TestAuthorizeBeforeBody(t *testing.T) {
	const (
		insert = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#s> <#p> <#o>. }.`
		remove = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:deletes { <#s> <#p> <#o>. }.`
		huge = 16 << 20
	)
	bob := who{bobID, "https://app.example/id", "https://idp.example/"}
	// Bob may read /r/, append to /a/ and its members, and write /w/.
	seed := map[string]string{
		"r/.acl": rootACL,
		"r/r/":   "", "r/a/": "", "r/w/": "",
		"r/a/doc": "<#s> <#p> <#o>.",
		"r/r/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.`,
		"r/a/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Append.`,
		"r/w/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write.`,
	}
	h := newWACServer(t, seed, func(c *server.Config) { c.MaxPatchBytes = 4 << 10 }).Handler()
	tests := []struct {
		name         string
		as           who
		method, path string
		ct           string
		body         string // when "", size bytes of 'x'
		size         int64
		length       int64 // Content-Length; -1 for unknown (chunked)
		want         int
		// read says whether the body may be read: not at all, or up to
		// readAtMost bytes.
		read       bool
		readAtMost int64
	}{
		{name: "anonymous PATCH of 16 MiB", method: "PATCH", path: "/r/doc", ct: "text/n3", size: huge, length: huge, want: 401},
		{name: "anonymous PATCH of unknown length", method: "PATCH", path: "/r/doc", ct: "application/sparql-update", size: huge, length: -1, want: 401},
		{name: "PATCH without Append", as: bob, method: "PATCH", path: "/r/doc", ct: "text/n3", size: huge, length: -1, want: 403},
		{name: "PATCH creating in a container without Append", as: bob, method: "PATCH", path: "/r/new", ct: "text/n3", size: huge, length: huge, want: 403},
		{name: "anonymous PUT of 16 MiB", method: "PUT", path: "/a/new", ct: "application/octet-stream", size: huge, length: huge, want: 401},
		{name: "PUT without Write", as: bob, method: "PUT", path: "/a/doc", ct: "application/octet-stream", size: huge, length: -1, want: 403},
		{name: "anonymous POST", method: "POST", path: "/a/", ct: "text/turtle", size: huge, length: -1, want: 401},
		{name: "POST without Append", as: bob, method: "POST", path: "/r/", ct: "text/plain", size: huge, length: -1, want: 403},
		{name: "anonymous DELETE with a body", method: "DELETE", path: "/a/doc", ct: "text/plain", size: huge, length: -1, want: 401},
		// Allowed to append: the patch is read, within MaxPatchBytes.
		{name: "PATCH that inserts, with Append", as: bob, method: "PATCH", path: "/a/doc", ct: "text/n3", body: insert, want: 204, read: true},
		{name: "PATCH that deletes, with Append only", as: bob, method: "PATCH", path: "/a/doc", ct: "text/n3", body: remove, want: 403, read: true},
		{name: "PATCH over MaxPatchBytes, declared", as: bob, method: "PATCH", path: "/a/doc", ct: "text/n3", size: huge, length: huge, want: 413},
		{name: "PATCH over MaxPatchBytes, chunked", as: bob, method: "PATCH", path: "/a/doc", ct: "text/n3", size: huge, length: -1, want: 413,
			read: true, readAtMost: 64 << 10},
		{name: "PUT with Write", as: bob, method: "PUT", path: "/w/new", ct: "text/plain", body: "hello", want: 201, read: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{size: tc.size}
			var r io.Reader = body
			length := tc.length
			if tc.body != "" {
				r, length = strings.NewReader(tc.body), int64(len(tc.body))
			}
			req := httptest.NewRequest(tc.method, tc.path, r)
			req.ContentLength = length
			req.Header.Set("Content-Type", tc.ct)
			if a := tc.as.header(); a != "" {
				req.Header.Set("Authorization", a)
			}
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.want, strings.TrimSpace(rec.Body.String()))
			}
			if d := time.Since(start); d > answerWithin {
				t.Errorf("answered in %s", d)
			}
			switch {
			case tc.body != "":
			case !tc.read && body.read > 0:
				t.Errorf("%d bytes of the body were read before the refusal", body.read)
			case tc.read && body.read > tc.readAtMost:
				t.Errorf("%d bytes of the body were read, want at most %d", body.read, tc.readAtMost)
			}
		})
	}
}
