package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/weconomics/kluis/storage/filesystem"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashBodySize is the size of every object the crash test writes.
const crashBodySize = 256 << 10

// crashBody is version v of key: a first line naming both, then a pattern
// that depends on them, so any mix-up, truncation or splice shows.
func crashBody(key string, v int) []byte {
	b := make([]byte, crashBodySize)
	head := fmt.Sprintf("%s v%d\n", key, v)
	copy(b, head)
	seed := len(key)*131 + v*31
	for i := len(head); i < len(b); i++ {
		b[i] = byte((i*7 + seed + i/251) % 253)
	}
	return b
}

// ledger records what the writers attempted and what the server confirmed.
type ledger struct {
	mu        sync.Mutex
	attempted map[string][]int // key -> versions sent
	puts      int              // PUTs sent
	failed    int              // PUTs that got no answer
	confirmed map[string]int   // key -> last version answered 201/204
	progress  chan struct{}    // signalled on every confirmation
}

func (l *ledger) attempt(key string, v int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempted[key] = append(l.attempted[key], v)
	l.puts++
}

func (l *ledger) fail() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
}

func (l *ledger) confirm(key string, v int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.confirmed[key] = v
	select {
	case l.progress <- struct{}{}:
	default:
	}
}

func (l *ledger) confirmedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.confirmed)
}

// TestCrashLeavesNoPartialObject: killing the server with SIGKILL in the
// middle of a stream of PUTs leaves no partial object visible after
// restart.
func TestCrashLeavesNoPartialObject(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, nil, true, "-addr", "127.0.0.1:0", "-data", dir, "-log-level", "warn")
	l := &ledger{attempted: map[string][]int{}, confirmed: map[string]int{}, progress: make(chan struct{}, 1)}
	client := &http.Client{Transport: &http.Transport{}, Timeout: waitLimit}
	defer client.CloseIdleConnections()

	put := func(key string, v int, body io.Reader) (int, error) {
		req, err := http.NewRequest("PUT", c.url+key, body)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}

	// The slow keys exist whole before the stream starts.
	const slowWriters = 3
	for i := range slowWriters {
		key := fmt.Sprintf("slow-%d", i)
		l.attempt(key, 0)
		if status, err := put(key, 0, bytes.NewReader(crashBody(key, 0))); err != nil || status != 201 {
			t.Fatalf("seeding %s: %d, %v", key, status, err)
		}
		l.confirm(key, 0)
	}

	killed := make(chan struct{})
	var wg sync.WaitGroup

	// Slow writers: each sends half of a new version of its key and then
	// stalls, so the kill finds it mid-body.
	midway := make(chan struct{}, slowWriters)
	var pipes []*io.PipeWriter
	for i := range slowWriters {
		key := fmt.Sprintf("slow-%d", i)
		pr, pw := io.Pipe()
		pipes = append(pipes, pw)
		l.attempt(key, 1)
		wg.Add(2)
		go func() {
			defer wg.Done()
			if status, err := put(key, 1, pr); err == nil && (status == 201 || status == 204) {
				l.confirm(key, 1)
			}
		}()
		go func() {
			defer wg.Done()
			body := crashBody(key, 1)
			for off := 0; off < len(body)/2; off += 16 << 10 {
				if _, err := pw.Write(body[off : off+16<<10]); err != nil {
					return
				}
			}
			midway <- struct{}{}
			<-killed // never sends the rest
		}()
	}

	// Fast writers: whole bodies back to back, new keys and overwrites,
	// until the kill.
	const fastWriters, maxPuts = 2, 400
	for w := range fastWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPuts {
				key := fmt.Sprintf("fast-%d-%d", w, i)
				v := 0
				if i%3 == 2 { // overwrite an earlier key with a new version
					key, v = fmt.Sprintf("fast-%d-%d", w, i-2), 1
				}
				select {
				case <-killed:
					return
				default:
				}
				l.attempt(key, v)
				status, err := put(key, v, bytes.NewReader(crashBody(key, v)))
				if err != nil {
					l.fail()
					return // the server is gone
				}
				if status == 201 || status == 204 {
					l.confirm(key, v)
				}
			}
		}()
	}

	// Kill once the slow writers are midway and the fast ones have done
	// some work, while they keep going.
	for range slowWriters {
		select {
		case <-midway:
		case <-time.After(waitLimit):
			t.Fatal("the slow writers did not get midway")
		}
	}
	deadline := time.After(waitLimit)
	for l.confirmedCount() < slowWriters+40 {
		select {
		case <-l.progress:
		case <-deadline:
			t.Fatalf("only %d PUTs confirmed", l.confirmedCount())
		case <-c.exited:
			t.Fatalf("the server died early:\n%s", c.stderr)
		}
	}
	if err := c.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-c.exited
	close(killed)
	for _, pw := range pipes {
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	wg.Wait()

	// Restart on the same folder and read everything back.
	r := startRun(t, "-addr", "127.0.0.1:0", "-data", dir, "-log-level", "warn")
	reader := &http.Client{Timeout: waitLimit}
	defer reader.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	found := 0
	for key, versions := range l.attempted {
		res, err := reader.Get(r.url + key)
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Errorf("GET %s: a broken body after %d bytes: %v", key, len(body), err)
			continue
		}
		confirmed, wasConfirmed := l.confirmed[key]
		switch res.StatusCode {
		case 404:
			if wasConfirmed {
				t.Errorf("%s: version %d was confirmed, but the object is gone", key, confirmed)
			}
			continue
		case 200:
		default:
			t.Errorf("GET %s: status %d", key, res.StatusCode)
			continue
		}
		found++
		if res.ContentLength != crashBodySize || len(body) != crashBodySize {
			t.Errorf("%s: Content-Length %d, %d bytes read; want %d: a partial object", key,
				res.ContentLength, len(body), crashBodySize)
			continue
		}
		var v int
		if _, err := fmt.Sscanf(string(body[:bytes.IndexByte(body, '\n')+1]), key+" v%d\n", &v); err != nil {
			t.Errorf("%s: the body does not start with its key and version: %q", key, body[:32])
			continue
		}
		if !bytes.Equal(body, crashBody(key, v)) {
			t.Errorf("%s: version %d is not byte-exact", key, v)
			continue
		}
		if !slices.Contains(versions, v) {
			t.Errorf("%s: version %d was never sent", key, v)
		}
		if wasConfirmed && v < confirmed {
			t.Errorf("%s: version %d is back, though %d was confirmed", key, v, confirmed)
		}
		if strings.HasPrefix(key, "slow-") && v != 0 {
			t.Errorf("%s: version %d was never sent whole, yet it is stored", key, v)
		}
	}
	if found < slowWriters+40 {
		t.Errorf("only %d objects survived", found)
	}

	// Nothing else is visible: no temporary or half-written names.
	store, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for info, err := range store.List(context.Background(), "r/") {
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(info.Key, "r/")
		if _, ok := l.attempted[name]; !ok && name != ".acl" {
			t.Errorf("the root holds %q, which no one wrote", name)
		}
	}
	t.Logf("%d PUTs of %d keys, %d cut off by the kill; %d keys confirmed, %d found after the restart",
		l.puts, len(l.attempted), l.failed, len(l.confirmed), found)
}
