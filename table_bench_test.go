package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/notify/natsbus"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/s3/s3test"
)

// BenchmarkTable reproduces the table of issue 18 in one run: every
// scenario at 32 clients against Kluis on the filesystem and (when
// KLUIS_S3_ENDPOINT is set, as bash .ci/bench does) on MinIO, beside the
// ceilings measured in the same run on the same machine: a static file
// server for reads from disk, a temp-file write + fsync + rename for
// durable writes, and a bare minio-go client for GetObject and PutObject.
// Each Kluis figure is printed with its ratio to its ceiling, and with the
// storage requests it cost per HTTP request (read from a counting wrapper
// around the backend).
//
// On S3 Kluis shares change events over NATS when KLUIS_NATS_URL is set
// (as bash .ci/bench does), as several processes of one bucket do.
//
// It is one run, not b.N runs: go test -run '^$' -bench '^BenchmarkTable$'
// -benchtime 1x . (KLUIS_BENCH_SECONDS sets the seconds per scenario,
// 3 by default, split into KLUIS_BENCH_ROUNDS rounds, 3 by default, each of
// the ceiling then Kluis, so that a ratio compares figures measured seconds
// apart; KLUIS_BENCH_ONLY="PUT new,DELETE" runs only the scenarios it
// names, as when profiling one). Kluis runs as a pod server (pods on, access control on,
// anonymous clients allowed by a public ACL), as a hoster runs it.
func BenchmarkTable(b *testing.B) {
	secs := 3.0
	if v := os.Getenv("KLUIS_BENCH_SECONDS"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			b.Fatalf("KLUIS_BENCH_SECONDS=%q: want a positive number", v)
		}
		secs = f
	}
	dur := time.Duration(secs * float64(time.Second))
	rounds := 3
	if v := os.Getenv("KLUIS_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("KLUIS_BENCH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	t := &benchTable{b: b, dur: dur, rounds: rounds}

	// The ceilings, each measured right before the Kluis scenario it is
	// the ceiling of: on a shared machine the load changes within a run,
	// and ratios of figures measured minutes apart would say little.
	fsGet, fsWrite := t.ceilingFileServer(), t.ceilingFsync()
	var s3Get, s3Put op
	if s3test.Configured() {
		s3Get, s3Put = t.ceilingMinio()
	}
	kluisFS := t.kluis("fs", fsGet, fsWrite, func(b *testing.B) storage.Backend {
		store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { store.Close() })
		return store
	})
	var kluisS3 map[string]measured
	if s3test.Configured() {
		kluisS3 = t.kluis("s3", s3Get, s3Put, func(b *testing.B) storage.Backend { return s3test.Open(b) })
		if os.Getenv("KLUIS_NATS_URL") == "" {
			b.Log("KLUIS_NATS_URL is not set: Kluis on S3 runs without NATS (bash .ci/bench starts one)")
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%d clients, %.0f s per scenario in %d rounds of its ceiling then Kluis; ratio = Kluis / its ceiling, the median of the rounds (their range); st/req = storage requests per HTTP request\n\n", benchClients, secs, t.rounds)
	fmt.Fprintf(&out, "| scenario | Kluis fs | ceiling | ratio | p99 | st/req | Kluis S3 | ceiling | ratio | p99 | st/req |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sc := range tableScenarios {
		f, s3 := kluisFS[sc], kluisS3[sc]
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc,
			f.kluis.rate(), f.ceil.rate(), f.ratio(), f.kluis.p99(), f.kluis.storagePerOp(),
			s3.kluis.rate(), s3.ceil.rate(), s3.ratio(), s3.kluis.p99(), s3.kluis.storagePerOp())
	}
	fmt.Fprintf(&out, "\nceilings: GET Turtle and GET container: a static file server's GET (fs), minio-go GetObject (S3); "+
		"writes: temp file + write + fsync + rename (fs), minio-go PutObject (S3); GET JSON-LD: Kluis's GET Turtle of the same document\n")
	if t.durable.ok {
		f := kluisFS["PUT new"]
		fmt.Fprintf(&out, "durable write (temp file + write + fsync + rename + folder fsync, 32 workers), measured before fs PUT new: %s; fs PUT new at %s of it\n",
			t.durable.rate(), ratio(f.kluis, t.durable))
	}
	fmt.Fprintf(&out, "peak RSS of this whole process (clients, servers and ceilings together): %d MB\n", peakRSS()>>20)
	if !s3test.Configured() {
		fmt.Fprintf(&out, "S3: not measured (KLUIS_S3_ENDPOINT not set; bash .ci/bench starts a MinIO)\n")
	}
	fmt.Print(out.String())
}

