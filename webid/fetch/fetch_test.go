package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counted serves h and counts requests.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// serveOn starts a server on the given loopback address.
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestAddressAllowed(t *testing.T) {
	blocked := blockedRanges()
	tests := []struct {
		addr  string
		allow []netip.Prefix
		want  bool
	}{
		{"93.184.215.14", nil, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", nil, true},
		{"8.8.8.8", nil, true},
		{"127.0.0.1", nil, false},
		{"127.1.2.3", nil, false},
		{"::1", nil, false},
		{"::ffff:127.0.0.1", nil, false},
		{"10.1.2.3", nil, false},
		{"172.16.0.1", nil, false},
		{"172.31.255.255", nil, false},
		{"172.32.0.1", nil, true},
		{"192.168.1.1", nil, false},
		{"169.254.169.254", nil, false}, // AWS, GCP, Azure metadata
		{"::ffff:169.254.169.254", nil, false},
		{"fd00:ec2::254", nil, false},   // AWS metadata over IPv6
		{"100.100.100.200", nil, false}, // Alibaba metadata (CGNAT range)
		{"192.0.0.192", nil, false},     // Oracle metadata
		{"100.64.0.1", nil, false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"224.0.0.1", nil, false},
		{"255.255.255.255", nil, false},
		{"ff02::1", nil, false},
		{"fe80::1", nil, false},
		{"fc00::1", nil, false},
		{"64:ff9b::a9fe:a9fe", nil, false}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::1", nil, false},  // 6to4 of 169.254.169.254
		{"192.0.2.1", nil, false},
		{"198.18.0.1", nil, false},
		{"240.0.0.1", nil, false},
		{"127.0.0.1", loopback(), true},
		{"::1", loopback(), true},
		{"::ffff:127.0.0.1", loopback(), true},
		{"10.1.2.3", loopback(), false},
		{"169.254.169.254", loopback(), false},
		{"10.1.2.3", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, true},
		{"10.2.0.1", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, false},
	}
	for _, tt := range tests {
		if got := addressAllowed(netip.MustParseAddr(tt.addr), tt.allow, blocked); got != tt.want {
			t.Errorf("addressAllowed(%s, %v) = %v, want %v", tt.addr, tt.allow, got, tt.want)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" , ", nil, false},
		{"127.0.0.0/8,::1/128", []string{"127.0.0.0/8", "::1/128"}, false},
		{" 10.1.2.3/16 , 192.168.0.7 ", []string{"10.1.0.0/16", "192.168.0.7/32"}, false},
		{"fd00::1", []string{"fd00::1/128"}, false},
		{"127.0.0.0/33", nil, true},
		{"localhost", nil, true},
		{"10.0.0.0/8,nope,::1/129", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseAllowList(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseAllowList(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if fmt.Sprint(s) != fmt.Sprint(tt.want) {
			t.Errorf("ParseAllowList(%q) = %v, want %v", tt.in, s, tt.want)
		}
	}
	if _, err := ParseAllowList("nope,::1/129"); err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "::1/129") {
		t.Errorf("ParseAllowList reports %v, want both bad entries", err)
	}
}

// TestDialRefuses: private, loopback and metadata addresses are refused
// without an allow-list, before any connection, and allowed with one.
func TestDialRefuses(t *testing.T) {
	srv, n := counted(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	refused := []string{
		srv.URL,
		"http://localhost:" + port + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://10.0.0.1/",
		"http://0.0.0.0:" + port + "/",
	}
	c := newClient(t, Config{})
	for _, u := range refused {
		if _, err := c.Get(context.Background(), u, ""); !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("Get(%s) = %v, want ErrAddressNotAllowed", u, err)
		}
		resp, err := c.HTTPClient().Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("HTTPClient().Get(%s) = %v, want ErrAddressNotAllowed", u, err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("the server saw %d requests, want 0", n.Load())
	}

	c = newClient(t, Config{Allow: loopback()})
	r, err := c.Get(context.Background(), srv.URL, "")
	if err != nil || string(r.Body) != "hello" {
		t.Fatalf("Get with the allow-list = %v, %v", r, err)
	}
	if _, err := c.Get(context.Background(), "http://169.254.169.254/", ""); !errors.Is(err, ErrAddressNotAllowed) {
		t.Errorf("metadata with a loopback allow-list: %v, want ErrAddressNotAllowed", err)
	}
}

func TestScheme(t *testing.T) {
	c := newClient(t, Config{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/", "gopher://x/", "/relative"} {
		if _, err := c.Get(context.Background(), u, ""); !errors.Is(err, ErrScheme) {
			t.Errorf("Get(%s) = %v, want ErrScheme", u, err)
		}
	}
}

func TestRedirects(t *testing.T) {
	// private is on 127.0.0.2, outside the allow-list of 127.0.0.1/32.
	private, privateHits := counted(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secret") })
	other := serveOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "other") }))
	_ = private
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/to-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	srv := serveOn(t, "127.0.0.1:0", mux)
	c := newClient(t, Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})

	tests := []struct {
		path    string
		wantErr error
		want    string
	}{
		{"/hop/3", nil, "arrived"},
		{"/hop/4", ErrTooManyRedirects, ""},
		{"/hop/10", ErrTooManyRedirects, ""},
		{"/to-other", ErrAddressNotAllowed, ""},
		{"/to-metadata", ErrAddressNotAllowed, ""},
		{"/to-file", ErrScheme, ""},
	}
	for _, tt := range tests {
		r, err := c.Get(context.Background(), srv.URL+tt.path, "")
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Get(%s) = %v, want %v", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(r.Body) != tt.want {
			t.Errorf("Get(%s) = %v, %v; want %q", tt.path, r, err, tt.want)
		} else if !strings.HasSuffix(r.URL, "/hop/0") {
			t.Errorf("Get(%s).URL = %s, want the final URL", tt.path, r.URL)
		}
	}
	if privateHits.Load() != 0 {
		t.Errorf("private server hit")
	}

	none := newClient(t, Config{Allow: loopback(), MaxRedirects: -1})
	if _, err := none.Get(context.Background(), srv.URL+"/hop/1", ""); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("MaxRedirects -1: %v, want ErrTooManyRedirects", err)
	}
}

