package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
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
// them, listening on loopback, plus extra args.
func startHostile(t *testing.T, b hostileBackend, env []string, extra ...string) *child {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, b.args(t)...)
	return startKluis(t, append(b.env(t), env...), append(args, extra...)...)
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
