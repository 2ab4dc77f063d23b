package filesystem

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// TestTornRecordIsCutOff: a record a crash cut short, or whose bytes are
// not those written, is not part of the object, which reads as it was
// before that Append; the next Append cuts it off and is read whole.
func TestTornRecordIsCutOff(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(file []byte, lastRecord int) []byte{
		"cut in its header": func(f []byte, at int) []byte { return f[:at+6] },
		"cut in its data":   func(f []byte, at int) []byte { return f[:len(f)-crcLen-3] },
		"cut in its sum":    func(f []byte, at int) []byte { return f[:len(f)-1] },
		"a byte changed": func(f []byte, at int) []byte {
			f[len(f)-crcLen-2] ^= 1
			return f
		},
		"never written": func(f []byte, at int) []byte {
			clear(f[at:])
			return f
		},
	}
	for name, tear := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := New(dir)
			if err != nil {
				t.Fatal(err)
			}
			info, err := b.Put(ctx, "pod/doc", strings.NewReader("first\n"), storage.PutOptions{ContentType: "text/turtle"})
			if err != nil {
				t.Fatal(err)
			}
			before, err := b.Append(ctx, "pod/doc", []byte("second\n"), storage.AppendOptions{IfMatch: info.ETag, Metadata: map[string]string{"n": "2"}})
			if err != nil {
				t.Fatal(err)
			}
			path := b.path("pod/doc")
			st, _ := os.Stat(path)
			lastAt := int(st.Size())
			if _, err := b.Append(ctx, "pod/doc", []byte("third\n"), storage.AppendOptions{IfMatch: before.ETag, Metadata: map[string]string{"n": "3"}}); err != nil {
				t.Fatal(err)
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tear(file, lastAt), 0o600); err != nil {
				t.Fatal(err)
			}
			// After the crash: a process that knows nothing of the file.
			b.Close()
			if b, err = New(dir); err != nil {
				t.Fatal(err)
			}
			defer b.Close()

			got, err := b.Stat(ctx, "pod/doc")
			if err != nil || got.ETag != before.ETag || got.Size != before.Size || got.Metadata["n"] != "2" {
				t.Fatalf("Stat after a torn record: %+v, %v; want %+v", got, err, before)
			}
			if body := read(t, b, "pod/doc"); body != "first\nsecond\n" {
				t.Fatalf("read %q after a torn record", body)
			}
			if _, err := b.Append(ctx, "pod/doc", []byte("again\n"), storage.AppendOptions{IfMatch: before.ETag}); err != nil {
				t.Fatalf("Append after a torn record: %v", err)
			}
			if body := read(t, b, "pod/doc"); body != "first\nsecond\nagain\n" {
				t.Fatalf("read %q after appending again", body)
			}
		})
	}
}

func read(t *testing.T, b *Backend, key string) string {
	t.Helper()
	rc, _, err := b.Get(context.Background(), key, storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestAppendToUnsized: an object stored before headers held the body's
// length cannot be appended to until written whole.
func TestAppendToUnsized(t *testing.T) {
	dir := t.TempDir()
	b, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	writeUnsized(t, dir+"/objects/pod/old", []byte("old body"))
	info, err := b.Stat(context.Background(), "pod/old")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Append(context.Background(), "pod/old", []byte("x"), storage.AppendOptions{IfMatch: info.ETag})
	if !errors.Is(err, storage.ErrAppendFull) {
		t.Fatalf("Append to a KLS1 object: %v, want ErrAppendFull", err)
	}
	if body := read(t, b, "pod/old"); body != "old body" {
		t.Fatalf("read %q after the refused Append", body)
	}
}

// TestKeptRecordsFollowOtherProcess: what a process keeps of a file's
// records (tails) follows the appends and the Puts of another process
// sharing the folder, and a record that process left torn.
func TestKeptRecordsFollowOtherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	other, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	info, err := a.Put(ctx, "pod/doc", strings.NewReader("one\n"), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info, err = a.Append(ctx, "pod/doc", []byte("two\n"), storage.AppendOptions{IfMatch: info.ETag}); err != nil {
		t.Fatal(err)
	}
	check := func(step, body string) {
		t.Helper()
		st, err := a.Stat(ctx, "pod/doc")
		want, _ := other.Stat(ctx, "pod/doc")
		if err != nil || st.ETag != want.ETag || st.Size != int64(len(body)) {
			t.Fatalf("%s: Stat %+v, %v; the other process reads %+v", step, st, err, want)
		}
		if got := read(t, a, "pod/doc"); got != body {
			t.Fatalf("%s: read %q, want %q", step, got, body)
		}
	}
	check("own append", "one\ntwo\n")
	for _, line := range []string{"three\n", "four\n"} {
		st, _ := other.Stat(ctx, "pod/doc")
		if _, err := other.Append(ctx, "pod/doc", []byte(line), storage.AppendOptions{IfMatch: st.ETag}); err != nil {
			t.Fatal(err)
		}
	}
	check("the other's appends", "one\ntwo\nthree\nfour\n")

	// The other process dies while writing a record: a part of one.
	st, _ := other.Stat(ctx, "pod/doc")
	r := record{etag: "torn", modified: time.Now(), size: 5}
	rec := r.encode(nil, []byte("five\n"))
	f, err := os.OpenFile(a.path("pod/doc"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec[:len(rec)-3])
	f.Close()
	check("a torn record", "one\ntwo\nthree\nfour\n")
	if _, err := a.Append(ctx, "pod/doc", []byte("six\n"), storage.AppendOptions{IfMatch: st.ETag}); err != nil {
		t.Fatal(err)
	}
	check("an append after the torn record", "one\ntwo\nthree\nfour\nsix\n")

	if _, err := other.Put(ctx, "pod/doc", strings.NewReader("whole\n"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	check("the other's Put", "whole\n")
}

// TestKeptRecordsNotTakenForAnotherFile: a file system reuses the inode
// numbers of deleted files, so another object can come to have the path
// and the inode of a file whose records a process keeps. What is kept
// answers only for the file it was read from.
func TestKeptRecordsNotTakenForAnotherFile(t *testing.T) {
	ctx := context.Background()
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	write := func(b *Backend, lines ...string) storage.Info {
		info, err := b.Put(ctx, "pod/doc", strings.NewReader("first\n"), storage.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if info, err = b.Append(ctx, "pod/doc", []byte(l), storage.AppendOptions{IfMatch: info.ETag}); err != nil {
				t.Fatal(err)
			}
		}
		return info
	}
	write(b, "a\n", "b\n", "c\n", "d\n")
	if _, err := b.Stat(ctx, "pod/doc"); err != nil { // kept now
		t.Fatal(err)
	}
	// Another object of the same layout, written into the same inode.
	want := write(other, "a\n", "B\n", "c\n", "D\n")
	data, err := os.ReadFile(other.path("pod/doc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.path("pod/doc"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.Stat(ctx, "pod/doc")
	if err != nil || got.ETag != want.ETag || got.Size != want.Size {
		t.Fatalf("Stat of the other object in the same inode: %+v, %v; want %+v", got, err, want)
	}
}
