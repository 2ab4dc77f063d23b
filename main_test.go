package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weconomics/kluis/server/mail/mailtest"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// waitLimit bounds every wait in these tests; nothing normally comes
// close to it.
const waitLimit = 15 * time.Second

// listeningLine is what run prints once it accepts connections.
func listeningLine() *regexp.Regexp {
	return regexp.MustCompile(`Kluis is listening on (http://\S+/)`)
}

// watcher is an io.Writer that lets a test wait for text to appear in it.
type watcher struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newWatcher() *watcher { return &watcher{changed: make(chan struct{})} }

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until re matches what was written and returns its
// submatches. It gives up when stop is closed or after waitLimit.
func (w *watcher) waitFor(t *testing.T, re *regexp.Regexp, stop <-chan struct{}) []string {
	t.Helper()
	timeout := time.NewTimer(waitLimit)
	defer timeout.Stop()
	for {
		w.mu.Lock()
		m := re.FindStringSubmatch(w.buf.String())
		changed := w.changed
		w.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-changed:
		case <-stop:
			t.Fatalf("stopped before %q appeared in:\n%s", re, w)
		case <-timeout.C:
			t.Fatalf("%q did not appear within %s in:\n%s", re, waitLimit, w)
		}
	}
}

// running is run going on in the test process.
type running struct {
	url            string
	stdout, stderr *watcher
	cancel         context.CancelFunc
	exited         chan struct{} // closed when run returns
	err            error         // run's result, once exited is closed
}

// startRun calls run with args and an empty environment, and waits for it
// to listen.
func startRun(t *testing.T, args ...string) *running {
	t.Helper()
	return startRunEnv(t, nil, args...)
}

// startRunEnv is startRun with the environment vars.
func startRunEnv(t *testing.T, vars map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: newWatcher(), stderr: newWatcher(), cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.err = run(ctx, withOpenRoot(args), env(vars), r.stdout, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})
	r.url = r.stdout.waitFor(t, listeningLine(), r.exited)[1]
	return r
}

// wait waits for run to return and gives its error.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.exited:
		return r.err
	case <-time.After(waitLimit):
		t.Fatalf("run did not return within %s; log:\n%s", waitLimit, r.stderr)
		return nil
	}
}

// request sends one request with a fresh connection and returns the
// status and body.
func request(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Close = true
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return res.StatusCode, string(data)
}

func TestRunServesAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	r := startRun(t, "-addr", "127.0.0.1:0", "-data", dir, "-shutdown-timeout", "10s")

	if status, _ := request(t, "PUT", r.url+"hello.txt", "text/plain", "hi there"); status != 201 {
		t.Fatalf("PUT: status %d, want 201", status)
	}
	if status, body := request(t, "GET", r.url+"hello.txt", "", ""); status != 200 || body != "hi there" {
		t.Fatalf("GET: %d %q, want 200 %q", status, body, "hi there")
	}
	if status, body := request(t, "GET", r.url+".well-known/kluis/ready", "", ""); status != 200 {
		t.Fatalf("ready: %d %q", status, body)
	}

	// A slow upload: the client waits for 100 Continue, which the server
	// sends only once the handler reads the body, so when it arrives the
	// request is surely in flight.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PUT", r.url+"slow.bin", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Expect", "100-continue")
	inFlight := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(context.Background(),
		&httptrace.ClientTrace{Got100Continue: func() { close(inFlight) }}))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: waitLimit}}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- result{status: res.StatusCode}
	}()
	select {
	case <-inFlight:
	case <-time.After(waitLimit):
		t.Fatal("no 100 Continue")
	}
	first := strings.Repeat("a", 64<<10)
	if _, err := io.WriteString(pw, first); err != nil {
		t.Fatal(err)
	}

	// SIGTERM, as main turns it into the context's cancellation.
	r.cancel()
	r.stderr.waitFor(t, regexp.MustCompile("listener closed"), r.exited)

	host := strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/")
	if conn, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		conn.Close()
		t.Error("a new connection was accepted after shutdown began")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dialing after shutdown began: %v, want connection refused", err)
	}
	select {
	case <-r.exited:
		t.Fatalf("run returned (%v) while a request was in flight", r.err)
	default:
	}

	second := strings.Repeat("b", 64<<10)
	if _, err := io.WriteString(pw, second); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case res := <-done:
		if res.err != nil || res.status != 201 {
			t.Fatalf("the in-flight PUT ended with %d, %v; want 201", res.status, res.err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the in-flight PUT did not finish")
	}
	if err := r.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(r.stderr.String(), "stopped") {
		t.Errorf("no stop in the log:\n%s", r.stderr)
	}

	// The upload that finished during shutdown is stored whole.
	store, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rc, info, err := store.Get(context.Background(), "r/slow.bin", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != first+second || info.Size != int64(len(first+second)) {
		t.Errorf("slow.bin holds %d bytes (err %v), want the %d sent", len(data), err, len(first+second))
	}
}

func TestRunPublicBaseURL(t *testing.T) {
	r := startRun(t, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-base-url", "https://pod.example/")
	if !strings.Contains(r.stdout.String(), "public base URL https://pod.example/") {
		t.Errorf("stdout = %q, want the base URL too", r.stdout)
	}
	req, err := http.NewRequest("PUT", r.url+"a.txt", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); loc != "https://pod.example/a.txt" {
		t.Errorf("Location = %q, want it under the base URL", loc)
	}
}

// TestRunPasswordResetMail: with KLUIS_SMTP_URL and KLUIS_MAIL_FROM, the
// process mails password reset links through that server, and a graceful
// shutdown waits for the mail under way.
func TestRunPasswordResetMail(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{User: "kluis", Password: "smtp-s3cr3t"})
	r := startRunEnv(t, map[string]string{"KLUIS_SMTP_URL": smtp.URL(), "KLUIS_MAIL_FROM": "Kluis <noreply@pods.example>"},
		"-addr", "127.0.0.1:0", "-data", t.TempDir())
	tok, _ := accountAPI(t, "POST", r.url+".account/account/", "", nil)["authorization"].(string)
	controls, _ := accountAPI(t, "GET", r.url+".account/", tok, nil)["controls"].(map[string]any)
	create, _ := controls["password"].(map[string]any)["create"].(string)
	accountAPI(t, "POST", create, tok, map[string]string{"email": "alice@example.org", "password": "long enough"})
	forgot, _ := controls["password"].(map[string]any)["forgot"].(string)
	if forgot != r.url+".account/login/password/forgot/" {
		t.Fatalf("controls.password.forgot = %q", forgot)
	}
	accountAPI(t, "POST", forgot, "", map[string]string{"email": "alice@example.org"})
	// The shutdown waits for the mail.
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	msgs := smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "alice@example.org" || !strings.Contains(msgs[0].Text, r.url+".account/login/password/reset/?rid=") {
		t.Fatalf("mails %+v", msgs)
	}
	logs := r.stderr.String()
	if !strings.Contains(logs, "password reset by e-mail: on") || !strings.Contains(logs, "password reset: mail sent") ||
		strings.Contains(logs, "smtp-s3cr3t") || strings.Contains(logs, "rid=") {
		t.Fatalf("log:\n%s", logs)
	}
}

func TestRunBadConfig(t *testing.T) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), []string{"-storage", "s3", "-log-level", "loud"},
		env(map[string]string{"KLUIS_S3_SECRET_KEY": "s3cr3t-v4lue"}), &stdout, &stderr)
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("run: %v, want a configError", err)
	}
	for _, w := range []string{"invalid configuration", "-log-level", "-s3-bucket", "-s3-endpoint"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t-v4lue") {
		t.Error("the error shows the secret key")
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"-h"}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	if !strings.Contains(stderr.String(), "-shutdown-timeout") {
		t.Errorf("no usage on stderr: %q", stderr.String())
	}
}

func TestRunCannotListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr strings.Builder
	err = run(context.Background(), []string{"-addr", ln.Addr().String(), "-data", t.TempDir()}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("run on a busy port: %v, want a listen error", err)
	}
}

// helperEnv marks the test binary as a child that runs main.
const helperEnv = "KLUIS_TEST_HELPER"

// openRootACL opens the storage to everyone, so that these tests of the
// process can write without authentication.
const openRootACL = "testdata/open-root.acl"

// withOpenRoot adds -root-acl with openRootACL to args.
func withOpenRoot(args []string) []string {
	return append([]string{"-root-acl", openRootACL}, args...)
}

// TestHelperProcess is not a test: it is main, run by the other tests in a
// child process (the test binary itself), with the arguments after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"kluis"}, args...)
	main()
	os.Exit(0)
}

// child is the real program running in a child process.
type child struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *watcher
	exited         chan struct{}
	// The hostile-input suite's view of the child (hostile_test.go): its
	// metrics URL, and its storage opened beside it.
	metrics string
	store   storage.Backend
}

// startChild starts main in a child process with args and env, with the
// storage open to everyone (openRootACL), and waits for it to listen
// unless it is expected to fail.
func startChild(t *testing.T, env []string, waitListening bool, args ...string) *child {
	t.Helper()
	return startProcess(t, env, waitListening, withOpenRoot(args)...)
}

// startKluis starts main in a child process exactly as configured by args
// and env, and waits for it to listen.
func startKluis(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	return startProcess(t, env, true, args...)
}

func startProcess(t *testing.T, env []string, waitListening bool, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{stdout: newWatcher(), stderr: newWatcher(), exited: make(chan struct{})}
	c.cmd = exec.Command(exe, append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	c.cmd.Env = append(os.Environ(), append(env, helperEnv+"=1")...)
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	if waitListening {
		c.url = c.stdout.waitFor(t, listeningLine(), c.exited)[1]
	}
	return c
}

// exitCode waits for the child to end and returns its exit code.
func (c *child) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(waitLimit):
		t.Fatalf("the child did not exit; log:\n%s", c.stderr)
	}
	return c.cmd.ProcessState.ExitCode()
}

func TestMainExitsNonZeroOnBadConfig(t *testing.T) {
	c := startChild(t, []string{"KLUIS_STORAGE=nfs"}, false, "-log-format", "xml")
	if code := c.exitCode(t); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	for _, w := range []string{"kluis: invalid configuration", "-storage", "-log-format"} {
		if !strings.Contains(c.stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, c.stderr)
		}
	}
}

func TestMainStopsOnSIGTERM(t *testing.T) {
	c := startChild(t, nil, true, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	if u, err := url.Parse(c.url); err != nil || u.Port() == "0" {
		t.Fatalf("listening URL %q", c.url)
	}
	if status, _ := request(t, "PUT", c.url+"x", "text/plain", "x"); status != 201 {
		t.Fatalf("PUT: %d", status)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.exitCode(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", code, c.stderr)
	}
	if !strings.Contains(c.stderr.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", c.stderr)
	}
}
