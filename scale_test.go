package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	gobuild "go/build"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/metrics"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/s3"
	"github.com/weconomics/kluis/webid/account"
)

// The scale simulation (issue 19; figures in docs/measurements.md). Off
// unless asked for:
//
//	go test -run '^TestScale$' -v -timeout 2h . -scale 1000,10000 [-scale-backends fs,s3]
//
// For each size N and backend (the filesystem, and a MinIO it starts from
// GOPATH/bin/minio), it seeds a storage with N accounts (each with a
// login, a WebID and a pod), N pod registry records and 2N login sessions,
// written directly as records in the layout webid/account documents
// (fast: no password hashing, no HTTP), the sessions expiring evenly over
// the 14 days after the next two hours. Then it counts, with Kluis's
// storage metrics (server/metrics), the storage operations of:
//
//   - start: the real program (a child process) until its first answer,
//     with its time and resident memory once idle;
//   - a sign-up (the JSON API: account, password login, pod) and a login,
//     over HTTP to that process;
//   - the deletion of that account with its pod, over HTTP;
//   - the deletion of a pod by name (kluis pod delete: accounts.Admin);
//   - a sweep (account.Store.Sweep, what Maintain runs under its lease)
//     when nothing has expired, and an hour later, when the sessions of
//     that hour have.
//
// It prints a table and the growth of each figure from one size to the
// next.
var (
	scaleSizes    = flag.String("scale", "", "run the scale simulation for these comma-separated numbers of accounts (scale_test.go)")
	scaleBackends = flag.String("scale-backends", "fs,s3", "backends of the scale simulation: fs, s3 (a MinIO it starts)")
)

// scaleResult is what the simulation measured at one size on one backend.
type scaleResult struct {
	backend string
	n       int
	seed    time.Duration
	// Storage operations.
	sweepIdle, sweepDue, expired      int
	signUp, login, delAccount, delPod int
	startOps                          int
	firstAnswer                       time.Duration
	rssKiB                            int
}

func TestScale(t *testing.T) {
	if *scaleSizes == "" {
		t.Skip("the scale simulation runs with -scale N,N,... (scale_test.go)")
	}
	var sizes []int
	for _, s := range strings.Split(*scaleSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			t.Fatalf("-scale: %q is not a number of accounts (at least 10)", s)
		}
		sizes = append(sizes, n)
	}
	var results []scaleResult
	for _, be := range strings.Split(*scaleBackends, ",") {
		for _, n := range sizes {
			var r scaleResult
			switch be {
			case "fs":
				r = simulate(t, "fs", n, nil)
			case "s3":
				r = simulate(t, "s3", n, startMinIO(t))
			default:
				t.Fatalf("-scale-backends: unknown %q", be)
			}
			results = append(results, r)
			printScale(os.Stdout, results)
		}
	}
}

// printScale prints the table of results, and the growth of each figure
// from the size before on the same backend.
func printScale(w io.Writer, rs []scaleResult) {
	fmt.Fprintln(w, "\nbackend  N        seed     start(ops ms RSS-MiB)  sign-up  login  del-account  del-pod  sweep-idle  sweep-due(ops/expired)")
	for i, r := range rs {
		fmt.Fprintf(w, "%-8s %-8d %-8s %4d %5d %6.1f        %7d  %5d  %11d  %7d  %10d  %d/%d\n",
			r.backend, r.n, r.seed.Round(time.Second), r.startOps, r.firstAnswer.Milliseconds(), float64(r.rssKiB)/1024,
			r.signUp, r.login, r.delAccount, r.delPod, r.sweepIdle, r.sweepDue, r.expired)
		if i == 0 || rs[i-1].backend != r.backend {
			continue
		}
		p := rs[i-1]
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		fmt.Fprintf(w, "  growth x%s: start ops %s, first answer %s, RSS %s; sign-up %s, login %s, del-account %s, del-pod %s, sweep-idle %s, sweep-due per expired %s\n",
			ratio(float64(r.n), float64(p.n)),
			ratio(float64(r.startOps), float64(p.startOps)), ratio(float64(r.firstAnswer), float64(p.firstAnswer)),
			ratio(float64(r.rssKiB), float64(p.rssKiB)),
			ratio(float64(r.signUp), float64(p.signUp)), ratio(float64(r.login), float64(p.login)),
			ratio(float64(r.delAccount), float64(p.delAccount)), ratio(float64(r.delPod), float64(p.delPod)),
			ratio(float64(r.sweepIdle), float64(p.sweepIdle)),
			ratio(float64(r.sweepDue)/float64(max(r.expired, 1)), float64(p.sweepDue)/float64(max(p.expired, 1))))
	}
}

