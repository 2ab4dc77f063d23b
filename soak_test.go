package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// soakFor turns the soak and fault run on: `go test -run TestSoak -soak 10m .`
// (bash .ci/soak runs it). It is a load run, not a timed test: it asserts
// what must hold whatever the machine's speed, and prints its figures.
var soakFor = flag.Duration("soak", 0, "run TestSoak for this long on each storage (0: skip)")

// soakStorages are the storages TestSoak runs on, one after the other.
var soakStorages = flag.String("soak-storage", "s3,fs", "storages of TestSoak: s3 (MinIO), fs (one folder), or both")

// soakService is a server process of the soak run that it can kill and
// start again on the same address: MinIO, nats-server or Kluis.
type soakService struct {
	name  string
	start func() *exec.Cmd
	cmd   *exec.Cmd
	done  chan struct{}
}

func (s *soakService) run(t *testing.T) {
	t.Helper()
	s.cmd = s.start()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.name, err)
	}
	done := make(chan struct{})
	s.done = done
	go func(c *exec.Cmd) { c.Wait(); close(done) }(s.cmd)
}

// kill stops the process with SIGKILL and waits for it to go.
func (s *soakService) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr, what string) {
	t.Helper()
	for range 300 {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not listen on %s", what, addr)
}

// soakLog records what the clients saw, for the checks at the end.
type soakLog struct {
	mu      sync.Mutex
	ops     map[string]int // "PUT 201" -> count
	serverE []soakFailure  // 5xx answers
	// faults are the windows of the injected faults; a 5xx inside one
	// (plus a grace period) is the fault's.
	faults [][2]time.Time
}

type soakFailure struct {
	at     time.Time
	status int
	what   string
}

func (l *soakLog) count(op string, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops[op+" "+strconv.Itoa(status)]++
	if status >= 500 {
		l.serverE = append(l.serverE, soakFailure{time.Now(), status, op})
	}
}

func (l *soakLog) fault(from, to time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, [2]time.Time{from, to})
}

// TestSoak: two Kluis processes on one storage (a MinIO bucket, or one
// folder), sharing events over NATS, under 64 clients that read, write,
// PATCH, delete and listen to notifications for -soak. During it one Kluis
// process is killed with SIGKILL and started again, MinIO is restarted
// (on s3), and NATS is stopped for 30 seconds. Afterwards every acknowledged write must read back with its
// acknowledged content, no 5xx may come outside the faults, and each
// process's RSS at the end must be within 20% of its RSS after warm-up.
func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("the soak run is off; bash .ci/soak (or go test -run TestSoak -soak 10m .) runs it")
	}
	for _, storage := range strings.Split(*soakStorages, ",") {
		t.Run(storage, func(t *testing.T) { soak(t, storage) })
	}
}

