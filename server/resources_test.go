package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// Markers in wantHeaders and wantStored.
const (
	absent  = "<absent>"  // the header, or the object, must not be there
	present = "<present>" // the header must be there, with any value
)

// object is an object seeded before a case runs.
type object struct {
	key, contentType, body string
}

// resourceCase is one request against a fresh backend. In headers and
// wantHeaders, {etag:KEY} stands for the quoted ETag of the seeded object
// KEY, and {stored:KEY} for the quoted ETag of the object at KEY after the
// request.
type resourceCase struct {
	name        string
	seed        []object
	method      string
	path        string
	headers     map[string]string
	body        string
	wantStatus  int
	wantHeaders map[string]string
	wantBody    *string
	// wantLines is the body as a set of lines, in any order.
	wantLines []string
	// wantStored is the body of each key after the request, or absent.
	wantStored map[string]string
}

func text(s string) *string { return &s }

func resourceCases() []resourceCase {
	hello := object{"a.txt", "text/plain", "hello"}
	digits := object{"r", "text/plain", "0123456789"}
	return []resourceCase{
		// GET and HEAD.
		{name: "get", seed: []object{hello}, method: "GET", path: "/a.txt",
			wantStatus: 200, wantBody: text("hello"),
			wantHeaders: map[string]string{"Content-Type": "text/plain", "Content-Length": "5",
				"ETag": "{etag:a.txt}", "Last-Modified": present, "Accept-Ranges": "bytes",
				"X-Content-Type-Options": "nosniff", "Content-Range": absent}},
		{name: "get missing", method: "GET", path: "/nope", wantStatus: 404, wantBody: text("Not Found\n"),
			wantHeaders: map[string]string{"Content-Type": "text/plain; charset=utf-8", "ETag": absent}},
		{name: "head", seed: []object{hello}, method: "HEAD", path: "/a.txt",
			wantStatus: 200, wantBody: text(""),
			wantHeaders: map[string]string{"Content-Type": "text/plain", "Content-Length": "5",
				"ETag": "{etag:a.txt}", "Last-Modified": present}},
		{name: "head missing", method: "HEAD", path: "/nope", wantStatus: 404, wantBody: text("")},
		{name: "get nested", seed: []object{{"d/e/f.json", "application/json", "{}"}}, method: "GET",
			path: "/d/e/f.json", wantStatus: 200, wantBody: text("{}"),
			wantHeaders: map[string]string{"Content-Type": "application/json"}},
		{name: "get escaped key", seed: []object{{"with space%.txt", "text/plain", "x"}}, method: "GET",
			path: "/with%20space%25.txt", wantStatus: 200, wantBody: text("x")},
		{name: "get root lists the top level", seed: []object{hello, {"dir/b.txt", "text/plain", "b"}},
			method: "GET", path: "/", wantStatus: 200, wantLines: []string{"a.txt", "dir/"},
			wantHeaders: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "get empty root", method: "GET", path: "/", wantStatus: 200, wantBody: text("")},
		{name: "head root", seed: []object{hello}, method: "HEAD", path: "/", wantStatus: 200, wantBody: text("")},

		// Ranges.
		{name: "range", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=1-3"}, wantStatus: 206, wantBody: text("123"),
			wantHeaders: map[string]string{"Content-Range": "bytes 1-3/10", "Content-Length": "3",
				"ETag": "{etag:r}", "Content-Type": "text/plain"}},
		{name: "range to end", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=7-"}, wantStatus: 206, wantBody: text("789"),
			wantHeaders: map[string]string{"Content-Range": "bytes 7-9/10"}},
		{name: "range suffix", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=-3"}, wantStatus: 206, wantBody: text("789"),
			wantHeaders: map[string]string{"Content-Range": "bytes 7-9/10"}},
		{name: "range suffix longer than object", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=-50"}, wantStatus: 206, wantBody: text("0123456789"),
			wantHeaders: map[string]string{"Content-Range": "bytes 0-9/10"}},
		{name: "range past the end is cut", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=8-100"}, wantStatus: 206, wantBody: text("89"),
			wantHeaders: map[string]string{"Content-Range": "bytes 8-9/10", "Content-Length": "2"}},
		{name: "range last byte", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=9-9"}, wantStatus: 206, wantBody: text("9")},
		{name: "range beyond the end", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=10-"}, wantStatus: 416,
			wantHeaders: map[string]string{"Content-Range": "bytes */10", "ETag": absent}},
		{name: "range zero suffix", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=-0"}, wantStatus: 416,
			wantHeaders: map[string]string{"Content-Range": "bytes */10"}},
		{name: "several ranges are ignored", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=0-1,4-5"}, wantStatus: 200, wantBody: text("0123456789")},
		{name: "malformed range is ignored", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "bytes=5-2"}, wantStatus: 200, wantBody: text("0123456789")},
		{name: "other unit is ignored", seed: []object{digits}, method: "GET", path: "/r",
			headers: map[string]string{"Range": "items=0-1"}, wantStatus: 200, wantBody: text("0123456789")},
		{name: "range on empty object", seed: []object{{"e", "text/plain", ""}}, method: "GET", path: "/e",
			headers: map[string]string{"Range": "bytes=0-"}, wantStatus: 200, wantBody: text(""),
			wantHeaders: map[string]string{"Content-Length": "0", "Content-Range": absent}},
		{name: "range beyond empty object", seed: []object{{"e", "text/plain", ""}}, method: "GET", path: "/e",
			headers: map[string]string{"Range": "bytes=5-"}, wantStatus: 200, wantBody: text("")},
		{name: "range on missing", method: "GET", path: "/nope",
			headers: map[string]string{"Range": "bytes=0-1"}, wantStatus: 404},
		{name: "if-range holds", seed: []object{digits}, method: "GET", path: "/r",
			headers:    map[string]string{"Range": "bytes=0-1", "If-Range": "{etag:r}"},
			wantStatus: 206, wantBody: text("01")},
		{name: "if-range fails", seed: []object{digits}, method: "GET", path: "/r",
			headers:    map[string]string{"Range": "bytes=0-1", "If-Range": `"stale"`},
			wantStatus: 200, wantBody: text("0123456789")},
		{name: "head ignores range", seed: []object{digits}, method: "HEAD", path: "/r",
			headers: map[string]string{"Range": "bytes=0-1"}, wantStatus: 200,
			wantHeaders: map[string]string{"Content-Length": "10"}},

		// PUT.
		{name: "put creates", method: "PUT", path: "/new.txt", body: "fresh",
			headers:    map[string]string{"Content-Type": "text/plain"},
			wantStatus: 201, wantHeaders: map[string]string{"Location": testBaseURL + "new.txt", "ETag": "{stored:new.txt}"},
			wantStored: map[string]string{"new.txt": "fresh"}},
		{name: "put creates nested", method: "PUT", path: "/x/y/z.ttl", body: "<a> <b> <c> .",
			headers:    map[string]string{"Content-Type": "text/turtle"},
			wantStatus: 201, wantHeaders: map[string]string{"Location": testBaseURL + "x/y/z.ttl"},
			wantStored: map[string]string{"x/y/z.ttl": "<a> <b> <c> ."}},
		{name: "put escaped key", method: "PUT", path: "/caf%C3%A9%20au%20lait", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain"},
			wantStatus: 201, wantHeaders: map[string]string{"Location": testBaseURL + "caf%C3%A9%20au%20lait"},
			wantStored: map[string]string{"café au lait": "x"}},
		{name: "put replaces", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "bye",
			headers:    map[string]string{"Content-Type": "text/plain"},
			wantStatus: 204, wantHeaders: map[string]string{"ETag": "{stored:a.txt}", "Location": absent},
			wantStored: map[string]string{"a.txt": "bye"}},
		{name: "put body without content type", method: "PUT", path: "/n", body: "data",
			wantStatus: 400, wantBody: text("a body needs a Content-Type\n"),
			wantStored: map[string]string{"n": absent}},
		{name: "put empty body without content type", method: "PUT", path: "/n",
			wantStatus: 201, wantStored: map[string]string{"n": ""}},
		{name: "put malformed content type", method: "PUT", path: "/n", body: "data",
			headers:    map[string]string{"Content-Type": "text/"},
			wantStatus: 400, wantStored: map[string]string{"n": absent}},
		{name: "put with content-range", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "Content-Range": "bytes 0-0/5"},
			wantStatus: 400, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put if-none-match star, exists", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"},
			wantStatus: 412, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put if-none-match star, missing", method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-None-Match": "*"},
			wantStatus: 201, wantStored: map[string]string{"a.txt": "x"}},
		{name: "put if-match", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": "{etag:a.txt}"},
			wantStatus: 204, wantHeaders: map[string]string{"ETag": "{stored:a.txt}"},
			wantStored: map[string]string{"a.txt": "x"}},
		{name: "put if-match wrong", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": `"wrong"`},
			wantStatus: 412, wantBody: text("Precondition Failed\n"),
			wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put if-match missing", method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": `"any"`},
			wantStatus: 412, wantStored: map[string]string{"a.txt": absent}},
		{name: "put if-match star, exists", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": "*"},
			wantStatus: 204, wantStored: map[string]string{"a.txt": "x"}},
		{name: "put if-match star, missing", method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": "*"},
			wantStatus: 412, wantStored: map[string]string{"a.txt": absent}},
		{name: "put if-match list", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": `"other", {etag:a.txt}`},
			wantStatus: 204, wantStored: map[string]string{"a.txt": "x"}},
		{name: "put if-match weak never matches", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": "W/{etag:a.txt}"},
			wantStatus: 412, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put if-none-match etag matches", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-None-Match": "W/{etag:a.txt}"},
			wantStatus: 412, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put if-none-match other etag", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-None-Match": `"other"`},
			wantStatus: 204, wantStored: map[string]string{"a.txt": "x"}},
		{name: "put if-match and if-none-match", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers: map[string]string{"Content-Type": "text/plain", "If-Match": "{etag:a.txt}",
				"If-None-Match": "*"},
			wantStatus: 412, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put malformed if-match", seed: []object{hello}, method: "PUT", path: "/a.txt", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain", "If-Match": "unquoted"},
			wantStatus: 400, wantBody: text("malformed If-Match header\n"),
			wantStored: map[string]string{"a.txt": "hello"}},
		{name: "put root", method: "PUT", path: "/", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain"},
			wantStatus: 405, wantHeaders: map[string]string{"Allow": "GET, HEAD"}},
		{name: "put probe path", method: "PUT", path: "/.well-known/kluis/live", body: "x",
			headers: map[string]string{"Content-Type": "text/plain"}, wantStatus: 405},
		{name: "put probe namespace", method: "PUT", path: "/.well-known/kluis/other", body: "x",
			headers:    map[string]string{"Content-Type": "text/plain"},
			wantStatus: 405, wantStored: map[string]string{".well-known/kluis/other": absent}},

		// DELETE.
		{name: "delete", seed: []object{hello}, method: "DELETE", path: "/a.txt",
			wantStatus: 204, wantStored: map[string]string{"a.txt": absent}},
		{name: "delete missing", method: "DELETE", path: "/a.txt", wantStatus: 404},
		{name: "delete if-match", seed: []object{hello}, method: "DELETE", path: "/a.txt",
			headers:    map[string]string{"If-Match": "{etag:a.txt}"},
			wantStatus: 204, wantStored: map[string]string{"a.txt": absent}},
		{name: "delete if-match wrong", seed: []object{hello}, method: "DELETE", path: "/a.txt",
			headers:    map[string]string{"If-Match": `"wrong"`},
			wantStatus: 412, wantStored: map[string]string{"a.txt": "hello"}},
		{name: "delete if-match missing", method: "DELETE", path: "/a.txt",
			headers: map[string]string{"If-Match": "*"}, wantStatus: 412},
		{name: "delete if-none-match star, missing", method: "DELETE", path: "/a.txt",
			headers: map[string]string{"If-None-Match": "*"}, wantStatus: 404},
		{name: "delete root", method: "DELETE", path: "/", wantStatus: 405,
			wantHeaders: map[string]string{"Allow": "GET, HEAD"}},
		{name: "delete leaves siblings", seed: []object{{"a", "text/plain", "1"}, {"ab", "text/plain", "2"}},
			method: "DELETE", path: "/a", wantStatus: 204,
			wantStored: map[string]string{"a": absent, "ab": "2"}},

		// Methods echo itself refuses.
		{name: "post", method: "POST", path: "/a.txt", body: "x", wantStatus: 405,
			wantHeaders: map[string]string{"Allow": present}},
		{name: "patch", method: "PATCH", path: "/a.txt", body: "x", wantStatus: 405},

		// Bigger bodies, streamed both ways.
		{name: "put 1 MiB", method: "PUT", path: "/big.bin", body: strings.Repeat("0123456789abcdef", 1<<16),
			headers:    map[string]string{"Content-Type": "application/octet-stream"},
			wantStatus: 201, wantStored: map[string]string{"big.bin": strings.Repeat("0123456789abcdef", 1<<16)}},
		{name: "get 1 MiB", seed: []object{{"big.bin", "application/octet-stream", strings.Repeat("0123456789abcdef", 1<<16)}},
			method: "GET", path: "/big.bin", wantStatus: 200, wantBody: text(strings.Repeat("0123456789abcdef", 1<<16)),
			wantHeaders: map[string]string{"Content-Length": "1048576"}},
	}
}