// minioServer is a MinIO the simulation started.
type minioServer struct {
	endpoint, access, secret string
}

// startMinIO starts MinIO (GOPATH/bin/minio, as .ci/services.sh installs
// it, or $KLUIS_SCALE_MINIO) on a free port with a fresh folder, and
// stops it when t ends.
func startMinIO(t *testing.T) *minioServer {
	t.Helper()
	bin := os.Getenv("KLUIS_SCALE_MINIO")
	if bin == "" {
		bin = filepath.Join(gobuild.Default.GOPATH, "bin", "minio")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no MinIO at %s (bash .ci/test installs it): %v", bin, err)
	}
	m := &minioServer{endpoint: scaleFreeAddr(t), access: "kluis-scale", secret: hex.EncodeToString(randomBytes(12))}
	cmd := exec.Command(bin, "server", "--quiet", "--address", m.endpoint, "--console-address", scaleFreeAddr(t), t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.access, "MINIO_ROOT_PASSWORD="+m.secret, "MINIO_BROWSER=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("tcp", m.endpoint); err == nil {
			c.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatal("MinIO did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// scaleFreeAddr returns a loopback address with a port free right now.
func scaleFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// simulate seeds one storage with n accounts and measures (see TestScale).
func simulate(t *testing.T, backend string, n int, mio *minioServer) scaleResult {
	ctx := context.Background()
	r := scaleResult{backend: backend, n: n}
	addr, metricsAddr := scaleFreeAddr(t), scaleFreeAddr(t)
	base := "http://" + addr + "/"
	env := []string{
		"KLUIS_ADDR=" + addr, "KLUIS_BASE_URL=" + base, "KLUIS_METRICS_ADDR=" + metricsAddr,
		"KLUIS_POD_MODE=path", "KLUIS_LOG_LEVEL=warn", "KLUIS_STORAGE=" + backend,
	}
	var raw storage.Backend
	switch backend {
	case "fs":
		dir := filepath.Join(t.TempDir(), "data")
		b, err := filesystem.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		raw = b
		env = append(env, "KLUIS_DATA="+dir)
	case "s3":
		prefix := fmt.Sprintf("scale-%d/", n)
		b, err := s3.New(ctx, s3.Config{Endpoint: mio.endpoint, Bucket: "kluis-scale", Prefix: prefix, Region: "us-east-1",
			PathStyle: true, AccessKey: mio.access, SecretKey: mio.secret})
		if err != nil {
			t.Fatal(err)
		}
		raw = b
		env = append(env, "KLUIS_S3_ENDPOINT="+mio.endpoint, "KLUIS_S3_BUCKET=kluis-scale", "KLUIS_S3_PREFIX="+prefix,
			"KLUIS_S3_REGION=us-east-1", "KLUIS_S3_TLS=false", "KLUIS_S3_PATH_STYLE=true",
			"KLUIS_S3_ACCESS_KEY="+mio.access, "KLUIS_S3_SECRET_KEY="+mio.secret)
	}
	now := time.Now().UTC()
	start := time.Now()
	seedScale(t, raw, base, n, now)
	r.seed = time.Since(start)
	t.Logf("%s N=%d: seeded in %s", backend, n, r.seed)
	// The seed leaves the kernel with the dirty pages of 3N files just
	// written; the first fsync of the start would wait for all of them
	// (ext4 commits its journal as a whole). A server does not start
	// right after writing 300,000 files, so they are flushed first.
	syscall.Sync()

	// Start: the real program, until its first answer; then idle. Three
	// times, for the median time (the first start also sweeps, under the
	// lease, which the next ones find held).
	metricsURL := "http://" + metricsAddr + metrics.Path
	var times []time.Duration
	var c *child
	for i := range 3 {
		if c != nil {
			c.cmd.Process.Kill()
			<-c.exited
		}
		started := time.Now()
		c = startKluis(t, env)
		for {
			res, err := http.Get(base)
			if err == nil {
				res.Body.Close()
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		times = append(times, time.Since(started))
		if ops := settle(t, metricsURL); i == 0 {
			r.startOps = ops
		}
	}
	slices.Sort(times)
	r.firstAnswer = times[1]
	r.rssKiB = rss(t, c.cmd.Process.Pid)

	// A sign-up, a login, and the deletion of the account made, over HTTP.
	ops := func(f func()) int {
		before := storageOps(t, metricsURL)
		f()
		return storageOps(t, metricsURL) - before
	}
	email, password := "scale@example.org", "a long enough password"
	var token string
	r.signUp = ops(func() { token = scaleSignUp(t, base, email, password, "scalesignup") })
	r.login = ops(func() {
		res := scaleCall(t, "POST", base+".account/login/password/", "", map[string]string{"email": email, "password": password})
		if res.status != 200 {
			t.Fatalf("login: %d %v", res.status, res.body)
		}
	})
	ctl := scaleCall(t, "GET", base+".account/", token, nil).body["controls"]
	r.delAccount = ops(func() {
		res := scaleCall(t, "DELETE", dig(t, ctl, "account", "delete"), token, map[string]string{"confirm": email})
		if res.status != 200 {
			t.Fatalf("deleting the account: %d %v", res.status, res.body)
		}
	})
	// Another account's pod, deleted by name as a hoster does.
	scaleSignUp(t, base, "scale2@example.org", password, "scalepod")
	m := metrics.New("scale")
	metered := m.Storage(raw, backend)
	admin, err := accounts.NewAdmin(ctx, accounts.AdminConfig{BaseURL: mustURL(t, base), Pods: true, Accounts: &account.Options{}}, metered, nil)
	if err != nil {
		t.Fatal(err)
	}
	local := func(f func()) int {
		before := handlerOps(t, m)
		f()
		return handlerOps(t, m) - before
	}
	r.delPod = local(func() {
		if err := admin.DeletePod(ctx, "scalepod"); err != nil {
			t.Fatal(err)
		}
	})
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited

	// Sweeps, on a clock the simulation sets: now, when nothing has
	// expired, and three hours on, when the first hour of sessions has.
	at := now
	accts := account.New(metered, account.Options{Now: func() time.Time { return at }})
	r.sweepIdle = local(func() {
		if _, err := accts.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	})
	at = now.Add(3 * time.Hour)
	r.sweepDue = local(func() {
		var err error
		if r.expired, err = accts.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%s N=%d: %+v", backend, n, r)
	return r
}

// seedScale writes n accounts, pods and 2n sessions (see TestScale).
func seedScale(t *testing.T, b storage.Backend, base string, n int, now time.Time) {
	t.Helper()
	ctx := context.Background()
	put := func(key string, v any) {
		var body []byte
		if v != nil {
			var err error
			if body, err = json.Marshal(v); err != nil {
				t.Error(err)
			}
		}
		if _, err := b.Put(ctx, key, strings.NewReader(string(body)), storage.PutOptions{ContentType: "application/json"}); err != nil {
			t.Errorf("seeding %s: %v", key, err)
		}
	}
	digest := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	// The sessions expire evenly over 14 days from two hours on.
	span := 14 * 24 * time.Hour
	expires := func(k int) time.Time {
		return now.Add(2*time.Hour + time.Duration(int64(span)/int64(2*n)*int64(k)))
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				name := fmt.Sprintf("p%07d", i)
				pod := base + name + "/"
				webID := pod + "profile/card#me"
				email := name + "@scale.example"
				put("sys/accounts/by-pod/"+digest(pod)+"/"+id, nil)
				put("sys/accounts/account/"+id, map[string]any{"id": id, "created": now, "email": email, "webIds": []string{webID}, "pods": []string{pod}})
				put("sys/accounts/by-email/"+digest(email), map[string]any{"account": id, "claimed": now})
				put("sys/pods/"+name, map[string]any{"name": name, "owner": webID, "created": now})
				for j := range 2 {
					d := digest(base64.RawURLEncoding.EncodeToString(randomBytes(32)))
					exp := expires(2*i + j).UTC()
					put("sys/accounts/by-account/"+id+"/session/"+d, nil)
					put("sys/accounts/expiry/"+exp.Format("2006-01-02T15")+"/session."+id+"."+d, nil)
					put("sys/accounts/session/"+d, map[string]any{"account": id, "created": now, "expires": exp})
				}
				if t.Failed() {
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	put("sys/accounts/layout", map[string]any{"indexed": now})
	if t.Failed() {
		t.FailNow()
	}
}

// settle waits until the process's storage operations stop growing (its
// start-up housekeeping is done) and returns how many it made.
func settle(t *testing.T, metricsURL string) int {
	t.Helper()
	last, same := -1, 0
	for same < 10 {
		time.Sleep(50 * time.Millisecond)
		n := storageOps(t, metricsURL)
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}

// storageOps scrapes the total of kluis_storage_operation_duration_seconds_count.
func storageOps(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return sumStorageOps(t, res.Body)
}

// handlerOps is storageOps of a Metrics in this process.
func handlerOps(t *testing.T, m *metrics.Metrics) int {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", metrics.Path, nil))
	return sumStorageOps(t, rec.Body)
}

func sumStorageOps(t *testing.T, r io.Reader) int {
	t.Helper()
	total := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "kluis_storage_operation_duration_seconds_count{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		total += int(v)
	}
	return total
}

// rss is the resident memory of process pid in KiB (Linux).
func rss(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Logf("no resident memory figure: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

type scaleReply struct {
	status int
	body   map[string]any
}

// scaleCall sends a JSON request, with a CSS-Account-Token when token is
// set, and decodes the JSON answer.
func scaleCall(t *testing.T, method, url, token string, body any) scaleReply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "CSS-Account-Token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := scaleReply{status: res.StatusCode}
	_ = json.NewDecoder(res.Body).Decode(&out.body)
	return out
}

// dig follows keys into nested JSON objects to a string.
func dig(t *testing.T, v any, keys ...string) string {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %v in %v", keys, v)
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("no string at %v", keys)
	}
	return s
}

// scaleSignUp signs up through the JSON API as the Community Solid
// Server's clients do: an account, its password login, its pod; and
// returns the session token.
func scaleSignUp(t *testing.T, base, email, password, pod string) string {
	t.Helper()
	res := scaleCall(t, "POST", base+".account/account/", "", nil)
	if res.status != 200 {
		t.Fatalf("creating an account: %d %v", res.status, res.body)
	}
	token := dig(t, res.body, "authorization")
	ctl := scaleCall(t, "GET", base+".account/", token, nil).body["controls"]
	if res := scaleCall(t, "POST", dig(t, ctl, "password", "create"), token, map[string]string{"email": email, "password": password}); res.status != 200 {
		t.Fatalf("password login: %d %v", res.status, res.body)
	}
	if res := scaleCall(t, "POST", dig(t, ctl, "account", "pod"), token, map[string]string{"name": pod}); res.status != 200 {
		t.Fatalf("pod: %d %v", res.status, res.body)
	}
	return token
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
