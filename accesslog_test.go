package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/seal"
)

// getenvOf reads the variables of a child's environment, then the
// test's own.
func getenvOf(vars []string) func(string) string {
	return func(k string) string {
		for _, v := range vars {
			if name, value, ok := strings.Cut(v, "="); ok && name == k {
				return value
			}
		}
		return os.Getenv(k)
	}
}

// TestAccessLogTwoProcessesOnS3: two Kluis processes on one bucket each
// write the access log of the same pod in segments of their own; after a
// graceful stop of both nothing is lost, a read merges both newest first,
// and kluis log verify finds two intact chains, and finds it when a
// stored byte is changed.
func TestAccessLogTwoProcessesOnS3(t *testing.T) {
	ctx := context.Background()
	vars := append(s3TestEnv(t), "KLUIS_BASE_URL=http://kluis.test/", "KLUIS_LOG_LEVEL=warn")
	getenv := getenvOf(vars)
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "alice@example.org", "-pod", "alice"}, getenv, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	args := []string{"-addr", "127.0.0.1:0", "-log-level", "warn"}
	a := startKluis(t, vars, args...)
	b := startKluis(t, vars, args...)
	get := func(through *child, path string, want int) {
		t.Helper()
		res, err := http.Get(through.url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	const na, nb = 30, 20
	for i := range max(na, nb) {
		if i < na {
			get(a, "alice/profile/card", 200)
		}
		if i < nb {
			get(b, "alice/settings/prefs.ttl", 401)
		}
	}
	for _, c := range []*child{a, b} {
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := c.exitCode(t); code != 0 {
			t.Fatalf("exit code %d after SIGTERM; log:\n%s", code, c.stderr)
		}
	}

	// Read as the server does, from the bucket.
	cfg, ok, err := commandConfig(nil, getenv, io.Discard, nil)
	if !ok || err != nil {
		t.Fatal(err)
	}
	store, err := openBackend(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := accesslog.New(accesslog.Config{Backend: store, Keys: credential.PublishedKeys(store, seal.Sealer{})})
	defer l.Close(ctx)
	var all []accesslog.Stored
	for cursor := "first"; cursor != ""; {
		q := accesslog.Query{Limit: 7}
		if cursor != "first" {
			q.Cursor = cursor
		}
		page, next, err := l.Read(ctx, "alice", q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		cursor = next
	}
	if len(all) != na+nb {
		t.Fatalf("%d entries after a graceful stop of both, want %d", len(all), na+nb)
	}
	count := map[int]int{}
	for i, e := range all {
		count[e.Status]++
		if i > 0 && e.Time.After(all[i-1].Time) {
			t.Fatalf("entry %d is newer than the one before it", i)
		}
	}
	if count[200] != na || count[401] != nb {
		t.Fatalf("statuses %v", count)
	}

	out.Reset()
	if err := runCommand(ctx, []string{"log", "verify", "alice"}, getenv, nil, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "50 entries") || !strings.Contains(out.String(), "of 2 chains") || !strings.Contains(out.String(), "verified") {
		t.Fatalf("log verify: %v\n%s", err, out.String())
	}
	// Someone with write access to the bucket turns a refusal into a read.
	var key string
	for info, err := range store.List(ctx, accesslog.Prefix+"alice/") {
		if err != nil {
			t.Fatal(err)
		}
		for seg := range store.List(ctx, info.Key) {
			key = seg.Key
		}
	}
	rc, info, err := store.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	changed := regexp.MustCompile(`"status":(200|401)`).ReplaceAll(raw, []byte(`"status":403`))
	if bytes.Equal(changed, raw) {
		t.Fatalf("nothing to change in %s", key)
	}
	if _, err := store.Put(ctx, key, bytes.NewReader(changed), storage.PutOptions{ContentType: info.ContentType}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runCommand(ctx, []string{"log", "verify", "alice"}, getenv, nil, &out, &errOut); err == nil || !strings.Contains(out.String(), "BROKEN") {
		t.Fatalf("log verify after tampering: %v\n%s", err, out.String())
	}
}

// TestAccessLogMovesWithThePod: kluis pod export carries the access log
// and the public keys that signed it; after kluis pod import on another
// storage, under another name, whose server has keys of its own, the log
// reads and verifies (against the carried keys, as the report says); a
// byte changed in the archive is found.
func TestAccessLogMovesWithThePod(t *testing.T) {
	ctx := context.Background()
	one, two := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")
	env1 := env(map[string]string{"KLUIS_DATA": one, "KLUIS_BASE_URL": "https://one.example/", "KLUIS_LOG_LEVEL": "warn"})
	env2 := env(map[string]string{"KLUIS_DATA": two, "KLUIS_BASE_URL": "https://two.example/", "KLUIS_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "alice@example.org", "-pod", "alice"}, env1, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	// The log as server one writes it, signed with one's keys.
	b1, err := filesystem.New(one)
	if err != nil {
		t.Fatal(err)
	}
	l := accesslog.New(accesslog.Config{Backend: b1, Keys: credential.PublishedKeys(b1, seal.Sealer{})})
	for i := range 12 {
		l.Record("alice", accesslog.Entry{Agent: "https://org.example/#id", Resource: fmt.Sprintf("https://one.example/alice/%d", i), Method: "GET", Mode: "Read", Status: 200})
		if i%5 == 4 {
			if err := l.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b1.Close()

	var tarball bytes.Buffer
	if err := runCommand(ctx, []string{"pod", "export", "alice"}, env1, nil, &tarball, &errOut); err != nil {
		t.Fatalf("pod export: %v\n%s", err, errOut.String())
	}
	// Server two has signing keys of its own before the import.
	b2, err := filesystem.New(two)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if _, _, err := credential.PublishedKeys(b2, seal.Sealer{}).SignDetached(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := runCommand(ctx, []string{"pod", "import", "-name", "alice2"}, env2, bytes.NewReader(tarball.Bytes()), &out, &errOut); err != nil {
		t.Fatalf("pod import: %v\n%s", err, errOut.String())
	}
	l2 := accesslog.New(accesslog.Config{Backend: b2, Keys: credential.PublishedKeys(b2, seal.Sealer{})})
	defer l2.Close(ctx)
	page, _, err := l2.Read(ctx, "alice2", accesslog.Query{})
	if err != nil || len(page) != 12 || page[0].Resource != "https://one.example/alice/11" {
		t.Fatalf("the imported log: %d entries, %v", len(page), err)
	}
	rep, err := l2.Verify(ctx, "alice2")
	if err != nil || !rep.OK() || rep.Entries != 12 || rep.Carried != rep.Segments || rep.From != "alice" {
		t.Fatalf("verify after import: %+v %v", rep, err)
	}
	out.Reset()
	if err := runCommand(ctx, []string{"log", "verify", "alice2"}, env2, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "verified") {
		t.Fatalf("kluis log verify after import: %v\n%s", err, out.String())
	}

	// The same archive with one entry's status changed.
	changed := bytes.Replace(tarball.Bytes(), []byte(`"status":200`), []byte(`"status":403`), 1)
	if bytes.Equal(changed, tarball.Bytes()) {
		t.Fatal("no entry in the archive")
	}
	if err := runCommand(ctx, []string{"pod", "import", "-name", "alice3"}, env2, bytes.NewReader(changed), &out, &errOut); err != nil {
		t.Fatalf("pod import of the changed archive: %v\n%s", err, errOut.String())
	}
	if rep, err := l2.Verify(ctx, "alice3"); err != nil || rep.OK() {
		t.Fatalf("verify of a changed archive: %+v %v", rep, err)
	}
}