// traversalCases are request paths that must never reach a backend: dot
// segments plain and escaped, empty segments, NUL, backslashes.
func traversalCases() []resourceCase {
	paths := []string{
		"/../escape",
		"/../../escape",
		"/a/../../escape",
		"/%2e%2e/escape",
		"/%2E%2E/escape",
		"/a/%2e%2e/%2e%2e/escape",
		"/a/..%2f..%2fescape",
		"/%2e%2e%2fescape",
		"/./escape",
		"/a/./b",
		"/a//b",
		"//escape",
		"/a%00b",
		"/a%5c..%5c..%5cescape",
		"/..",
		"/a/..",
	}
	var cases []resourceCase
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD", "PUT", "DELETE"} {
			c := resourceCase{name: m + " " + p, method: m, path: p, wantStatus: 400}
			if m == "PUT" {
				c.body = "x"
				c.headers = map[string]string{"Content-Type": "text/plain"}
			}
			cases = append(cases, c)
		}
	}
	return cases
}

func TestResources(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			store := b.open(t)
			for _, tc := range append(resourceCases(), traversalCases()...) {
				t.Run(tc.name, func(t *testing.T) {
					clearStore(t, store)
					runResourceCase(t, store, tc)
				})
			}
		})
	}
}

func runResourceCase(t *testing.T, store storage.Backend, tc resourceCase) {
	ctx := context.Background()
	etags := map[string]string{}
	for _, o := range tc.seed {
		info, err := store.Put(ctx, o.key, strings.NewReader(o.body), storage.PutOptions{ContentType: o.contentType})
		if err != nil {
			t.Fatalf("seeding %s: %v", o.key, err)
		}
		etags[o.key] = `"` + info.ETag + `"`
	}
	expand := func(s string) string {
		for k, e := range etags {
			s = strings.ReplaceAll(s, "{etag:"+k+"}", e)
		}
		return s
	}

	ts := newTestServer(t, store, nil)
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequest(tc.method, ts.URL+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tc.headers {
		req.Header.Set(k, expand(v))
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}

	if res.StatusCode != tc.wantStatus {
		t.Errorf("status = %d, want %d (body %q)", res.StatusCode, tc.wantStatus, truncate(string(got)))
	}
	if tc.wantBody != nil && string(got) != *tc.wantBody {
		t.Errorf("body = %q, want %q", truncate(string(got)), truncate(*tc.wantBody))
	}
	if tc.wantLines != nil {
		lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
		slices.Sort(lines)
		if want := slices.Sorted(slices.Values(tc.wantLines)); !slices.Equal(lines, want) {
			t.Errorf("lines = %q, want %q in any order", lines, want)
		}
	}
	if res.Header.Get(server.HeaderRequestID) == "" {
		t.Errorf("no %s header", server.HeaderRequestID)
	}
	for name, want := range tc.wantHeaders {
		v, ok := res.Header[http.CanonicalHeaderKey(name)]
		switch {
		case want == absent:
			if ok {
				t.Errorf("header %s = %q, want none", name, v)
			}
		case want == present:
			if !ok {
				t.Errorf("no header %s", name)
			}
		case strings.HasPrefix(want, "{stored:"):
			key := strings.TrimSuffix(strings.TrimPrefix(want, "{stored:"), "}")
			info, err := store.Stat(ctx, key)
			if err != nil {
				t.Fatalf("stat %s: %v", key, err)
			}
			if w := `"` + info.ETag + `"`; res.Header.Get(name) != w {
				t.Errorf("header %s = %q, want %q (the stored ETag)", name, res.Header.Get(name), w)
			}
		default:
			if w := expand(want); res.Header.Get(name) != w {
				t.Errorf("header %s = %q, want %q", name, res.Header.Get(name), w)
			}
		}
	}
	for key, want := range tc.wantStored {
		r, _, err := store.Get(ctx, key, storage.GetOptions{})
		if want == absent {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("after the request, %s: err = %v, want ErrNotFound", key, err)
			}
			if err == nil {
				r.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("after the request, get %s: %v", key, err)
			continue
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(data) != want {
			t.Errorf("after the request, %s = %q (err %v), want %q", key, truncate(string(data)), err, truncate(want))
		}
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// TestTraversalStaysInside writes through every traversal path to a
// filesystem backend and checks that nothing appeared outside its folder,
// and nothing inside it either.
func TestTraversalStaysInside(t *testing.T) {
	root := t.TempDir()
	store, err := filesystem.New(filepath.Join(root, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ts := newTestServer(t, store, nil)
	for _, tc := range traversalCases() {
		if tc.method != "PUT" {
			continue
		}
		req, err := http.NewRequest("PUT", ts.URL+tc.path, strings.NewReader("escaped"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("PUT %s: status %d, want 400", tc.path, res.StatusCode)
		}
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), "escaped") {
				t.Errorf("a traversal PUT was written to %s", path)
			}
		}
		if rel, _ := filepath.Rel(root, path); rel != "." && rel != "data" && !strings.HasPrefix(rel, "data"+string(filepath.Separator)) {
			t.Errorf("%s appeared outside the data folder", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
