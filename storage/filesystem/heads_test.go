package filesystem_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// TestListSeesOtherProcessWrites: List keeps the headers it read (heads.go);
// a write of the same size through another backend on the same folder,
// as another process makes it, must still show in the next listing, and
// so must a deletion and a write back.
func TestListSeesOtherProcessWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *filesystem.Backend {
		b, err := filesystem.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	a, other := open(), open()
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
	put := func(b storage.Backend, body, ct string) storage.Info {
		t.Helper()
		info, err := b.Put(ctx, "c/doc", strings.NewReader(body), storage.PutOptions{ContentType: ct})
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	want := put(a, "one", "text/plain")
	for round := range 20 {
		if got := list()["c/doc"]; got.ETag != want.ETag || got.ContentType != want.ContentType || got.Size != want.Size {
			t.Fatalf("round %d: listed %+v, want the write %+v", round, got, want)
		}
		list() // kept now
		switch round % 3 {
		case 0, 1:
			want = put(other, []string{"two", "six"}[round%2], []string{"text/turtle", "text/plain"}[round%2])
		case 2:
			if err := other.Delete(ctx, "c/doc", storage.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, ok := list()["c/doc"]; ok {
				t.Fatalf("round %d: a deleted object is listed", round)
			}
			want = put(other, "ten", "text/n3")
		}
	}
}
