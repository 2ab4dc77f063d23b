package filesystem_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/storagetest"
)

func newBackend(t testing.TB) storage.Backend {
	b, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) { storagetest.Run(t, newBackend) }

func BenchmarkBackend(b *testing.B) { storagetest.Bench(b, newBackend) }

// BenchmarkDirect does what the backend does, straight on the file system,
// so the abstraction's overhead shows as a ratio: Get against os.ReadFile,
// Put against os.WriteFile, fsync and rename (the backend fsyncs too).
func BenchmarkDirect(b *testing.B) {
	dir := b.TempDir()
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		data := make([]byte, size.n)
		path := filepath.Join(dir, "object-"+size.name)
		b.Run("Put"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				tmp := path + ".tmp"
				f, err := os.Create(tmp)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				if err := os.Rename(tmp, path); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Get"+size.name, func(b *testing.B) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := os.ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPutInfoIsStored checks that what Put returns is what the file holds,
// for a body written with its header at once and for one longer than the
// copy buffer, written after room for the header: the same ETag, size and
// modification time, to the nanosecond.
func TestPutInfoIsStored(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	for name, size := range map[string]int{"small": 100, "large": 200 << 10} {
		data := bytes.Repeat([]byte{'k'}, size)
		put, err := b.Put(ctx, "obj/"+name, bytes.NewReader(data), storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := b.Stat(ctx, "obj/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if put.ETag != st.ETag || put.Size != st.Size || !put.Modified.Equal(st.Modified) || st.Metadata["a"] != "b" {
			t.Errorf("%s: Put said %+v, the file holds %+v", name, put, st)
		}
	}
}
