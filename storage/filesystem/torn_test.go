package filesystem

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/storagetest"
)

// TestTornObjectIsNotFound: what a power loss can leave at the name of an
// object whose creating Put renamed before it synced (an empty file, a
// prefix, blocks never written) reads as no object, is not listed, is
// removed, and lets the name be created again.
func TestTornObjectIsNotFound(t *testing.T) {
	ctx := context.Background()
	body := strings.Repeat("<#it> <#is> <#whole> .\n", 400) // longer than readSize
	cases := map[string]func(whole []byte) []byte{
		"empty":                func([]byte) []byte { return nil },
		"part of the prefix":   func(w []byte) []byte { return w[:5] },
		"part of the header":   func(w []byte) []byte { return w[:prefixLen+3] },
		"part of the body":     func(w []byte) []byte { return w[:len(w)-100] },
		"one byte of the body": func(w []byte) []byte { return w[:len(w)-len(body)+1] },
		"blocks never written": func(w []byte) []byte { return make([]byte, len(w)) },
	}
	for name, cut := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := b.Put(ctx, "pod/doc", strings.NewReader(body), storage.PutOptions{IfNoneMatch: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Put(ctx, "pod/other", strings.NewReader("x"), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			path := b.path("pod/doc")
			whole, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, cut(whole), 0o600); err != nil {
				t.Fatal(err)
			}

			if _, err := b.Stat(ctx, "pod/doc"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Stat of a torn object: %v, want not found", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("the torn file is still there: %v", err)
			}
			if err := os.WriteFile(path, cut(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.Get(ctx, "pod/doc", storage.GetOptions{}); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Get of a torn object: %v, want not found", err)
			}
			if err := os.WriteFile(path, cut(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			var listed []string
			for info, err := range b.List(ctx, "pod/") {
				if err != nil {
					t.Fatal(err)
				}
				listed = append(listed, info.Key)
			}
			if len(listed) != 1 || listed[0] != "pod/other" {
				t.Fatalf("listed %v, want only pod/other", listed)
			}
			if err := os.WriteFile(path, cut(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, "pod/doc", storage.DeleteOptions{}); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Delete of a torn object: %v, want not found", err)
			}
			if err := os.WriteFile(path, cut(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Put(ctx, "pod/doc", strings.NewReader("again"), storage.PutOptions{IfNoneMatch: true}); err != nil {
				t.Fatalf("creating over a torn object: %v", err)
			}
			rc, _, err := b.Get(ctx, "pod/doc", storage.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "again" {
				t.Fatalf("read %q after creating again", got)
			}
		})
	}
}

// TestUnsizedHeaderIsRead: object files written before the header kept the
// body's length ("KLS1") are read as they were, whatever their length.
func TestUnsizedHeaderIsRead(t *testing.T) {
	dir := t.TempDir()
	b, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	body := bytes.Repeat([]byte("old "), 3000)
	writeUnsized(t, dir+"/objects/pod/old", body)
	rc, info, err := b.Get(context.Background(), "pod/old", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) || info.ETag != "etag-1" || info.ContentType != "text/turtle" ||
		info.Size != int64(len(body)) || info.Metadata["kind"] != "rdf" {
		t.Fatalf("read %d bytes, %+v", len(got), info)
	}
}

// writeUnsized writes at path an object file as Kluis wrote them before
// headers held the body's length ("KLS1"), with metadata kind=rdf.
func writeUnsized(t *testing.T, path string, body []byte) {
	t.Helper()
	var rest []byte
	rest = appendString(rest, "etag-1")
	rest = appendString(rest, "text/turtle")
	rest = binary.BigEndian.AppendUint64(rest, 1_700_000_000_000_000_000)
	rest = binary.AppendUvarint(rest, 1)
	rest = appendString(rest, "kind")
	rest = appendString(rest, "rdf")
	file := append([]byte(magicUnsized), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(file[4:], uint32(len(rest)))
	file = append(file, rest...)
	file = append(file, body...)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPutRecordsBodyLength: both ways Put writes a body (with its header
// in one write, and after room for the header) record its length.
func TestPutRecordsBodyLength(t *testing.T) {
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, n := range []int{0, 10, copySize - 1, copySize, 3*copySize + 7} {
		if _, err := b.Put(context.Background(), "k", bytes.NewReader(make([]byte, n)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(b.path("k"))
		if err != nil {
			t.Fatal(err)
		}
		hlen, err := headerLen(data)
		if err != nil {
			t.Fatal(err)
		}
		var h header
		if err := h.decode(data[:hlen]); err != nil {
			t.Fatal(err)
		}
		if !h.sized || h.size != int64(n) || len(data)-hlen != n {
			t.Fatalf("body of %d bytes: header says %d (sized %v), file holds %d", n, h.size, h.sized, len(data)-hlen)
		}
	}
}

// TestConformanceRenamingNewObjects runs the conformance suite with new
// objects written as a replacing Put writes them, a named temporary file
// renamed into place: what Put does where unnamed files cannot be made
// (create_linux.go), which on Linux they can.
func TestConformanceRenamingNewObjects(t *testing.T) {
	if runtime.GOOS == "linux" {
		b, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if !b.tmpfile {
			t.Error("unnamed files cannot be made in a test's temporary folder on Linux")
		}
		b.Close()
	}
	storagetest.Run(t, func(t testing.TB) storage.Backend {
		b, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		b.tmpfile = false
		return b
	})
}