func soak(t *testing.T, storage string) {
	bin := filepath.Join(goBin(t))
	minioBin, natsBin := filepath.Join(bin, "minio"), filepath.Join(bin, "nats-server")
	for _, b := range []string{minioBin, natsBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s is missing: bash .ci/soak installs it", b)
		}
	}
	dir := t.TempDir()
	user, secret := "soak"+strconv.Itoa(rand.IntN(1e6)), "soak-secret-"+strconv.Itoa(rand.IntN(1e9))
	minioAddr, natsAddr := freeAddr(t), freeAddr(t)
	minio := &soakService{name: "MinIO", start: func() *exec.Cmd {
		c := exec.Command(minioBin, "server", "--quiet", "--address", minioAddr, "--console-address", freeAddr(t), filepath.Join(dir, "minio"))
		c.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+secret, "MINIO_BROWSER=off")
		return c
	}}
	natsHost, natsPort, _ := net.SplitHostPort(natsAddr)
	nats := &soakService{name: "nats-server", start: func() *exec.Cmd { return exec.Command(natsBin, "-a", natsHost, "-p", natsPort) }}
	nats.run(t)
	t.Cleanup(nats.kill)
	waitListening(t, natsAddr, "nats-server")
	env := []string{"KLUIS_NATS_URL=nats://" + natsAddr, "KLUIS_NATS_PREFIX=soak"}
	switch storage {
	case "s3":
		minio.run(t)
		t.Cleanup(minio.kill)
		waitListening(t, minioAddr, "MinIO")
		env = append(env, "KLUIS_STORAGE=s3", "KLUIS_S3_ENDPOINT="+minioAddr, "KLUIS_S3_BUCKET=soak", "KLUIS_S3_TLS=false",
			"KLUIS_S3_REGION=us-east-1", "KLUIS_S3_ACCESS_KEY="+user, "KLUIS_S3_SECRET_KEY="+secret)
	case "fs":
		env = append(env, "KLUIS_STORAGE=fs", "KLUIS_DATA="+filepath.Join(dir, "data"))
	default:
		t.Fatalf("-soak-storage: %q is not s3 or fs", storage)
	}
	const base = "http://kluis.test/"
	addrs := []string{freeAddr(t), freeAddr(t)}
	kluis := make([]*child, 2)
	startK := func(i int) {
		kluis[i] = startChild(t, env, true, "-addr", addrs[i], "-base-url", base, "-log-level", "warn", "-pod-mode", "none")
	}
	startK(0)
	startK(1)
	urls := []string{"http://" + addrs[0] + "/", "http://" + addrs[1] + "/"}

	log := &soakLog{ops: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	// Each client owns its keys, so the last acknowledged write of a key
	// is what it must hold at the end.
	type owned struct {
		content string // last acknowledged content; "" when deleted
		pending string // content of a write whose answer was lost
		triples []int  // acknowledged PATCH insertions of its document
		maybe   []int  // PATCH insertions whose answer was lost
	}
	const clients, keysPer = 64, 4
	state := make([][]owned, clients)
	var notified atomic.Int64
	var wg sync.WaitGroup
	for ci := range clients {
		state[ci] = make([]owned, keysPer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(ci), 7))
			if ci%16 == 0 {
				// A listener: a WebSocketChannel2023 subscription to its
				// own document, reconnected after a fault.
				go soakListen(ctx, client, urls, base, fmt.Sprintf("c%d/doc", ci), &notified)
			}
			for n := 0; ctx.Err() == nil; n++ {
				u := urls[r.IntN(2)]
				k := r.IntN(keysPer)
				path := fmt.Sprintf("c%d/k%d.txt", ci, k)
				st := &state[ci][k]
				var status int
				var err error
				switch op := r.IntN(10); {
				case op < 4: // read
					var body string
					status, body, err = soakDo(ctx, client, "GET", u+path, "", "")
					if err == nil && status == 200 && st.pending == "" && body != st.content {
						log.count("GET mismatch", 0)
						t.Errorf("GET %s: %q, want %q", path, body, st.content)
					}
					log.count("GET", status)
				case op < 7: // write
					content := fmt.Sprintf("client %d key %d write %d", ci, k, n)
					status, _, err = soakDo(ctx, client, "PUT", u+path, "text/plain", content)
					switch {
					case err != nil:
						st.pending = content
					case status == 201 || status == 204:
						st.content, st.pending = content, ""
					}
					log.count("PUT", status)
				case op < 9: // PATCH the client's Turtle document
					patch := fmt.Sprintf(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#t%d> <#n> %d. }.`, n, n)
					status, _, err = soakDo(ctx, client, "PATCH", u+fmt.Sprintf("c%d/doc", ci), "text/n3", patch)
					switch {
					case err != nil:
						state[ci][0].maybe = append(state[ci][0].maybe, n)
					case status == 201 || status == 204 || status == 205:
						state[ci][0].triples = append(state[ci][0].triples, n)
					}
					log.count("PATCH", status)
				default: // delete
					status, _, err = soakDo(ctx, client, "DELETE", u+path, "", "")
					switch {
					case err != nil:
						st.pending = "\x00deleted"
					case status == 204 || status == 404:
						st.content, st.pending = "", ""
					}
					log.count("DELETE", status)
				}
				if err != nil {
					log.count("error", 0)
					if ctx.Err() == nil {
						time.Sleep(50 * time.Millisecond) // a process or MinIO is down
					}
				}
			}
		}()
	}

	// Warm-up, then the faults at a quarter, half and three quarters.
	total := *soakFor
	start := time.Now()
	warm := min(30*time.Second, total/8)
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	wait := func(f float64) { sleep(time.Until(start.Add(time.Duration(float64(total) * f)))) }
	rssWarm := make([]int64, 2)
	sleep(warm)
	for i := range kluis {
		rssWarm[i] = kluis[i].rss(t)
	}
	wait(0.25)
	from := time.Now()
	kluis[0].cmd.Process.Kill()
	<-kluis[0].exited
	t.Logf("%s: killed Kluis A with SIGKILL", time.Now().Format(time.TimeOnly))
	startK(0)
	log.fault(from, time.Now())
	sleep(warm)
	rssWarm[0] = kluis[0].rss(t)

	if storage == "s3" {
		wait(0.5)
		from = time.Now()
		minio.kill()
		t.Logf("%s: stopped MinIO", time.Now().Format(time.TimeOnly))
		minio.run(t)
		waitListening(t, minioAddr, "MinIO")
		log.fault(from, time.Now())
	}

	wait(0.75)
	from = time.Now()
	nats.kill()
	t.Logf("%s: stopped NATS for 30 s", time.Now().Format(time.TimeOnly))
	sleep(30 * time.Second)
	nats.run(t)
	waitListening(t, natsAddr, "nats-server")
	log.fault(from, time.Now())

	wg.Wait()
	client.CloseIdleConnections()

	// Every acknowledged write reads back, through either process.
	lost := 0
	for ci := range clients {
		for k := range keysPer {
			st := state[ci][k]
			status, body, err := soakDo(context.Background(), client, "GET", urls[(ci+k)%2]+fmt.Sprintf("c%d/k%d.txt", ci, k), "", "")
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			got := body
			if status == 404 {
				got = ""
			} else if status != 200 {
				t.Errorf("c%d/k%d.txt: %d", ci, k, status)
				continue
			}
			ok := got == st.content || st.pending != "" && (got == st.pending || st.pending == "\x00deleted" && got == "")
			if !ok {
				lost++
				t.Errorf("c%d/k%d.txt holds %q, acknowledged %q", ci, k, got, st.content)
			}
		}
		if len(state[ci][0].triples) > 0 {
			status, body, err := soakDo(context.Background(), client, "GET", urls[ci%2]+fmt.Sprintf("c%d/doc", ci), "", "")
			if err != nil || status != 200 {
				t.Fatalf("reading c%d/doc: %d %v", ci, status, err)
			}
			for _, n := range state[ci][0].triples {
				if !strings.Contains(body, fmt.Sprintf("#t%d>", n)) {
					lost++
					t.Errorf("c%d/doc lacks the acknowledged insertion t%d", ci, n)
					break
				}
			}
		}
	}

	// No 5xx outside the faults (with 15 s of grace after each).
	unexplained := 0
	for _, f := range log.serverE {
		inFault := slices.ContainsFunc(log.faults, func(w [2]time.Time) bool {
			return !f.at.Before(w[0]) && f.at.Before(w[1].Add(15*time.Second))
		})
		if !inFault {
			unexplained++
			if unexplained <= 10 {
				t.Errorf("%s %d at %s, outside every fault", f.what, f.status, f.at.Format(time.TimeOnly))
			}
		}
	}

	// Memory: within 20% of what it was after warm-up.
	for i := range kluis {
		end := kluis[i].rss(t)
		t.Logf("Kluis %c: RSS after warm-up %d MiB, at the end %d MiB (%+.0f%%)", 'A'+i, rssWarm[i]>>20, end>>20, 100*float64(end-rssWarm[i])/float64(rssWarm[i]))
		if float64(end) > 1.2*float64(rssWarm[i]) {
			t.Errorf("Kluis %c: RSS grew from %d to %d MiB", 'A'+i, rssWarm[i]>>20, end>>20)
		}
	}
	keys := make([]string, 0, len(log.ops))
	for k := range log.ops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var summary strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&summary, "  %-14s %d\n", k, log.ops[k])
	}
	t.Logf("soak on %s: %s, %d clients; answers:\n%s  notifications heard: %d; 5xx: %d (outside faults: %d); acknowledged writes lost: %d",
		storage, total, clients, summary.String(), notified.Load(), len(log.serverE), unexplained, lost)
}