// tableScenarios are the rows of the table, in order.
var tableScenarios = []string{
	"GET Turtle", "GET JSON-LD", "PUT new", "PUT overwrite", "PATCH N3", "PATCH SPARQL",
	"POST", "GET container 1000", "DELETE",
}

// op is one request of a scenario, from client w, the i-th of the run;
// done tells that there is nothing left to do.
type op func(w int, i int64) (done bool, err error)

// measured is a Kluis scenario and its ceiling, measured in rounds, each
// of the ceiling and then Kluis; ratios are Kluis's to its ceiling's, by
// round.
type measured struct {
	kluis, ceil result
	ratios      []float64
}

// ratio is the median of the rounds' ratios, with their range: on a
// shared machine the ceiling moves by a factor of two within a run, and a
// ratio of two figures measured seconds apart tells more than one of
// figures a minute apart.
func (m measured) ratio() string {
	if len(m.ratios) == 0 {
		return "–"
	}
	r := slices.Sorted(slices.Values(m.ratios))
	med := r[len(r)/2]
	if len(r)%2 == 0 {
		med = (r[len(r)/2-1] + r[len(r)/2]) / 2
	}
	if len(r) == 1 {
		return fmt.Sprintf("%.0f%%", 100*med)
	}
	return fmt.Sprintf("%.0f%% (%.0f–%.0f)", 100*med, 100*r[0], 100*r[len(r)-1])
}

// result is one scenario's run.
type result struct {
	ok       bool
	ops      int64
	errors   int64
	elapsed  time.Duration
	lat      []time.Duration
	storage  int64 // storage requests during the run
	firstErr error
	cpu      time.Duration // CPU time (user and system) of this process during the run
	// exhausted tells that op had nothing left to do before the time was up.
	exhausted bool
}

func (r result) perSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

func (r result) rate() string {
	if !r.ok {
		return "–"
	}
	s := fmt.Sprintf("%.0f/s", r.perSec())
	if r.errors > 0 {
		s += fmt.Sprintf(" (%d errors: %v)", r.errors, r.firstErr)
	}
	return s
}

func (r result) p99() string {
	if !r.ok || len(r.lat) == 0 {
		return "–"
	}
	l := slices.Clone(r.lat)
	slices.Sort(l)
	return l[len(l)*99/100].Round(time.Millisecond / 10).String()
}

func (r result) storagePerOp() string {
	if !r.ok || r.ops == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(r.storage)/float64(r.ops))
}

func ratio(r, ceil result) string {
	if !r.ok || !ceil.ok || ceil.perSec() == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*r.perSec()/ceil.perSec())
}

type benchTable struct {
	b   *testing.B
	dur time.Duration
	// rounds is how many times each scenario alternates its ceiling and
	// Kluis, each for dur/rounds.
	rounds int
	// durable is the ceiling of a write that is durable once it returns
	// (ceilingFsync plus the folder's fsync), measured beside fs PUT new.
	durable result
}

// run calls op from benchClients goroutines for the table's duration, or
// until op reports it has nothing left to do (done), and times each call.
func (t *benchTable) run(op op) result { return t.runFor(op, t.dur, 0) }

// runFor is run for d, numbering the calls from from on (op's i), so that
// rounds of one scenario go on where the last one stopped.
func (t *benchTable) runFor(op op, d time.Duration, from int64) result {
	var (
		n, errs atomic.Int64
		mu      sync.Mutex
		lat     []time.Duration
		first   error
		wg      sync.WaitGroup
		stop    atomic.Bool
	)
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for w := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for !stop.Load() && time.Now().Before(deadline) {
				i := from + n.Add(1) - 1
				t0 := time.Now()
				done, err := op(w, i)
				if done {
					n.Add(-1)
					stop.Store(true)
					break
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						first = err
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{ok: true, ops: n.Load(), errors: errs.Load(), elapsed: time.Since(start), lat: lat, firstErr: first, cpu: processCPU() - cpu0, exhausted: stop.Load()}
}

// add is r and u, run one after the other.
func (r result) add(u result) result {
	if !r.ok {
		return u
	}
	r.ops += u.ops
	r.errors += u.errors
	r.elapsed += u.elapsed
	r.lat = append(r.lat, u.lat...)
	r.storage += u.storage
	r.cpu += u.cpu
	r.exhausted = u.exhausted
	if r.firstErr == nil {
		r.firstErr = u.firstErr
	}
	return r
}

// ceilingFileServer is net/http.FileServer serving the document from disk.
func (t *benchTable) ceilingFileServer() op {
	dir := t.b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "card"), []byte(smallTurtle), 0o600); err != nil {
		t.b.Fatal(err)
	}
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.b.Cleanup(ts.Close)
	c := benchClient()
	return func(int, int64) (bool, error) {
		return false, do(c, "GET", ts.URL+"/card", "", nil, 200, "")
	}
}

