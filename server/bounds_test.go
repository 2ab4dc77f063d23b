package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// The tests of this file check that a request's work is bounded before it
// is done (issue 13): authorization before the body is read, the body's
// pace, the connections of one client, and the one range whose answer
// needs the size.

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
	t.Cleanup(func() { _ = srv.Drain(context.Background()) })
	return srv
}

// serve serves srv on loopback through its Listener, as main does, and
// returns the address.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: answerWithin}
	go hs.Serve(srv.Listener(ln))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
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
			if tc.want >= 400 && tc.body == "" && rec.Header().Get("Connection") != "close" {
				t.Errorf("a refusal with an unread body says Connection: %q, want close", rec.Header().Get("Connection"))
			}
		})
	}
}

// rawConn is a client connection that writes requests byte by byte as a
// test wishes and reads the answer.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, answerWithin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// answer reads one response within answerWithin.
func (c *rawConn) answer(t *testing.T, method string) (*http.Response, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(answerWithin))
	res, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// closed reports whether the server ends the connection within
// answerWithin.
func (c *rawConn) closed(t *testing.T) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(answerWithin))
	_, err := c.r.ReadByte()
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// trickle writes one byte of a chunked body every interval until stop is
// closed or a write fails.
func (c *rawConn) trickle(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := io.WriteString(c, "1\r\nx\r\n"); err != nil {
				return
			}
		}
	}
}

// TestSlowBodies: a body that trickles in never holds a connection (issue
// 13 #4). A refusal is answered at once with Connection: close, and the
// connection ends within a second instead of net/http draining up to 256
// KiB of a body no one will read; a body the server reads must keep to
// BodyMinRate after a head start of BodyTimeout and pause no longer than
// BodyTimeout; an upload at a steady pace may take longer than that.
func TestSlowBodies(t *testing.T) {
	addr := serve(t, newWACServer(t, map[string]string{"r/.acl": rootACL}, func(c *server.Config) {
		c.BodyTimeout = 500 * time.Millisecond
		c.BodyMinRate = 1 << 10
	}))
	alice := who{aliceID, "https://app.example/id", "https://idp.example/"}

	for _, tc := range []struct {
		name, head string
		want       int
	}{
		{"refused, chunked", "PUT /x HTTP/1.1\r\nHost: pod.example\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", 401},
		{"refused, small declared length", "PUT /x HTTP/1.1\r\nHost: pod.example\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n", 401},
		{"refused PATCH", "PATCH /x HTTP/1.1\r\nHost: pod.example\r\nContent-Type: text/n3\r\nTransfer-Encoding: chunked\r\n\r\n", 401},
		{"a method that reads no body", "DELETE /x HTTP/1.1\r\nHost: pod.example\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", 401},
		{"allowed, too slow", "PUT /x HTTP/1.1\r\nHost: pod.example\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nAuthorization: " + alice.header() + "\r\n\r\n", 408},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go c.trickle(100*time.Millisecond, stop)
			start := time.Now()
			res, err := c.answer(t, "PUT")
			if err != nil {
				t.Fatalf("no answer within %s: %v", answerWithin, err)
			}
			if res.StatusCode != tc.want || !res.Close {
				t.Errorf("status %d, close %v; want %d and Connection: close", res.StatusCode, res.Close, tc.want)
			}
			if !c.closed(t) {
				t.Errorf("the connection was still open %s after the answer", answerWithin)
			}
			t.Logf("answered and closed in %s", time.Since(start))
		})
	}

	t.Run("allowed, steady but longer than the timeout", func(t *testing.T) {
		c := dialRaw(t, addr)
		const chunk = 2 << 10
		head := "PUT /steady HTTP/1.1\r\nHost: pod.example\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nAuthorization: " + alice.header() + "\r\n\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		// 2 KiB every 100 ms for 1.5 s: 20 KiB/s, no pause near the
		// timeout, three times longer than it in all.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for time.Since(start) < 1500*time.Millisecond {
			<-tick.C
			if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", chunk, strings.Repeat("s", chunk)); err != nil {
				t.Fatalf("writing after %s: %v", time.Since(start), err)
			}
		}
		io.WriteString(c, "0\r\n\r\n")
		res, err := c.answer(t, "PUT")
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("steady upload: %v %v, want 201", res, err)
		}
	})
}

