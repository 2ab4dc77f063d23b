package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
)

// quotaOwner is the WebID that owns the pod of the quota tests.
const quotaOwner = "https://alice.example/profile#me"

// quotaRoom is how many bytes the pod of a quota test may still take.
const quotaRoom = 1000

// quotaPod makes the pod alice over b, as another process would, and
// returns a Store for looking at its usage and the bytes the fresh pod
// holds.
func quotaPod(t *testing.T, b storage.Backend) (*ldp.Store, int64) {
	t.Helper()
	ctx := context.Background()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: testBaseURL, Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{WebID: quotaOwner}); err != nil {
		t.Fatal(err)
	}
	u, err := s.PodUsage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes <= 0 {
		t.Fatalf("a seeded pod counts %d bytes", u.Bytes)
	}
	return s, u.Bytes
}

// quotaServer serves b with pods and a default quota.
func quotaServer(t *testing.T, b storage.Backend, quota int64) *testServer {
	return newTestServer(t, b, func(c *server.Config) {
		c.Pods = true
		c.PodQuota = quota
		c.Authenticator = testAgents{}
	})
}

// settle waits until the servers have stored the counts of the writes they
// answered, as another process reading the counter must (ldp/usage.go).
func settle(t *testing.T, servers ...*testServer) {
	t.Helper()
	for _, ts := range servers {
		if err := ts.srv.SettleUsage(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// quotaStep is one request of a quota scenario.
type quotaStep struct {
	method, path string
	header       map[string]string
	size         int    // a binary body of this many bytes, when body is ""
	body         string // an RDF body or patch
	// chunked hides the body's length, as an upload of unknown length.
	chunked    bool
	wantStatus int
	// wantUsed is the usage after the step, less the fresh pod's; -1 when
	// not checked.
	wantUsed int64
}

func (st quotaStep) send(t *testing.T, ts *testServer) (*http.Response, string) {
	t.Helper()
	res, body, err := st.do(ts)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// do sends the step's request, from any goroutine.
func (st quotaStep) do(ts *testServer) (*http.Response, string, error) {
	var body io.Reader
	switch {
	case st.body != "":
		body = strings.NewReader(st.body)
	case st.size > 0:
		body = bytes.NewReader(bytes.Repeat([]byte{'q'}, st.size))
	}
	if body != nil && st.chunked {
		body = io.MultiReader(body) // no length: sent chunked
	}
	req, err := http.NewRequest(st.method, ts.URL+st.path, body)
	if err != nil {
		return nil, "", err
	}
	if body != nil && st.body == "" {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	for k, v := range st.header {
		req.Header.Set(k, v)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res, string(data), err
}

func TestQuota(t *testing.T) {
	bin := func(method, path string, size int, status int, used int64) quotaStep {
		return quotaStep{method: method, path: path, size: size, wantStatus: status, wantUsed: used}
	}
	turtle := map[string]string{"Content-Type": "text/turtle"}
	sparql := map[string]string{"Content-Type": "application/sparql-update"}
	big := strings.Repeat("x", quotaRoom)
	cases := []struct {
		name string
		// own is the pod's own quota, as room above the fresh pod's
		// bytes; nil: the server's default (quotaRoom above them).
		own   *int64
		steps []quotaStep
	}{
		{name: "put within quota grows usage", steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 600, 201, 600),
			bin("PUT", "/alice/b.bin", 400, 201, 1000), // fills it exactly
		}},
		{name: "put over, known length", steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 600, 201, 600),
			bin("PUT", "/alice/b.bin", 401, 507, 600),
			{method: "GET", path: "/alice/b.bin", wantStatus: 404, wantUsed: 600},
		}},
		{name: "chunked put over is cut", steps: []quotaStep{
			{method: "PUT", path: "/alice/a.bin", size: 64 << 10, chunked: true, wantStatus: 507, wantUsed: 0},
			{method: "GET", path: "/alice/a.bin", wantStatus: 404, wantUsed: 0},
			{method: "PUT", path: "/alice/b.bin", size: quotaRoom, chunked: true, wantStatus: 201, wantUsed: quotaRoom},
		}},
		{name: "replacing with a smaller body frees", steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 900, 201, 900),
			bin("PUT", "/alice/a.bin", 100, 204, 100),
			bin("PUT", "/alice/b.bin", 900, 201, 1000),
			// Replacing a resource in a full pod with as many bytes.
			bin("PUT", "/alice/b.bin", 900, 204, 1000),
			bin("PUT", "/alice/b.bin", 901, 507, 1000),
		}},
		{name: "delete frees", steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 900, 201, 900),
			bin("PUT", "/alice/b.bin", 900, 507, 900),
			{method: "DELETE", path: "/alice/a.bin", wantStatus: 204, wantUsed: 0},
			bin("PUT", "/alice/b.bin", 900, 201, 900),
		}},
		{name: "post counts", steps: []quotaStep{
			bin("POST", "/alice/", 700, 201, 700),
			bin("POST", "/alice/", 301, 507, 700),
			{method: "POST", path: "/alice/", header: turtle, body: "<#it> <#says> \"" + big + "\".", wantStatus: 507, wantUsed: 700},
			{method: "POST", path: "/alice/", header: turtle, body: "<#a> <#b> <#c>.", wantStatus: 201, wantUsed: -1},
		}},
		{name: "patch counts", steps: []quotaStep{
			{method: "PATCH", path: "/alice/doc.ttl", header: sparql, body: `INSERT DATA { <#a> <#b> "small" . }`, wantStatus: 201, wantUsed: -1},
			{method: "PATCH", path: "/alice/doc.ttl", header: sparql, body: `INSERT DATA { <#a> <#b> "` + big + `" . }`, wantStatus: 507, wantUsed: -1},
			{method: "DELETE", path: "/alice/doc.ttl", wantStatus: 204, wantUsed: 0},
		}},
		{name: "own quota overrides the default", own: ptrInt(100), steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 101, 507, 0),
			bin("PUT", "/alice/a.bin", 100, 201, 100),
		}},
		{name: "own quota of 0 is no limit", own: ptrInt(-1), steps: []quotaStep{
			bin("PUT", "/alice/a.bin", 5000, 201, 5000),
		}},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					b := be.open(t)
					s, base := quotaPod(t, b)
					quota := base + quotaRoom
					if tc.own != nil {
						own := base + *tc.own
						if *tc.own < 0 {
							own = 0
						}
						if _, err := s.SetPodQuota(ctx, "alice", &own); err != nil {
							t.Fatal(err)
						}
						quota = own
					}
					ts := quotaServer(t, b, base+quotaRoom)
					for i, st := range tc.steps {
						res, body := st.send(t, ts)
						if res.StatusCode != st.wantStatus {
							t.Fatalf("step %d, %s %s: %d %q, want %d", i, st.method, st.path, res.StatusCode, body, st.wantStatus)
						}
						if st.wantStatus == http.StatusInsufficientStorage {
							want := fmt.Sprintf("pod alice is over its quota of %d bytes", quota)
							if !strings.Contains(body, want) {
								t.Errorf("step %d: body %q, want %q", i, body, want)
							}
						}
						settle(t, ts)
						u, err := s.PodUsage(ctx, "alice")
						if err != nil {
							t.Fatal(err)
						}
						if st.wantUsed >= 0 && u.Bytes != base+st.wantUsed {
							t.Errorf("step %d, %s %s: usage %d, want %d", i, st.method, st.path, u.Bytes-base, st.wantUsed)
						}
						if u.Bytes > quota && quota > 0 {
							t.Errorf("step %d: usage %d passes the quota %d", i, u.Bytes, quota)
						}
					}
					settle(t, ts)
					checkCounter(t, s, "alice")
				})
			}
		})
	}
}