// ceilingFsync is what a durable write of the document costs on this disk:
// a temp file written, synced and renamed into place, from 32 workers.
func (t *benchTable) ceilingFsync() op { return t.ceilingWrite(false) }

// ceilingDurable is ceilingFsync with the folder fsynced after the
// rename, without which the new name may be lost in a crash after the
// write returned: what a store that acknowledges only durable writes
// cannot do without.
func (t *benchTable) ceilingDurable() op { return t.ceilingWrite(true) }

func (t *benchTable) ceilingWrite(syncFolder bool) op {
	dir := t.b.TempDir()
	data := []byte(smallTurtle)
	var run atomic.Int64 // names stay fresh from one run to the next
	return func(w int, i int64) (bool, error) {
		i += run.Add(1) << 40
		name := filepath.Join(dir, "doc-"+strconv.FormatInt(i, 10))
		f, err := os.CreateTemp(dir, ".tmp-*")
		if err != nil {
			return false, err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return false, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return false, err
		}
		if err := f.Close(); err != nil {
			return false, err
		}
		if err := os.Rename(f.Name(), name); err != nil || !syncFolder {
			return false, err
		}
		d, err := os.Open(dir)
		if err != nil {
			return false, err
		}
		defer d.Close()
		return false, d.Sync()
	}
}

// ceilingMinio is a bare minio-go client's GetObject and PutObject of the
// document, against the MinIO Kluis uses.
func (t *benchTable) ceilingMinio() (get, put op) {
	raw := s3test.NewRaw(t.b)
	s3test.Open(t.b) // makes the bucket when missing
	ctx := context.Background()
	data := []byte(smallTurtle)
	if err := raw.Put(ctx, "card", data); err != nil {
		t.b.Fatal(err)
	}
	get = func(int, int64) (bool, error) {
		_, err := raw.Get(ctx, "card")
		return false, err
	}
	var run atomic.Int64
	put = func(w int, i int64) (bool, error) {
		return false, raw.Put(ctx, "doc-"+strconv.FormatInt(run.Add(1), 10), data)
	}
	return get, put
}

