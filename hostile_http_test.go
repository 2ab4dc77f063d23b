package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The HTTP front of the hostile-input suite (issue 13, findings 3 and 4):
// the work a request causes is bounded before it is done. A refusal costs
// its headers, whatever body follows; a body that trickles in is cut; one
// client address holds a bounded number of connections.

// hostileAnswer bounds how long the server may take to answer here: what
// is bounded answers in well under it, what is not never would.
const hostileAnswer = 5 * time.Second

// hostileConn is a client connection that writes a request as a test
// wishes and reads the answer.
type hostileConn struct {
	net.Conn
	r *bufio.Reader
}

// dialHostile connects to the server at base. A connection the server
// resets at once may fail here already, as a connection refused or reset.
func dialHostile(t *testing.T, base string) (*hostileConn, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	c, err := net.DialTimeout("tcp", host, hostileAnswer)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return &hostileConn{Conn: c, r: bufio.NewReader(c)}, nil
}

// mustDial is dialHostile for a connection that must be accepted.
func mustDial(t *testing.T, base string) *hostileConn {
	t.Helper()
	c, err := dialHostile(t, base)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// isTimeout reports whether err is a deadline passing: the server held the
// connection without answering or ending it.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// head writes a request's line and headers; target is a path.
func (c *hostileConn) head(method, target string, headers ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: kluis.test\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(c, b.String())
	return err
}

// answer reads one response, giving up after within.
func (c *hostileConn) answer(method string, within time.Duration) (*http.Response, error) {
	c.SetReadDeadline(time.Now().Add(within))
	res, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// ended reports whether the server ends the connection (a close or a
// reset) within within.
func (c *hostileConn) ended(within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := c.r.ReadByte()
	return err != nil && !isTimeout(err)
}

// trickle writes one byte of a chunked body every interval until stop is
// closed or a write fails.
func (c *hostileConn) trickle(interval time.Duration, stop <-chan struct{}) {
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

// bigN3Patch is a well-formed N3 Patch of about size bytes that inserts
// one triple per line.
func bigN3Patch(size int) string {
	var b strings.Builder
	b.WriteString("@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n_:p a solid:InsertDeletePatch; solid:inserts {\n")
	for i := 0; b.Len() < size-16; i++ {
		fmt.Fprintf(&b, "<#s%d> <#p> \"o%d\".\n", i, i)
	}
	b.WriteString("}.\n")
	return b.String()
}

// bigSPARQLUpdate is a well-formed SPARQL Update of about size bytes.
func bigSPARQLUpdate(size int) string {
	var b strings.Builder
	b.WriteString("INSERT DATA {\n")
	for i := 0; b.Len() < size-4; i++ {
		fmt.Fprintf(&b, "<#s%d> <#p> \"o%d\".\n", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// TestHostileAnonymousPatch (finding 3): anonymous 16 MiB N3 Patches and
// SPARQL Updates, six at once, are refused with 401 before a byte of them
// is parsed: each answered within hostileAnswer, and the server's peak
// memory grows by far less than one parse would take (about 440 MB each
// before the fix).
func TestHostileAnonymousPatch(t *testing.T) {
	const size = 16<<20 - 64<<10 // under the 16 MiB RDF limit, so it would be parsed
	n3, sparql := bigN3Patch(size), bigSPARQLUpdate(size)
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil)
			before := c.peakRSS(t)
			baseline, stored := c.goroutines(t), c.objects(t, "r/")
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline) }) // after the test's connections close
			t.Cleanup(func() { c.noObjectsLeft(t, stored) })
			var wg sync.WaitGroup
			for i := range 6 {
				body, ct := n3, "text/n3"
				if i%2 == 1 {
					body, ct = sparql, "application/sparql-update"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					conn := mustDial(t, c.url)
					start := time.Now()
					if err := conn.head("PATCH", "/hostile-patch.ttl", "Content-Type: "+ct, fmt.Sprintf("Content-Length: %d", len(body))); err != nil {
						t.Error(err)
						return
					}
					// The body is sent while the answer is awaited; the
					// server may close before taking it all.
					go io.WriteString(conn, body)
					res, err := conn.answer("PATCH", hostileAnswer)
					if err != nil {
						t.Errorf("%s PATCH: no answer within %s: %v", ct, hostileAnswer, err)
						return
					}
					if res.StatusCode != http.StatusUnauthorized || !res.Close {
						t.Errorf("%s PATCH: %d, close %v; want 401 with Connection: close", ct, res.StatusCode, res.Close)
					}
					t.Logf("%s: %d in %s", ct, res.StatusCode, time.Since(start))
				}()
			}
			wg.Wait()
			growth := c.peakRSS(t) - before
			t.Logf("peak RSS grew by %d MiB", growth>>20)
			if growth > 64<<20 {
				t.Errorf("peak RSS grew by %d MiB for six refused patches; want under 64 MiB", growth>>20)
			}
		})
	}
}