func TestSizeCap(t *testing.T) {
	body := strings.Repeat("x", 2048)
	mux := http.NewServeMux()
	mux.HandleFunc("/length", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(body); i += 100 {
			fmt.Fprint(w, body[i:min(i+100, len(body))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body[:1024]) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, Config{Allow: loopback(), MaxBodyBytes: 1024})
	for _, p := range []string{"/length", "/chunked"} {
		if _, err := c.Get(context.Background(), srv.URL+p, ""); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Get(%s) = %v, want ErrTooLarge", p, err)
		}
		resp, err := c.HTTPClient().Get(srv.URL + p)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("HTTPClient().Get(%s) = %v, want ErrTooLarge", p, err)
		}
	}
	if r, err := c.Get(context.Background(), srv.URL+"/exact", ""); err != nil || len(r.Body) != 1024 {
		t.Errorf("Get(/exact) = %v, want 1024 bytes", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := newClient(t, Config{Allow: loopback(), Timeout: 100 * time.Millisecond})
	_, err := c.Get(context.Background(), srv.URL, "")
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Errorf("Get of a stalled server = %v, want a timeout", err)
	}

	// The caller's context bounds its wait too.
	c = newClient(t, Config{Allow: loopback(), Timeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, srv.URL+"/x", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := newClient(t, Config{Allow: loopback()})
	_, err := c.Get(context.Background(), srv.URL, "")
	if se, ok := errors.AsType[*StatusError](err); !ok || se.StatusCode != 404 {
		t.Errorf("Get = %v, want a 404 StatusError", err)
	}
}

func TestCache(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		// fetches after each step of the clock: 0 s, +29 s, +2 s, +59 min,
		// +2 min; 1 means still cached.
		want [5]int
	}{
		{"no headers: floor", nil, [5]int{1, 1, 2, 3, 4}},
		{"max-age below the floor", map[string]string{"Cache-Control": "max-age=5"}, [5]int{1, 1, 2, 3, 4}},
		{"max-age=0", map[string]string{"Cache-Control": "max-age=0"}, [5]int{1, 1, 2, 3, 4}},
		{"max-age 10 min", map[string]string{"Cache-Control": "public, max-age=600"}, [5]int{1, 1, 1, 2, 2}},
		{"max-age above the ceiling", map[string]string{"Cache-Control": "max-age=86400"}, [5]int{1, 1, 1, 1, 2}},
		{"Age counts", map[string]string{"Cache-Control": "max-age=600", "Age": "590"}, [5]int{1, 1, 2, 3, 4}},
		{"no-store", map[string]string{"Cache-Control": "no-store"}, [5]int{1, 2, 3, 4, 5}},
		{"no-cache", map[string]string{"Cache-Control": "max-age=600, no-cache"}, [5]int{1, 2, 3, 4, 5}},
		{"Expires in 10 min", map[string]string{"Date": "Sun, 01 Mar 2026 12:00:00 GMT", "Expires": "Sun, 01 Mar 2026 12:10:00 GMT"}, [5]int{1, 1, 1, 2, 2}},
		{"Expires invalid", map[string]string{"Expires": "0"}, [5]int{1, 1, 2, 3, 4}},
		{"max-age wins over Expires", map[string]string{"Cache-Control": "max-age=600", "Expires": "Sun, 01 Mar 2026 13:10:00 GMT"}, [5]int{1, 1, 1, 2, 2}},
	}
	steps := [5]time.Duration{0, 29 * time.Second, 2 * time.Second, 59 * time.Minute, 2 * time.Minute}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := counted(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				fmt.Fprint(w, "doc")
			})
			clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			c := newClient(t, Config{Allow: loopback(), Now: clk.Now, CacheMinTTL: 30 * time.Second, CacheMaxTTL: time.Hour})
			for i, d := range steps {
				clk.Advance(d)
				r, err := c.Get(context.Background(), srv.URL+"/doc#frag", "text/turtle")
				if err != nil || string(r.Body) != "doc" {
					t.Fatalf("step %d: %v, %v", i, r, err)
				}
				if got := int(n.Load()); got != tt.want[i] {
					t.Errorf("after step %d (+%v): %d fetches, want %d", i, d, got, tt.want[i])
				}
			}
		})
	}
}