// soakDo sends one request and reads its answer.
func soakDo(ctx context.Context, c *http.Client, method, u, ct, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(b), err
}

// soakListen keeps a WebSocketChannel2023 subscription to path open,
// counting the notifications it hears, until ctx ends.
func soakListen(ctx context.Context, c *http.Client, urls []string, base, path string, heard *atomic.Int64) {
	for i := 0; ctx.Err() == nil; i++ {
		u := urls[i%2]
		sub := `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "WebSocketChannel2023", "topic": "` + base + path + `"}`
		req, _ := http.NewRequestWithContext(ctx, "POST", u+".notifications/WebSocketChannel2023/", strings.NewReader(sub))
		req.Header.Set("Content-Type", "application/ld+json")
		res, err := c.Do(req)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		var ch struct{ ReceiveFrom string }
		json.NewDecoder(res.Body).Decode(&ch)
		res.Body.Close()
		if res.StatusCode != 200 || ch.ReceiveFrom == "" {
			time.Sleep(time.Second)
			continue
		}
		ws := strings.Replace(ch.ReceiveFrom, "ws://kluis.test/", "ws://"+strings.TrimPrefix(u, "http://"), 1)
		conn, _, err := websocket.Dial(ctx, ws, nil)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				break
			}
			heard.Add(1)
		}
		conn.CloseNow()
	}
}

// goBin is where bash .ci/test and .ci/soak install MinIO and nats-server.
func goBin(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin")
}
