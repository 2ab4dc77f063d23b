package main

import (
	"context"
	"fmt"
	"github.com/weconomics/kluis/storage/s3/s3test"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/tracing"
	"github.com/weconomics/kluis/server/tracing/tracingtest"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// benchClients is how many clients send requests at once in the HTTP
// benchmarks.
const benchClients = 32

// smallTurtle is a small public Turtle resource, a typical profile card.
const smallTurtle = `@prefix foaf: <http://xmlns.com/foaf/0.1/>.
@prefix solid: <http://www.w3.org/ns/solid/terms#>.
<#me> a foaf:Person; foaf:name "Alice"; solid:oidcIssuer <https://idp.example/>.
`

// benchServer starts Kluis over the filesystem backend in a temp folder,
// with every request allowed, on a real loopback listener.
func benchServer(b *testing.B) (*httptest.Server, storage.Backend) {
	b.Helper()
	store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return benchServerOn(b, store, func(c *server.Config) { c.Permissions = server.OpenPermissions{} }), store
}

// benchServerOn starts Kluis over store; mutate adjusts the config.
func benchServerOn(b *testing.B, store storage.Backend, mutate func(*server.Config)) *httptest.Server {
	b.Helper()
	base, _ := url.Parse("http://kluis.test/")
	cfg := server.Config{BaseURL: base, MaxBodyBytes: 1 << 30}
	mutate(&cfg)
	srv, err := server.New(context.Background(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Drain(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return ts
}

// benchClient keeps enough connections alive for every client.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients, MaxConnsPerHost: 2 * benchClients}}
}

// runClients runs fn from benchClients goroutines until b.N requests are
// done.
func runClients(b *testing.B, fn func(c *http.Client) error) {
	c := benchClient()
	b.SetParallelism(max(1, benchClients/max(1, runtimeProcs())))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := fn(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func do(c *http.Client, method, u, ct string, body io.Reader, want int, accept string) error {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d", method, u, res.StatusCode, want)
	}
	return nil
}

// BenchmarkGetSmallTurtle compares GET of a small public Turtle resource
// through Kluis with net/http.FileServer serving the same bytes from the same
// disk, 32 clients over keep-alive connections (issue: Kluis should reach at
// least half the file server's throughput).
func BenchmarkGetSmallTurtle(b *testing.B) {
	b.Run("kluis", func(b *testing.B) {
		ts, _ := benchServer(b)
		if err := do(benchClient(), "PUT", ts.URL+"/profile/card", "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
			b.Fatal(err)
		}
		runClients(b, func(c *http.Client) error {
			return do(c, "GET", ts.URL+"/profile/card", "", nil, 200, "text/turtle")
		})
	})
	b.Run("fileserver", func(b *testing.B) {
		dir := b.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "profile"), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "profile", "card"), []byte(smallTurtle), 0o600); err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
		b.Cleanup(ts.Close)
		runClients(b, func(c *http.Client) error {
			return do(c, "GET", ts.URL+"/profile/card", "", nil, 200, "text/turtle")
		})
	})
}

// BenchmarkWrites measures PUT of a small Turtle document and an N3 PATCH
// inserting one triple, 32 clients at once on distinct resources.
func BenchmarkWrites(b *testing.B) {
	b.Run("PUT", func(b *testing.B) {
		ts, _ := benchServer(b)
		var n atomic.Int64
		runClients(b, func(c *http.Client) error {
			u := fmt.Sprintf("%s/put/doc-%d", ts.URL, n.Add(1)%1000)
			res := 0
			err := func() error {
				req, _ := http.NewRequest("PUT", u, strings.NewReader(smallTurtle))
				req.Header.Set("Content-Type", "text/turtle")
				r, err := c.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				res = r.StatusCode
				return nil
			}()
			if err == nil && res != 201 && res != 204 {
				err = fmt.Errorf("PUT %s: %d", u, res)
			}
			return err
		})
	})
	b.Run("PATCH", func(b *testing.B) {
		ts, _ := benchServer(b)
		var n atomic.Int64
		runClients(b, func(c *http.Client) error {
			i := n.Add(1)
			patch := fmt.Sprintf(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#t%d> <http://example.org/n> %d. }.`, i, i)
			u := fmt.Sprintf("%s/patch/doc-%d", ts.URL, i%benchClients)
			req, _ := http.NewRequest("PATCH", u, strings.NewReader(patch))
			req.Header.Set("Content-Type", "text/n3")
			r, err := c.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != 201 && r.StatusCode != 204 {
				return fmt.Errorf("PATCH %s: %d", u, r.StatusCode)
			}
			return nil
		})
	})
}

// BenchmarkGetContainer1000 measures GET of a container with 1,000
// children, as Turtle.
func BenchmarkGetContainer1000(b *testing.B) {
	ts, store := benchServer(b)
	ctx := context.Background()
	if err := do(benchClient(), "PUT", ts.URL+"/big/seed", "text/plain", strings.NewReader("x"), 201, ""); err != nil {
		b.Fatal(err)
	}
	for i := range 999 {
		if _, err := store.Put(ctx, fmt.Sprintf("r/big/child-%04d", i), strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
			b.Fatal(err)
		}
	}
	runClients(b, func(c *http.Client) error {
		return do(c, "GET", ts.URL+"/big/", "", nil, 200, "text/turtle")
	})
}

// BenchmarkGetContainer10000 measures GET of a container with 10,000
// children, as Turtle (issue 18: "and 10,000"). Seeding takes a while:
// each child is a durable write.
func BenchmarkGetContainer10000(b *testing.B) {
	ts, store := benchServer(b)
	ctx := context.Background()
	if err := do(benchClient(), "PUT", ts.URL+"/huge/seed", "text/plain", strings.NewReader("x"), 201, ""); err != nil {
		b.Fatal(err)
	}
	for i := range 9999 {
		if _, err := store.Put(ctx, fmt.Sprintf("r/huge/child-%05d", i), strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	runClients(b, func(c *http.Client) error {
		return do(c, "GET", ts.URL+"/huge/", "", nil, 200, "text/turtle")
	})
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// oneAgent authenticates every request as the same agent, for the access
// control benchmark (the cost of Solid-OIDC is measured in webid).
type oneAgent struct{ server.Agent }

func (a oneAgent) Authenticate(*http.Request) (server.Agent, error) { return a.Agent, nil }

// BenchmarkGetWithWAC compares GET of a small resource whose effective ACL
// is four levels up, for an authenticated agent, with the same GET with
// authorization switched off (issue: at least 70% of its throughput), on
// the filesystem and, when KLUIS_S3_ENDPOINT is set, on MinIO.
func BenchmarkGetWithWAC(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) storage.Backend
	}{
		{"filesystem", func(b *testing.B) storage.Backend {
			store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			return store
		}},
	}
	if s3test.Configured() {
		backends = append(backends, struct {
			name string
			open func(b *testing.B) storage.Backend
		}{"minio", openBenchS3})
	}
	const webid = "https://alice.example/profile/card#me"
	acl := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#alice> a acl:Authorization; acl:agent <` + webid + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	for _, be := range backends {
		for _, mode := range []string{"wac", "off"} {
			b.Run(be.name+"/"+mode, func(b *testing.B) {
				store := be.open(b)
				ctx := context.Background()
				if _, err := store.Put(ctx, "r/.acl", strings.NewReader(acl), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
					b.Fatal(err)
				}
				ts := benchServerOn(b, store, func(c *server.Config) {
					c.Authenticator = oneAgent{server.Agent{WebID: webid, ClientID: "https://app.example/id", Issuer: "https://idp.example/"}}
					if mode == "off" {
						c.Permissions = server.OpenPermissions{}
					}
				})
				if err := do(benchClient(), "PUT", ts.URL+"/a/b/c/d/doc", "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
					b.Fatal(err)
				}
				runClients(b, func(c *http.Client) error {
					return do(c, "GET", ts.URL+"/a/b/c/d/doc", "", nil, 200, "text/turtle")
				})
			})
		}
	}
}

// openBenchS3 opens the MinIO that .ci/test started, under a fresh prefix.
func openBenchS3(b *testing.B) storage.Backend { return s3test.Open(b) }

// BenchmarkAuthenticatedGet compares GET of a public resource with a valid
// DPoP-bound token and a fresh proof on every request against the same GET
// made anonymously (issue: at least 60% of the anonymous throughput). The
// proofs are made before the timer starts; the verifier's own cost per
// request is BenchmarkVerify in package webid.
func BenchmarkAuthenticatedGet(b *testing.B) {
	issuer := webidtest.NewIssuer(b)
	profile := webidtest.NewProfile(b, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	client := webidtest.NewClient(b, "ES256")
	store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	public := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read.
<#owner> a acl:Authorization; acl:agent <` + profile.WebID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	if _, err := store.Put(context.Background(), "r/.acl", strings.NewReader(public), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Put(context.Background(), "r/public/card", strings.NewReader(smallTurtle), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	f, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	b.Cleanup(ts.Close)
	base, _ := url.Parse(ts.URL + "/")
	srv, err := server.New(context.Background(), server.Config{BaseURL: base, Fetcher: f}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	h = srv.Handler()
	target := ts.URL + "/public/card"

	// CPU time per request (clients included) is reported beside the wall
	// time: it is the steadier figure on a shared machine, and the ratio
	// of the two runs' CPU per request is the throughput ratio a server
	// with its clients elsewhere would see at most.
	b.Run("anonymous", func(b *testing.B) {
		cpu := processCPU()
		runClients(b, func(c *http.Client) error { return do(c, "GET", target, "", nil, 200, "text/turtle") })
		reportCPU(b, cpu)
	})
	// ES256 is what Solid clients sign their proofs with
	// (solid-client-authn); the others show what the signature costs.
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		client := client
		if alg != client.Alg() {
			client = webidtest.NewClient(b, alg)
		}
		token := issuer.Token(webidtest.TokenOptions{WebID: profile.WebID, ClientID: "https://app.example/id", JKT: client.Thumbprint(), Expiry: time.Now().Add(time.Hour)})
		b.Run("dpop/"+alg, func(b *testing.B) {
			dpopGets(b, client, target, token, func(res *http.Response) error {
				if res.StatusCode != 200 || !strings.Contains(res.Header.Get("WAC-Allow"), "write") {
					return fmt.Errorf("authenticated GET: %d, WAC-Allow %q", res.StatusCode, res.Header.Get("WAC-Allow"))
				}
				return nil
			})
		})
	}
}

// BenchmarkGetTracing compares the GET of BenchmarkGetSmallTurtle with
// tracing off (no Tracer: what every server without KLUIS_TRACING runs),
// on with every request recorded and exported over OTLP/HTTP to a real
// receiver on loopback, and on with every request sampled out (ratio 0).
func BenchmarkGetTracing(b *testing.B) {
	for _, mode := range []struct{ name, sampler, arg string }{
		{"off", "", ""},
		{"on", "always_on", ""},
		{"sampled-out", "traceidratio", "0"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			var backend storage.Backend = store
			var tracer server.Tracer
			if mode.sampler != "" {
				rcv := tracingtest.New(b)
				tr, err := tracing.New(context.Background(), tracing.Config{
					Endpoint: rcv.URL, Sampler: tracing.Sampler{Name: mode.sampler, Arg: mode.arg},
				})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { tr.Shutdown(context.Background()) })
				backend, tracer = tr.Storage(store, "fs"), tr
			}
			ts := benchServerOn(b, backend, func(c *server.Config) {
				c.Permissions = server.OpenPermissions{}
				c.Tracer = tracer
			})
			if err := do(benchClient(), "PUT", ts.URL+"/profile/card", "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
				b.Fatal(err)
			}
			cpu := processCPU()
			runClients(b, func(c *http.Client) error {
				return do(c, "GET", ts.URL+"/profile/card", "", nil, 200, "text/turtle")
			})
			// CPU time per request, clients and receiver included: steadier
			// than wall time on a machine that others share.
			reportCPU(b, cpu)
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
// reportCPU reports the process's CPU time since cpu (a processCPU) per
// request, clients included: steadier than wall time on a shared machine.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// dpopGets runs b.N GETs of target by client with token, each with a
// fresh DPoP proof made before the clock runs, judges each answer with
// check, and reports the CPU per request.
func dpopGets(b *testing.B, client *webidtest.Client, target, token string, check func(*http.Response) error) {
	proofs := make(chan string, b.N)
	for range b.N {
		proofs <- client.Proof("GET", target, token)
	}
	cpu := processCPU()
	defer reportCPU(b, cpu)
	runClients(b, func(c *http.Client) error {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Accept", "text/turtle")
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", <-proofs)
		res, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return check(res)
	})
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