func TestCacheBounds(t *testing.T) {
	srv, n := counted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat("x", 100))
	})
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := newClient(t, Config{Allow: loopback(), Now: clk.Now, CacheEntries: 3, CacheBytes: 250})
	get := func(p string) {
		t.Helper()
		if _, err := c.Get(context.Background(), srv.URL+p, ""); err != nil {
			t.Fatal(err)
		}
	}
	get("/a")
	get("/b")
	get("/a") // cached
	if n.Load() != 2 {
		t.Fatalf("%d fetches, want 2", n.Load())
	}
	get("/c") // 300 bytes > 250: /b, the least recently used, goes
	get("/a") // cached
	if n.Load() != 3 {
		t.Errorf("%d fetches, want 3", n.Load())
	}
	get("/b")
	if n.Load() != 4 {
		t.Errorf("%d fetches, want 4 (b was evicted)", n.Load())
	}
	c.mu.Lock()
	entries, bytes := c.cache.Len(), c.bytes
	c.mu.Unlock()
	if entries > 3 || bytes > 250 {
		t.Errorf("cache holds %d entries, %d bytes", entries, bytes)
	}
	// Different Accept headers are different entries.
	get("/a")
	before := n.Load()
	if _, err := c.Get(context.Background(), srv.URL+"/a", "application/ld+json"); err != nil {
		t.Fatal(err)
	}
	if n.Load() != before+1 {
		t.Errorf("a different Accept was served from the cache")
	}
}

// TestSingleFlight: concurrent Gets of one URL share one request; those
// that come after it find the cached response.
func TestSingleFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv, n := counted(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		<-release
		fmt.Fprint(w, "doc")
	})
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := newClient(t, Config{Allow: loopback(), Now: clk.Now})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r, err := c.Get(context.Background(), srv.URL, ""); err != nil || string(r.Body) != "doc" {
				t.Errorf("Get = %v, %v", r, err)
			}
		})
	}
	<-entered
	close(release)
	wg.Wait()
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := New(Config{DialTimeout: -1, Timeout: -1, MaxBodyBytes: -1, CacheMinTTL: 2 * time.Hour, CacheMaxTTL: time.Hour})
	if err == nil {
		t.Fatal("New accepted a bad Config")
	}
	for _, want := range []string{"DialTimeout", "Timeout", "MaxBodyBytes", "CacheMinTTL is above"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}

func TestNoCredentialsSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.UserAgent())
	}))
	defer srv.Close()
	c := newClient(t, Config{Allow: loopback()})
	req, _ := http.NewRequest("GET", strings.Replace(srv.URL, "http://", "http://u:p@", 1), nil)
	req.Header.Set("Cookie", "a=b")
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "||Kluis" {
		t.Errorf("server saw %q", b)
	}
}

// TestCredentialedClient: the credentialed client keeps the Authorization
// the caller set (and nothing else of the kind), with the same address
// guards.
func TestCredentialedClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", r.Header.Get("Authorization"), r.Header.Get("Cookie"))
	}))
	defer srv.Close()
	c := newClient(t, Config{Allow: loopback()})
	req, _ := http.NewRequest("POST", srv.URL, nil)
	req.Header.Set("Authorization", "DPoP token")
	req.Header.Set("Cookie", "a=b")
	resp, err := c.CredentialedHTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "DPoP token|" {
		t.Errorf("server saw %q", b)
	}
	blocked := newClient(t, Config{})
	if _, err := blocked.CredentialedHTTPClient().Get(srv.URL); err == nil {
		t.Error("the credentialed client reached loopback without the allow-list")
	}
}

// seen is a RoundTripper that records the requests it passes on.
type seen struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (s *seen) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path+" cookie="+r.Header.Get("Cookie")+" ua="+r.UserAgent())
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

// TestTransportWrapper: Config.Transport sees every request of Get,
// HTTPClient and CredentialedHTTPClient, each redirect hop, after the
// guards (no cookie, the User-Agent set).
func TestTransportWrapper(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "b") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var s *seen
	c := newClient(t, Config{Allow: loopback(), Transport: func(next http.RoundTripper) http.RoundTripper {
		s = &seen{next: next}
		return s
	}})
	if _, err := c.Get(context.Background(), srv.URL+"/a", ""); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/b", nil)
	req.Header.Set("Cookie", "a=b")
	if res, err := c.HTTPClient().Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	if res, err := c.CredentialedHTTPClient().Post(srv.URL+"/b", "text/plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	want := []string{
		"GET /a cookie= ua=Kluis", "GET /b cookie= ua=Kluis",
		"GET /b cookie= ua=Kluis",
		"POST /b cookie= ua=Kluis",
	}
	if fmt.Sprint(s.reqs) != fmt.Sprint(want) {
		t.Errorf("the wrapper saw %q, want %q", s.reqs, want)
	}
}