func ptrInt(n int64) *int64 { return &n }

// checkCounter fails when the pod's counter differs from a recount.
func checkCounter(t *testing.T, s *ldp.Store, pod string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.PodUsage(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RecountPodUsage(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes != r.Bytes {
		t.Errorf("counter says %d bytes, a recount %d", u.Bytes, r.Bytes)
	}
}

// TestQuotaConcurrentWriters has writers on two servers (as two processes
// on one backend) create, replace and delete resources of one pod at the
// same moment; the counter must end where a recount does.
func TestQuotaConcurrentWriters(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			b := be.open(t)
			s, _ := quotaPod(t, b)
			servers := []*testServer{quotaServer(t, b, 0), quotaServer(t, b, 0)}
			const writers, rounds = 6, 4
			var wg sync.WaitGroup
			errs := make(chan string, writers*rounds*4)
			for w := range writers {
				wg.Go(func() {
					ts := servers[w%len(servers)]
					for r := range rounds {
						path := fmt.Sprintf("/alice/w%d-%d.bin", w, r)
						steps := []quotaStep{
							{method: "PUT", path: path, size: 100 + 37*w + r, wantStatus: 201},
							{method: "PUT", path: path, size: 10 + w, wantStatus: 204},
							{method: "POST", path: "/alice/", size: 50 + w, wantStatus: 201},
						}
						if r%2 == 1 {
							steps = append(steps, quotaStep{method: "DELETE", path: path, wantStatus: 204})
						}
						for _, st := range steps {
							res, body, err := st.do(ts)
							if err != nil {
								errs <- err.Error()
							} else if res.StatusCode != st.wantStatus {
								errs <- fmt.Sprintf("%s %s: %d %s", st.method, st.path, res.StatusCode, body)
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			settle(t, servers...)
			checkCounter(t, s, "alice")
		})
	}
}

// TestQuotaStorageDescription checks that the storage description tells
// the pod's owner, and no one else, its usage and quota.
func TestQuotaStorageDescription(t *testing.T) {
	b := backends()[0].open(t)
	_, base := quotaPod(t, b)
	ts := quotaServer(t, b, 1<<20)
	if res, body := (quotaStep{method: "PUT", path: "/alice/a.bin", size: 123}).send(t, ts); res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", res.StatusCode, body)
	}
	used := fmt.Sprintf(`"%d"^^<http://www.w3.org/2001/XMLSchema#integer>`, base+123)
	quota := fmt.Sprintf(`"%d"^^<http://www.w3.org/2001/XMLSchema#integer>`, 1<<20)
	storageIRI := "<" + testBaseURL + "alice/>"
	cases := []struct {
		name, authorization string
		wantUsage           bool
	}{
		{"owner", "Test " + quotaOwner + " https://app.example/ https://idp.example/", true},
		{"someone else", "Test https://bob.example/profile#me https://app.example/ https://idp.example/", false},
		{"anonymous", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := quotaStep{method: "GET", path: "/alice/.well-known/solid",
				header: map[string]string{"Accept": "application/n-triples", "Authorization": tc.authorization}}
			res, body := st.send(t, ts)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET: %d %s", res.StatusCode, body)
			}
			if vary := strings.Join(res.Header.Values("Vary"), ", "); !strings.Contains(vary, "Authorization") {
				t.Errorf("Vary %q lacks Authorization", vary)
			}
			wantLines := []string{
				storageIRI + " <" + ldp.UsedBytes + "> " + used + " .",
				storageIRI + " <" + ldp.QuotaBytes + "> " + quota + " .",
			}
			for _, l := range wantLines {
				if got := strings.Contains(body, l); got != tc.wantUsage {
					t.Errorf("body has %s: %v, want %v\n%s", l, got, tc.wantUsage, body)
				}
			}
		})
	}
}