// kluis runs every scenario against Kluis over the backend open makes.
func (t *benchTable) kluis(label string, getCeil, writeCeil op, open func(*testing.B) storage.Backend) map[string]measured {
	b := t.b
	ctx := context.Background()
	counted := &countingBackend{Backend: open(b)}
	space, err := ldp.New(ctx, counted, ldp.Config{BaseURL: "http://kluis.test/", Pods: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := space.CreatePod(ctx, "alice", ldp.PodOwner{WebID: "https://alice.example/profile/card#me"}); err != nil {
		b.Fatal(err)
	}
	// Everyone may do everything in /alice/bench/: the clients are
	// anonymous, and access control is checked on every request.
	public := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write.`
	if _, err := counted.Put(ctx, "r/alice/bench/", strings.NewReader(""), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	if _, err := counted.Put(ctx, "r/alice/bench/.acl", strings.NewReader(public), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	ts := benchServerOn(b, counted, func(c *server.Config) {
		c.Pods = true
		// On S3, as a hoster of several processes runs it: sharing
		// change events over NATS (when KLUIS_NATS_URL names one).
		if url := os.Getenv("KLUIS_NATS_URL"); url != "" && label == "s3" {
			bus, err := natsbus.Open(natsbus.Config{URL: url, Prefix: "kluisbench" + strconv.Itoa(os.Getpid())})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { bus.Close() })
			c.Notifications.Broadcaster = bus
		}
	})
	c := benchClient()
	base := ts.URL + "/alice/bench/"
	if err := do(c, "PUT", base+"card", "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
		b.Fatal(err)
	}
	for w := range benchClients {
		if err := do(c, "PUT", fmt.Sprintf("%spatch/doc-%d", base, w), "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
			b.Fatal(err)
		}
	}
	// A container of 1,000 children: 999 written straight to the backend
	// by 32 workers, one through Kluis so that the container exists.
	if err := do(c, "PUT", base+"posts/seed", "text/turtle", strings.NewReader(smallTurtle), 201, ""); err != nil {
		b.Fatal(err)
	}
	if err := do(c, "PUT", base+"big/child-seed", "text/plain", strings.NewReader("x"), 201, ""); err != nil {
		b.Fatal(err)
	}
	var fill sync.WaitGroup
	var fillErr atomic.Value
	for w := range benchClients {
		fill.Add(1)
		go func() {
			defer fill.Done()
			for i := w; i < 999; i += benchClients {
				if _, err := counted.Put(ctx, fmt.Sprintf("r/alice/bench/big/child-%04d", i), strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
					fillErr.Store(err)
				}
			}
		}()
	}
	fill.Wait()
	if err, _ := fillErr.Load().(error); err != nil {
		b.Fatal(err)
	}

	out := map[string]measured{}
	only := os.Getenv("KLUIS_BENCH_ONLY")
	ops := map[string]op{}
	measure := func(name string, o op) {
		ops[name] = o
		if only != "" && !strings.Contains(only, name) {
			return
		}
		var ceil op
		switch name {
		case "GET Turtle", "GET container 1000":
			ceil = getCeil
		case "GET JSON-LD":
			ceil = ops["GET Turtle"]
		default:
			ceil = writeCeil
		}
		per := t.dur / time.Duration(t.rounds)
		if label == "fs" && name == "PUT new" {
			t.durable = t.runFor(t.ceilingDurable(), per, 0)
		}
		counted.reset()
		var m measured
		for range t.rounds {
			// Only the scenario's own requests are counted: the
			// ceiling of JSON-LD is Kluis's GET of Turtle.
			counted.paused.Store(name == "GET JSON-LD")
			c := t.runFor(ceil, per, m.ceil.ops)
			counted.paused.Store(false)
			before := counted.n.Load()
			k := t.runFor(o, per, m.kluis.ops)
			k.storage = counted.n.Load() - before
			m.ceil, m.kluis = m.ceil.add(c), m.kluis.add(k)
			if c.perSec() > 0 && k.ops > 0 {
				m.ratios = append(m.ratios, k.perSec()/c.perSec())
			}
			if k.exhausted {
				break
			}
		}
		out[name] = m
		b.Logf("%s %s: ceiling %s; Kluis %s; storage: %s", label, name, m.ceil.busy(), m.kluis.busy(), counted.breakdown(m.kluis.ops))
	}
	status := func(method, u, ct, body, accept string, want ...int) error {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
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
		if !slices.Contains(want, res.StatusCode) {
			return fmt.Errorf("%s %s: %d", method, u, res.StatusCode)
		}
		return nil
	}
	measure("GET Turtle", func(int, int64) (bool, error) {
		return false, status("GET", base+"card", "", "", "text/turtle", 200)
	})
	measure("GET JSON-LD", func(int, int64) (bool, error) {
		return false, status("GET", base+"card", "", "", "application/ld+json", 200)
	})
	var created atomic.Int64
	measure("PUT new", func(_ int, i int64) (bool, error) {
		created.Add(1)
		return false, status("PUT", fmt.Sprintf("%snew/doc-%d", base, i), "text/turtle", smallTurtle, "", 201)
	})
	measure("PUT overwrite", func(w int, _ int64) (bool, error) {
		return false, status("PUT", fmt.Sprintf("%snew/doc-%d", base, w), "text/turtle", smallTurtle, "", 204, 205, 200)
	})
	measure("PATCH N3", func(w int, i int64) (bool, error) {
		patch := fmt.Sprintf(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#n%d> <http://example.org/n> %d. }.`, i, i)
		return false, status("PATCH", fmt.Sprintf("%spatch/doc-%d", base, w), "text/n3", patch, "", 200, 204, 205)
	})
	measure("PATCH SPARQL", func(w int, i int64) (bool, error) {
		patch := fmt.Sprintf(`INSERT DATA { <#s%d> <http://example.org/n> %d. }`, i, i)
		return false, status("PATCH", fmt.Sprintf("%spatch/doc-%d", base, w), "application/sparql-update", patch, "", 200, 204, 205)
	})
	measure("POST", func(int, int64) (bool, error) {
		return false, status("POST", base+"posts/", "text/turtle", smallTurtle, "", 201)
	})
	measure("GET container 1000", func(int, int64) (bool, error) {
		return false, status("GET", base+"big/", "", "", "text/turtle", 200)
	})
	n := created.Load()
	measure("DELETE", func(_ int, i int64) (bool, error) {
		if i >= n {
			return true, nil
		}
		return false, status("DELETE", fmt.Sprintf("%snew/doc-%d", base, i), "", "", "", 200, 204, 205)
	})
	b.Logf("%s: %d storage requests in all", label, counted.n.Load())
	return out
}

