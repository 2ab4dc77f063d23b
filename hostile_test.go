package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/s3"
)

// The hostile-input suite (hostile_*_test.go) runs the real binary, as an
// attacker meets it, on each backend, and asserts what the server did:
// the status, how long it took to answer, how much its memory grew, and
// what it left behind. These are its shared helpers.

// hostileBackend is a storage the suite runs on: args and env for
// startKluis.
type hostileBackend struct {
	name string
	env  func(t *testing.T) []string
	args func(t *testing.T) []string
}

// hostileBackends are the filesystem always, and MinIO when bash .ci/test
// started one (required when CI=true, as s3TestEnv says).
func hostileBackends() []hostileBackend {
	return []hostileBackend{
		{"fs", func(*testing.T) []string { return nil }, func(t *testing.T) []string { return []string{"-data", t.TempDir()} }},
		{"s3", s3TestEnv, func(*testing.T) []string { return nil }},
	}
}

// startHostile starts Kluis on b with accounts and pods as `go run .` has
// them, listening on loopback, plus extra args. It also serves metrics on
// loopback, for the child's goroutines, and opens the child's storage
// beside it, for what a request left there.
func startHostile(t *testing.T, b hostileBackend, env []string, extra ...string) *child {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn", "-metrics-addr", "127.0.0.1:0"}, b.args(t)...)
	args = append(args, extra...)
	env = append(b.env(t), env...)
	c := startKluis(t, env, args...)
	c.metrics = c.stdout.waitFor(t, regexp.MustCompile(`Kluis serves metrics on (http://\S+)`), c.exited)[1]
	c.store = openChildStore(t, args, env)
	return c
}

// openChildStore opens the storage a child started with args and env
// uses: the last -data folder, or the S3 settings of its environment.
func openChildStore(t *testing.T, args, env []string) storage.Backend {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range append(os.Environ(), env...) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	if vars["KLUIS_STORAGE"] == "s3" {
		b, err := s3.New(context.Background(), s3.Config{
			Endpoint: vars["KLUIS_S3_ENDPOINT"], Bucket: vars["KLUIS_S3_BUCKET"], Prefix: vars["KLUIS_S3_PREFIX"],
			Region: vars["KLUIS_S3_REGION"], PathStyle: true, TLS: vars["KLUIS_S3_TLS"] == "true",
			AccessKey: vars["KLUIS_S3_ACCESS_KEY"], SecretKey: vars["KLUIS_S3_SECRET_KEY"],
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := vars["KLUIS_DATA"]
	for i := range args[:max(0, len(args)-1)] {
		if args[i] == "-data" {
			dir = args[i+1]
		}
	}
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// objects lists every key the child's storage holds under prefix ("r/"
// for the resources), whatever the depth.
func (c *child) objects(t *testing.T, prefix string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		for info, err := range c.store.List(context.Background(), p) {
			if err != nil {
				t.Fatalf("listing %s: %v", p, err)
			}
			if info.IsPrefix {
				walk(info.Key)
				continue
			}
			out[info.Key] = true
		}
	}
	walk(prefix)
	return out
}

// noObjectsLeft fails t when the child's resources hold a key they did
// not hold in before: what a refused request must never leave.
func (c *child) noObjectsLeft(t *testing.T, before map[string]bool) {
	t.Helper()
	for k := range c.objects(t, "r/") {
		if !before[k] {
			t.Errorf("left behind in storage: %s", k)
		}
	}
}

// goroutines is the child's go_goroutines metric.
func (c *child) goroutines(t *testing.T) int {
	t.Helper()
	n, ok := c.metricOK(t, "go_goroutines")
	if !ok {
		t.Fatal("the child's metrics have no go_goroutines")
	}
	return n
}

// metric reads the child's metric called name, summed over its labels; 0
// when it has none.
func (c *child) metric(t *testing.T, name string) int {
	t.Helper()
	n, _ := c.metricOK(t, name)
	return n
}

func (c *child) metricOK(t *testing.T, name string) (int, bool) {
	t.Helper()
	res, err := http.Get(c.metrics)
	if err != nil {
		t.Fatalf("reading the child's metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	sum, found := 0.0, false
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if i := strings.LastIndexByte(rest, ' '); i >= 0 {
			if v, err := strconv.ParseFloat(rest[i+1:], 64); err == nil {
				sum, found = sum+v, true
			}
		}
	}
	return int(sum), found
}

// noGoroutinesLeft fails t when, within 10 s, the child does not come
// back to at most baseline goroutines and a few (connections its test
// clients still keep alive): work a client began must end with it.
func (c *child) noGoroutinesLeft(t *testing.T, baseline int) {
	t.Helper()
	slack := 16
	n := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// The connections the S3 backend keeps to the bucket, two
		// goroutines each, are not work (kluis_storage_connections).
		n = c.goroutines(t) - 2*c.metric(t, "kluis_storage_connections")
		if n <= baseline+slack || time.Now().After(deadline) {
			break
		}
	}
	if n > baseline+slack {
		t.Errorf("the child has %d goroutines, %d before: work goes on after its requests ended", n, baseline)
	}
}

// procStatus reads a field in kB of /proc/<pid>/status, in bytes.
func (c *child) procStatus(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatalf("reading the child's status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc status has no %s", field)
	return 0
}

// rss is the child's resident set size now; peakRSS the most it has had
// (VmHWM), so that growth between two points includes brief peaks.
func (c *child) rss(t *testing.T) int64     { return c.procStatus(t, "VmRSS") }
func (c *child) peakRSS(t *testing.T) int64 { return c.procStatus(t, "VmHWM") }