// TestConnectionsPerClient: one client address holds at most
// MaxConnsPerClient connections; the next is reset before a byte of it is
// read, and a closed one frees its place. Trusted proxies are not bounded.
func TestConnectionsPerClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted bool
	}{{"bounded", false}, {"trusted proxy", true}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, newWACServer(t, map[string]string{"r/.acl": openACL}, func(c *server.Config) {
				c.MaxConnsPerClient = 3
				if tc.trusted {
					c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
				}
			}))

			get := func(c *rawConn) (*http.Response, error) {
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: pod.example\r\n\r\n"); err != nil {
					return nil, err
				}
				return c.answer(t, "GET")
			}
			var held []*rawConn
			for i := range 3 {
				c := dialRaw(t, addr)
				if res, err := get(c); err != nil || res.StatusCode != 200 {
					t.Fatalf("connection %d: %v %v", i+1, res, err)
				}
				held = append(held, c)
			}
			// On a busy machine the reset may come before connect returns:
			// that is the refusal too.
			var res *http.Response
			c, err := net.DialTimeout("tcp", addr, answerWithin)
			if err == nil {
				t.Cleanup(func() { c.Close() })
				res, err = get(&rawConn{Conn: c, r: bufio.NewReader(c)})
			}
			if tc.trusted {
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("a fourth connection of a trusted proxy: %v %v, want 200", res, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("a fourth connection was answered %d; want it reset", res.StatusCode)
			}
			if isTimeout(err) {
				t.Fatalf("a fourth connection was held, not reset: %v", err)
			}
			// A closed connection frees its place, once the server sees it
			// closed.
			held[0].Close()
			retry := time.NewTicker(20 * time.Millisecond)
			defer retry.Stop()
			for deadline := time.Now().Add(answerWithin); ; <-retry.C {
				c, err := net.DialTimeout("tcp", addr, answerWithin)
				var res *http.Response
				if err == nil {
					res, err = get(&rawConn{Conn: c, r: bufio.NewReader(c)})
				}
				if err == nil && res.StatusCode == 200 {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no new connection within %s of closing one: %v", answerWithin, err)
				}
				if c != nil {
					c.Close()
				}
			}
		})
	}
}

// openACL lets everyone read the root and below.
const openACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read.
`

// TestSlowBodiesHTTP2: on HTTP/2 a refusal of a trickling body is answered
// at once too, and only its stream ends: the connection goes on serving
// (Connection: close would have ended every stream of it).
func TestSlowBodiesHTTP2(t *testing.T) {
	srv := newWACServer(t, map[string]string{"r/.acl": openACL}, func(c *server.Config) { c.BodyTimeout = 500 * time.Millisecond })
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	client := ts.Client()

	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if _, err := pw.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequest("PUT", ts.URL+"/x", pr)
	req.Header.Set("Content-Type", "text/plain")
	done := make(chan struct{})
	var res *http.Response
	var err error
	go func() {
		defer close(done)
		res, err = client.Do(req)
	}()
	select {
	case <-done:
	case <-time.After(answerWithin):
		t.Fatalf("no answer within %s", answerWithin)
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 401 {
		t.Fatalf("%s %d, want HTTP/2 401", res.Proto, res.StatusCode)
	}
	reused := false
	next, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(),
		&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}), "GET", ts.URL+"/", nil)
	res, err = client.Do(next)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the next request: %v %v", res, err)
	}
	res.Body.Close()
	if !reused {
		t.Error("the next request needed a new connection")
	}
}