// countingBackend counts the requests made of a backend, in all and by
// operation, kind of key and outcome, without a lock that the requests it
// measures would wait for.
type countingBackend struct {
	storage.Backend
	n atomic.Int64
	// paused: requests are not counted.
	paused atomic.Bool

	kinds sync.Map // string -> *kindCount
}

// kindCount is the requests of one kind and their wall time.
type kindCount struct{ n, ns atomic.Int64 }

// note counts one request, begun at start.
func (c *countingBackend) note(op, key string, start time.Time, err error) {
	if c.paused.Load() {
		return
	}
	took := time.Since(start)
	c.n.Add(1)
	kind := "resource"
	switch {
	case strings.HasPrefix(key, "sys/usage/"):
		kind = "usage"
	case strings.HasPrefix(key, "sys/"):
		kind = "sys"
	case strings.HasSuffix(key, ".acl"):
		kind = "acl"
	case strings.HasSuffix(key, ".meta"):
		kind = "meta"
	case strings.HasSuffix(key, "/"):
		kind = "container"
	}
	k := op + " " + kind
	if err != nil {
		k += " (" + storage.ErrorKind(err) + ")"
	}
	v, ok := c.kinds.Load(k)
	if !ok {
		v, _ = c.kinds.LoadOrStore(k, new(kindCount))
	}
	kc := v.(*kindCount)
	kc.n.Add(1)
	kc.ns.Add(int64(took))
}

func (c *countingBackend) reset() { c.kinds.Clear() }

// breakdown tells the requests counted since reset, per HTTP request, each
// with its mean wall time in brackets.
func (c *countingBackend) breakdown(ops int64) string {
	var keys []string
	c.kinds.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, _ := c.kinds.Load(k)
		kc := v.(*kindCount)
		n := max(kc.n.Load(), 1)
		parts = append(parts, fmt.Sprintf("%s %.2f [%s]", k, float64(kc.n.Load())/float64(max(ops, 1)), (time.Duration(kc.ns.Load())/time.Duration(n)).Round(time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

func (c *countingBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	start := time.Now()
	rc, info, err := c.Backend.Get(ctx, key, o)
	c.note("get", key, start, err)
	return rc, info, err
}

func (c *countingBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	start := time.Now()
	info, err := c.Backend.Stat(ctx, key)
	c.note("stat", key, start, err)
	return info, err
}

func (c *countingBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	start := time.Now()
	info, err := c.Backend.Put(ctx, key, r, o)
	c.note("put", key, start, err)
	return info, err
}

func (c *countingBackend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	start := time.Now()
	err := c.Backend.Delete(ctx, key, o)
	c.note("delete", key, start, err)
	return err
}

func (c *countingBackend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	c.note("list", prefix, time.Now(), nil)
	return c.Backend.List(ctx, prefix)
}

// Append passes storage.Appender through, counted when the backend
// appends.
func (c *countingBackend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	start := time.Now()
	info, err := storage.Append(ctx, c.Backend, key, data, o)
	if !errors.Is(err, storage.ErrAppendUnsupported) {
		c.note("append", key, start, err)
	}
	return info, err
}

// Version passes storage.Versioner through, counted.
func (c *countingBackend) Version(ctx context.Context, key string) (string, error) {
	start := time.Now()
	v, err := storage.VersionOf(ctx, c.Backend, key)
	c.note("version", key, start, err)
	return v, err
}

// busy tells how much of the machine's CPUs the run used, and the CPU time
// per operation: whether a scenario was bound by the processors or by
// waiting.
func (r result) busy() string {
	if !r.ok || r.ops == 0 || r.elapsed <= 0 {
		return "–"
	}
	return fmt.Sprintf("CPU %.0f%% of %d cores, %s per request", 100*r.cpu.Seconds()/r.elapsed.Seconds()/float64(runtime.NumCPU()),
		runtime.NumCPU(), (r.cpu / time.Duration(r.ops)).Round(time.Microsecond))
}

// peakRSS is the most resident memory this process has used.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
