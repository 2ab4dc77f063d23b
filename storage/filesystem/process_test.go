package filesystem_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// TestReopen: metadata and ETags are stored with the object and survive a
// restart.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Put(context.Background(), "pod/card", strings.NewReader("<#me> a <#Person>."), storage.PutOptions{
		ContentType: "text/turtle", Metadata: map[string]string{"kind": "rdf"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	b, err = filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Stat(context.Background(), "pod/card")
	if err != nil {
		t.Fatal(err)
	}
	if got.ETag != want.ETag || got.ContentType != want.ContentType || got.Size != want.Size ||
		!got.Modified.Equal(want.Modified) || got.Metadata["kind"] != "rdf" {
		t.Fatalf("after reopening: %+v, want %+v", got, want)
	}
}

// TestCorruptHeader: a file that is not an object is reported, not served.
func TestCorruptHeader(t *testing.T) {
	dir := t.TempDir()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := os.WriteFile(dir+"/objects/stray", []byte("not an object"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get(context.Background(), "stray", storage.GetOptions{}); err == nil {
		t.Fatal("a file without a header was served")
	}
}

const helperEnv = "KLUIS_FS_HELPER_DIR"

// increment adds one to the counter at key by read-modify-write with
// If-Match, retrying on conflict.
func increment(b storage.Backend, key string) error {
	for {
		rc, info, err := b.Get(context.Background(), key, storage.GetOptions{})
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		v, err := strconv.Atoi(string(data))
		if err != nil {
			return err
		}
		_, err = b.Put(context.Background(), key, strings.NewReader(strconv.Itoa(v+1)), storage.PutOptions{IfMatch: info.ETag})
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			return err
		}
	}
}

const perProcess = 200

// TestHelperProcess is the second process of TestTwoProcesses.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("only run as a child of TestTwoProcesses")
	}
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range perProcess {
		if err := increment(b, "counter"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTwoProcesses: two processes sharing one folder do read-modify-write
// on one counter with If-Match, and no update is lost (the lock is flock on
// a shared file, not only a mutex).
func TestTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Put(context.Background(), "counter", strings.NewReader("0"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perProcess / 4 {
				if err := increment(b, "counter"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out.String())
	}
	rc, _, err := b.Get(context.Background(), "counter", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	if want := fmt.Sprint(2 * perProcess); string(data) != want {
		t.Fatalf("counter is %s, want %s: an update was lost between processes", data, want)
	}
}

// TestVersion: the cheap version changes with every write, also when the
// content stays the same, and a missing object or a level is not found.
func TestVersion(t *testing.T) {
	b, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if _, err := b.Version(ctx, "a/doc"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	seen := map[string]bool{}
	for range 5 {
		if _, err := b.Put(ctx, "a/doc", strings.NewReader("same"), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := b.Version(ctx, "a/doc")
		if err != nil {
			t.Fatal(err)
		}
		if seen[v] {
			t.Fatalf("version %q came back after a write", v)
		}
		seen[v] = true
	}
	if _, err := b.Version(ctx, "a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a level: %v", err)
	}
}
