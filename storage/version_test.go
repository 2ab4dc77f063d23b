package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// TestVersionOf: the version of an object, through a backend's own
// Version (filesystem) or Stat's ETag (memory), changes when the object
// is replaced, and is ErrNotFound for no object.
func TestVersionOf(t *testing.T) {
	fs, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	for name, b := range map[string]storage.Backend{"memory": memory.New(), "filesystem": fs} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := storage.VersionOf(ctx, b, "r/a"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("no object: %v", err)
			}
			put := func(body string) string {
				t.Helper()
				if _, err := b.Put(ctx, "r/a", strings.NewReader(body), storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
				v, err := storage.VersionOf(ctx, b, "r/a")
				if err != nil || v == "" {
					t.Fatalf("VersionOf = %q, %v", v, err)
				}
				return v
			}
			v1 := put("one")
			if again, _ := storage.VersionOf(ctx, b, "r/a"); again != v1 {
				t.Errorf("unchanged object: %q then %q", v1, again)
			}
			if v2 := put("two"); v2 == v1 {
				t.Errorf("replaced object kept version %q", v1)
			}
			if _, isVersioner := b.(storage.Versioner); isVersioner != (name == "filesystem") {
				t.Errorf("%s: Versioner %v", name, isVersioner)
			}
		})
	}
}
