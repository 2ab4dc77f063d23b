package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage/memory"
)

// observed records what the server tells its Observer.
type observed struct {
	mu       sync.Mutex
	requests []string // "METHOD route status"
	failures []string
}

func (o *observed) ObserveRequest(method, route string, status int, elapsed time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, method+" "+route+" "+http.StatusText(status))
}

func (o *observed) ObserveAuthFailure(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures = append(o.failures, reason)
}

func TestObserverThroughTheRouter(t *testing.T) {
	o := &observed{}
	ts := newTestServer(t, memory.New(), func(c *server.Config) { c.Observer = o })
	do := func(method, path string, header map[string]string, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	do("PUT", "/notes/a.txt", map[string]string{"Content-Type": "text/plain"}, "hello")
	do("GET", "/notes/", nil, "")
	do("GET", "/notes/a.txt.acl", nil, "")
	do("GET", "/.well-known/kluis/live", nil, "")
	do("PROPFIND", "/notes/", nil, "")
	if got := do("GET", "/notes/a.txt", map[string]string{"Authorization": "Bearer abc"}, ""); got != 401 {
		t.Fatalf("a Bearer token: %d, want 401", got)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	want := []string{
		"PUT resource Created",
		"GET container OK",
		"GET acl Not Found",
		"GET health OK",
		"OTHER container Method Not Allowed",
		"GET resource Unauthorized",
	}
	if strings.Join(o.requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("observed requests:\n%s\nwant:\n%s", strings.Join(o.requests, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(o.failures, ",") != server.AuthFailureBearer {
		t.Errorf("auth failures %v, want [%s]", o.failures, server.AuthFailureBearer)
	}
}

// TestRequestLogClient: the log names the client, and behind a trusted
// proxy the client it forwarded and the proxy.
func TestRequestLogClient(t *testing.T) {
	direct := newTestServer(t, memory.New(), nil)
	res, err := http.Get(direct.URL + "/.well-known/kluis/live")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.Contains(direct.logs.String(), "client=127.0.0.1") {
		t.Errorf("no client in the log:\n%s", direct.logs)
	}

	proxied := newTestServer(t, memory.New(), func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	req, err := http.NewRequest("GET", proxied.URL+"/.well-known/kluis/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, w := range []string{"client=198.51.100.7", "proxy=127.0.0.1", "forwarded_proto=https"} {
		if !strings.Contains(proxied.logs.String(), w) {
			t.Errorf("the log lacks %s:\n%s", w, proxied.logs)
		}
	}
}

// traced records what the server tells its Tracer. It is a fake: the
// real one (server/tracing) is tested through the router by main's tests.
type traced struct {
	mu        sync.Mutex
	trusted   []bool
	skipped   []string
	annotated []string // "METHOD route request-id"
	spans     []string // names given to Span
}

func (tr *traced) Span(ctx context.Context, name string) (context.Context, func(error)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.spans = append(tr.spans, name)
	return ctx, func(error) {}
}

func (tr *traced) Handler(next http.Handler, trusted, skip func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.trusted = append(tr.trusted, trusted(r))
		if skip(r) {
			tr.skipped = append(tr.skipped, r.URL.Path)
		}
		tr.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (tr *traced) Annotate(_ context.Context, method, route, requestID string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.annotated = append(tr.annotated, method+" "+route+" "+requestID)
	return "trace-of-" + requestID
}

// TestTracerThroughTheRouter: every request passes the Tracer's handler,
// which is told whether the TCP peer is a trusted proxy and to skip the
// health probes; its span is
// annotated with method, route class and the request id of the response,
// and the trace id joins the log line.
func TestTracerThroughTheRouter(t *testing.T) {
	for _, trust := range []bool{false, true} {
		tr := &traced{}
		ts := newTestServer(t, memory.New(), func(c *server.Config) {
			c.Tracer = tr
			if trust {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		})
		var ids []string
		for _, r := range []struct{ method, path string }{
			{"PUT", "/notes/a.txt"}, {"GET", "/notes/"}, {"PROPFIND", "/notes/"}, {"GET", "/.well-known/kluis/live"},
		} {
			req, _ := http.NewRequest(r.method, ts.URL+r.path, strings.NewReader("hello"))
			req.Header.Set("Content-Type", "text/plain")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			ids = append(ids, res.Header.Get(server.HeaderRequestID))
		}
		ts.Close() // every request has ended and logged
		tr.mu.Lock()
		want := []string{
			"PUT resource " + ids[0], "GET container " + ids[1], "OTHER container " + ids[2], "GET health " + ids[3],
		}
		if strings.Join(tr.annotated, "\n") != strings.Join(want, "\n") {
			t.Errorf("annotated:\n%s\nwant:\n%s", strings.Join(tr.annotated, "\n"), strings.Join(want, "\n"))
		}
		// The PUT and the GET are authenticated and authorized, each in
		// a span of its own.
		if n, m := strings.Count(strings.Join(tr.spans, " "), "authenticate"), strings.Count(strings.Join(tr.spans, " "), "authorize"); n < 2 || n != m {
			t.Errorf("step spans %q, want authenticate and authorize for each resource request", tr.spans)
		}
		if strings.Join(tr.skipped, ",") != "/.well-known/kluis/live" {
			t.Errorf("skipped %q, want the liveness probe only", tr.skipped)
		}
		for _, got := range tr.trusted {
			if got != trust {
				t.Errorf("trusted proxies set %v: the tracer was told the peer is trusted: %v", trust, got)
			}
		}
		tr.mu.Unlock()
		for _, id := range ids {
			if !strings.Contains(ts.logs.String(), "request_id="+id+" ") || !strings.Contains(ts.logs.String(), "trace_id=trace-of-"+id) {
				t.Errorf("no log line with request %s and its trace id:\n%s", id, ts.logs)
			}
		}
	}
}
