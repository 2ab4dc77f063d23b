package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// aclStaleBound is the longest a process may answer with an ACL another
// process has changed (server/aclversions.go, docs/limits.md).
const aclStaleBound = time.Second

// TestACLChangeTwoProcesses: two Kluis processes on one MinIO bucket,
// sharing change events over a nats-server of the test's own. Each keeps
// the versions of ACL resources between requests while it hears the
// other. An ACL changed through one process takes effect on the next
// request of that process, and on the other's within aclStaleBound: with
// NATS up, while it is down, and after it came back (the processes
// reconnect by themselves). The existence of containers, kept by the same
// rules, too.
func TestACLChangeTwoProcesses(t *testing.T) {
	natsTestEnv(t) // skips without the .ci services, fails in CI
	env := s3TestEnv(t)
	natsBin := filepath.Join(goBin(t), "nats-server")
	if _, err := os.Stat(natsBin); err != nil {
		t.Fatalf("%s is missing: bash .ci/test installs it", natsBin)
	}
	natsAddr := freeAddr(t)
	host, port, _ := net.SplitHostPort(natsAddr)
	nats := &soakService{name: "nats-server", start: func() *exec.Cmd { return exec.Command(natsBin, "-a", host, "-p", port) }}
	nats.run(t)
	t.Cleanup(func() {
		if nats.cmd != nil {
			nats.kill()
		}
	})
	waitListening(t, natsAddr, "nats-server")
	env = append(env, "KLUIS_NATS_URL=nats://"+natsAddr)
	env = append(env, natsTestEnv(t)...)
	args := []string{"-addr", "127.0.0.1:0", "-base-url", "http://kluis.test/", "-log-level", "warn"}
	procs := []*child{startChild(t, env, true, args...), startChild(t, env, true, args...)}

	send := func(c *child, method, path, body string) (int, string) {
		t.Helper()
		return sendTurtle(t, c, method, path, body)
	}
	if st, body := send(procs[0], "PUT", "shared/doc", `<#it> <http://example.org/ns#n> 1.`); st/100 != 2 {
		t.Fatalf("PUT: %d %s", st, body)
	}
	// The document's own ACL grants everyone Control, and Read or not.
	acl := func(read bool) string {
		modes := "acl:Control"
		if read {
			modes += ", acl:Read"
		}
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#all> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <doc>; acl:mode ` + modes + `.`
	}
	want := func(read bool) int {
		if read {
			return 200
		}
		return 401
	}
	read := true
	round := 0
	// change sets the ACL through one process; the writer answers by it at
	// once, the other within the bound. The other has read the document
	// just before, so that it holds the old version.
	change := func(phase string) {
		t.Helper()
		writer, other := procs[round%2], procs[(round+1)%2]
		round++
		for range 3 {
			if st, _ := send(other, "GET", "shared/doc", ""); st != want(read) {
				t.Fatalf("%s, round %d: GET through the other process before the change: %d, want %d", phase, round, st, want(read))
			}
		}
		read = !read
		if st, body := send(writer, "PUT", "shared/doc.acl", acl(read)); st/100 != 2 {
			t.Fatalf("%s, round %d: PUT of the ACL: %d %s", phase, round, st, body)
		}
		changed := time.Now()
		if st, _ := send(writer, "GET", "shared/doc", ""); st != want(read) {
			t.Fatalf("%s, round %d: GET through the writing process right after the change: %d, want %d", phase, round, st, want(read))
		}
		// Before the bound the other process may answer either way;
		// from the bound on, only by the new ACL.
		early := 0
		for time.Since(changed) < aclStaleBound {
			st, _ := send(other, "GET", "shared/doc", "")
			if st != want(read) && st != want(!read) {
				t.Fatalf("%s, round %d: GET through the other process: %d", phase, round, st)
			}
			if st == want(!read) {
				early++
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 3 {
			if st, _ := send(other, "GET", "shared/doc", ""); st != want(read) {
				t.Fatalf("%s, round %d: GET through the other process %v after the change: %d, want %d (the old ACL)",
					phase, round, time.Since(changed).Round(time.Millisecond), st, want(read))
			}
		}
		t.Logf("%s, round %d: the other process answered by the old ACL %d times before the bound", phase, round, early)
	}
	for range 4 {
		change("NATS up")
	}
	// Whether a container exists is kept by the same rules: a container
	// deleted through one process, the other creates it again for a PUT
	// into it once the bound has passed (at once when it heard the event).
	for i, st := range []struct {
		proc         int
		method, path string
		want         int
	}{
		{0, "PUT", "box/a", 201}, {1, "PUT", "box/b", 201},
		{0, "DELETE", "box/a", 204}, {0, "DELETE", "box/b", 204}, {0, "DELETE", "box/", 204},
		{1, "PUT", "box/c", 201}, {0, "GET", "box/", 200}, {1, "GET", "box/", 200},
	} {
		if st.path == "box/c" {
			time.Sleep(aclStaleBound)
		}
		body := ""
		if st.method == "PUT" {
			body = `<#it> <http://example.org/ns#n> 1.`
		}
		got, text := send(procs[st.proc], st.method, st.path, body)
		if got != st.want {
			t.Fatalf("containers, step %d: %s %s through process %d: %d %s, want %d", i, st.method, st.path, st.proc, got, text, st.want)
		}
		if st.method == "GET" && !strings.Contains(text, "<c>") {
			t.Errorf("containers, step %d: GET box/ does not list c:\n%s", i, text)
		}
	}
	nats.kill()
	nats.cmd = nil
	for range 4 {
		change("NATS down")
	}
	nats.run(t)
	waitListening(t, natsAddr, "nats-server")
	for range 4 {
		change("NATS back")
	}
}

// TestACLChangeTwoProcessesWithoutNATS: two Kluis processes on one data
// folder, or one bucket, with no NATS. Each keeps the versions of ACL
// resources between requests under the ACL generation, which every
// write of an ACL rewrites (ldp/aclgeneration.go). So an ACL created,
// changed or deleted (with its resource) through one process takes
// effect on the very next request through the other, with no bound to
// wait for.
func TestACLChangeTwoProcessesWithoutNATS(t *testing.T) {
	t.Run("filesystem", func(t *testing.T) {
		aclChangeWithoutNATS(t, nil, "-data", t.TempDir())
	})
	t.Run("s3", func(t *testing.T) {
		aclChangeWithoutNATS(t, s3TestEnv(t), "-storage", "s3")
	})
}

func aclChangeWithoutNATS(t *testing.T, env []string, args ...string) {
	env = append(env, "KLUIS_NATS_URL=") // .ci/test sets one for all
	base := []string{"-addr", "127.0.0.1:0", "-base-url", "http://kluis.test/", "-log-level", "warn"}
	procs := []*child{startChild(t, env, true, append(base, args...)...), startChild(t, env, true, append(base, args...)...)}
	send := func(c *child, method, path, body string) int {
		t.Helper()
		st, _ := sendTurtle(t, c, method, path, body)
		return st
	}
	acl := func(modes string) string {
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#all> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <doc>; acl:mode ` + modes + `.`
	}
	// Each step is made through one process; then both, the other first,
	// must answer GET shared/doc by it, twice (the second answered from
	// what the first kept).
	for i, st := range []struct {
		method, path, body string
		wantGET            int
	}{
		{"PUT", "shared/doc", `<#it> <http://example.org/ns#n> 1.`, 200}, // the open root ACL lets everyone read
		{"PUT", "shared/doc.acl", acl("acl:Control"), 401},
		{"PUT", "shared/doc.acl", acl("acl:Control, acl:Read"), 200},
		{"PUT", "shared/doc.acl", acl("acl:Control, acl:Write"), 401},
		{"DELETE", "shared/doc", "", 404}, // its ACL goes with it
		{"PUT", "shared/doc", `<#it> <http://example.org/ns#n> 2.`, 200},
	} {
		writer, other := procs[i%2], procs[(i+1)%2]
		// The other process reads first, so that it keeps the versions
		// from before the step.
		send(other, "GET", "shared/doc", "")
		if got := send(writer, st.method, st.path, st.body); got/100 != 2 {
			t.Fatalf("step %d: %s %s: %d", i, st.method, st.path, got)
		}
		for _, c := range []*child{other, other, writer} {
			if got := send(c, "GET", "shared/doc", ""); got != st.wantGET {
				t.Fatalf("step %d (%s %s): GET shared/doc through process %d: %d, want %d", i, st.method, st.path, slices.Index(procs, c), got, st.wantGET)
			}
		}
	}
}

// sendTurtle sends a request to the child, with body as Turtle when there
// is one, and returns the status and the body of the answer.
func sendTurtle(t *testing.T, c *child, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "text/turtle")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}