// TestHostileTricklingBodies (finding 4): 300 anonymous connections that
// trickle a body are all ended within seconds, not held: those past the
// per-client bound (100 by default) are reset at once, the others are
// refused with 401 and closed without their body being drained. A trickle
// to a resource anonymous agents may append to (a pod's inbox) is cut once
// -body-timeout has passed (408), while a steady upload there goes
// through.
func TestHostileTricklingBodies(t *testing.T) {
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil, "-body-timeout", "2s")
			signUp(t, c.url) // the pod alice/, whose inbox anyone may append to
			baseline := c.goroutines(t)
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline) }) // after the test's connections close

			const n = 300
			stop := make(chan struct{})
			defer close(stop)
			start := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status := 0 // reset before an answer
					conn, err := dialHostile(t, c.url)
					if err == nil {
						err = conn.head("PUT", fmt.Sprintf("/alice/trickle-%d.txt", i), "Content-Type: text/plain", "Transfer-Encoding: chunked")
					}
					if err == nil {
						go conn.trickle(200*time.Millisecond, stop)
						if res, err := conn.answer("PUT", 2*hostileAnswer); err == nil {
							status = res.StatusCode
						} else if isTimeout(err) {
							status = -1 // held
						}
					}
					if status > 0 && !conn.ended(2*hostileAnswer) {
						status = -2 // answered, then held
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			took := time.Since(start)
			t.Logf("%d trickling connections ended in %s: %v (0: reset at once)", n, took, statuses)
			if statuses[-1] > 0 || statuses[-2] > 0 {
				t.Errorf("%d connections were held without an answer, %d held after it", statuses[-1], statuses[-2])
			}
			if statuses[http.StatusUnauthorized] == 0 || statuses[http.StatusUnauthorized]+statuses[0] != n {
				t.Errorf("statuses %v; want 401 or a reset for each", statuses)
			}
			if statuses[0] < n-defaultMaxConnsPerClient {
				t.Errorf("%d connections reset, want at least the %d past the per-client bound", statuses[0], n-defaultMaxConnsPerClient)
			}

			// The inbox takes anonymous appends: a trickle there is read,
			// then cut when it falls below the minimum rate.
			conn := mustDial(t, c.url)
			if err := conn.head("POST", "/alice/inbox/", "Content-Type: text/plain", "Transfer-Encoding: chunked"); err != nil {
				t.Fatal(err)
			}
			go conn.trickle(200*time.Millisecond, stop)
			res, err := conn.answer("POST", 2*hostileAnswer)
			if err != nil {
				t.Fatalf("a trickle to the inbox was not cut within %s: %v", 2*hostileAnswer, err)
			}
			if res.StatusCode != http.StatusRequestTimeout || !conn.ended(hostileAnswer) {
				t.Errorf("a trickle to the inbox: %d; want 408 and the connection closed", res.StatusCode)
			}

			// A steady upload longer than -body-timeout is fine.
			conn = mustDial(t, c.url)
			if err := conn.head("POST", "/alice/inbox/", "Content-Type: text/plain", "Transfer-Encoding: chunked"); err != nil {
				t.Fatal(err)
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for sent := time.Now(); time.Since(sent) < 3*time.Second; <-tick.C {
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", 4<<10, strings.Repeat("s", 4<<10)); err != nil {
					t.Fatalf("a steady upload was cut: %v", err)
				}
			}
			io.WriteString(conn, "0\r\n\r\n")
			if res, err := conn.answer("POST", hostileAnswer); err != nil || res.StatusCode != http.StatusCreated {
				t.Errorf("a steady upload to the inbox: %v %v, want 201", res, err)
			}
		})
	}
}

// TestHostileConnectionsPerClient (finding 4): one client address holds at
// most -max-conns-per-client connections; the next ones are reset at
// once, and a closed one frees its place.
func TestHostileConnectionsPerClient(t *testing.T) {
	const limit = 20
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil, "-max-conns-per-client", fmt.Sprint(limit))
			baseline := c.goroutines(t)
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline) }) // after the test's connections close
			// get dials and asks for the readiness probe.
			get := func() (*hostileConn, *http.Response, error) {
				conn, err := dialHostile(t, c.url)
				if err != nil {
					return nil, nil, err
				}
				if err := conn.head("GET", "/.well-known/kluis/ready"); err != nil {
					return conn, nil, err
				}
				res, err := conn.answer("GET", hostileAnswer)
				return conn, res, err
			}
			var held []*hostileConn
			for i := range limit {
				conn, res, err := get()
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("connection %d of %d: %v %v", i+1, limit, res, err)
				}
				held = append(held, conn) // kept alive, idle
			}
			for i := range 2 * limit {
				start := time.Now()
				conn, res, err := get()
				switch {
				case err == nil:
					t.Fatalf("connection %d past the bound was answered %d", i+1, res.StatusCode)
				case isTimeout(err):
					t.Fatalf("connection %d past the bound was held, not reset", i+1)
				case time.Since(start) > hostileAnswer:
					t.Fatalf("connection %d past the bound took %s to be reset", i+1, time.Since(start))
				}
				if conn != nil {
					conn.Close()
				}
			}
			// Closing one frees a place, once the server has seen it close.
			held[0].Close()
			retry := time.NewTicker(20 * time.Millisecond)
			defer retry.Stop()
			for deadline := time.Now().Add(hostileAnswer); ; <-retry.C {
				conn, res, err := get()
				if err == nil && res.StatusCode == 200 {
					break
				}
				if conn != nil {
					conn.Close()
				}
				if time.Now().After(deadline) {
					t.Fatalf("no connection was served within %s of closing one: %v", hostileAnswer, err)
				}
			}
		})
	}
}
