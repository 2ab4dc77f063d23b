package server_test

import (
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
