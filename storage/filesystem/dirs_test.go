package filesystem

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// TestKeptListingFollowsOtherProcess: a folder's listing is kept once the
// folder has been still for racyWindow (dirs.go), and any change to it
// through another backend on the same root, as another process makes it
// (a write of the same size, an append, a new object, a deletion, a new level), shows
// in the next listing.
func TestKeptListingFollowsOtherProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("folder identities are read on Linux only")
	}
	ctx := context.Background()
	root := t.TempDir()
	open := func() *Backend {
		b, err := New(root)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	a, other := open(), open()
	put := func(key, body string) {
		t.Helper()
		if _, err := other.Put(ctx, key, strings.NewReader(body), storage.PutOptions{ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() map[string]storage.Info {
		t.Helper()
		out := map[string]storage.Info{}
		for info, err := range a.List(ctx, "c/") {
			if err != nil {
				t.Fatal(err)
			}
			out[info.Key] = info
		}
		return out
	}
	kept := func() bool {
		a.dirs.mu.Lock()
		defer a.dirs.mu.Unlock()
		return len(a.dirs.m) == 1
	}
	put("c/a", "one")
	put("c/b", "two")
	steps := []struct {
		name   string
		change func()
		check  func(map[string]storage.Info) bool
	}{
		{"overwrite of the same size", func() { put("c/a", "uno") }, func(m map[string]storage.Info) bool {
			st, err := other.Stat(ctx, "c/a")
			return err == nil && m["c/a"].ETag == st.ETag
		}},
		{"append", func() {
			st, err := other.Stat(ctx, "c/a")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Append(ctx, "c/a", []byte("!"), storage.AppendOptions{IfMatch: st.ETag}); err != nil {
				t.Fatal(err)
			}
		}, func(m map[string]storage.Info) bool {
			st, err := other.Stat(ctx, "c/a")
			return err == nil && m["c/a"].ETag == st.ETag && m["c/a"].Size == 4
		}},
		{"new object", func() { put("c/new", "x") }, func(m map[string]storage.Info) bool { _, ok := m["c/new"]; return ok }},
		{"deletion", func() {
			if err := other.Delete(ctx, "c/b", storage.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, func(m map[string]storage.Info) bool { _, ok := m["c/b"]; return !ok }},
		{"new level", func() { put("c/sub/x", "y") }, func(m map[string]storage.Info) bool { return m["c/sub/"].IsPrefix }},
	}
	for _, s := range steps {
		// Still for longer than racyWindow: the next listing is kept.
		time.Sleep(racyWindow + 50*time.Millisecond)
		before := list()
		if !kept() {
			t.Fatalf("before %s: a listing of a still folder was not kept", s.name)
		}
		if again := list(); len(again) != len(before) {
			t.Fatalf("before %s: the kept listing has %d entries, the read one %d", s.name, len(again), len(before))
		}
		s.change()
		if got := list(); !s.check(got) {
			t.Fatalf("after %s through another backend: listed %v", s.name, got)
		}
	}
	// A folder that just changed is read afresh and not kept.
	a.dirs.mu.Lock()
	a.dirs.m = nil
	a.dirs.mu.Unlock()
	put("c/recent", "z")
	list()
	if kept() {
		t.Fatal("a listing of a folder changed within racyWindow was kept")
	}
}
