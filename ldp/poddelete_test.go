package ldp_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// keysUnder lists every object key below prefix, recursively.
func keysUnder(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	var out []string
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		if info.IsPrefix {
			if _, err := b.Stat(context.Background(), info.Key); err == nil {
				out = append(out, info.Key)
			}
			out = append(out, keysUnder(t, b, info.Key)...)
			continue
		}
		out = append(out, info.Key)
	}
	return out
}

func exists(t *testing.T, b storage.Backend, key string) bool {
	t.Helper()
	_, err := b.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestDeletePod: every object of the pod, its usage counter and its
// registry record go; other pods stay; the name can be taken again for a
// fresh pod.
func TestDeletePod(t *testing.T) {
	for _, be := range []struct {
		name string
		open func(t *testing.T) storage.Backend
	}{
		{"memory", func(*testing.T) storage.Backend { return memory.New() }},
		{"filesystem", func(t *testing.T) storage.Backend {
			b, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}},
	} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			b := be.open(t)
			var changes []ldp.Change
			s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true,
				OnChange: func(c ldp.Change) { changes = append(changes, c) }})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"alice", "bob"} {
				if _, err := s.CreatePod(ctx, n, ldp.PodOwner{}); err != nil {
					t.Fatal(err)
				}
			}
			seeded := len(keysUnder(t, b, "r/alice/"))
			for _, k := range []string{"r/alice/a/b/c/deep.txt", "r/alice/a/b/", "r/alice/a/", "r/alice/notes.txt"} {
				if _, err := b.Put(ctx, k, strings.NewReader("x"), storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.PodUsage(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			bobBefore := keysUnder(t, b, "r/bob/")

			if err := s.DeletePod(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if left := keysUnder(t, b, "r/alice/"); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			for _, k := range []string{"r/alice/", "sys/pods/alice", "sys/usage/alice"} {
				if exists(t, b, k) {
					t.Errorf("%s is still there", k)
				}
			}
			if got := keysUnder(t, b, "r/bob/"); len(got) != len(bobBefore) || !exists(t, b, "sys/pods/bob") {
				t.Errorf("bob's pod changed: %v", got)
			}
			if _, ok, err := s.Owner(ctx, "/alice/"); ok || err != nil {
				t.Errorf("Owner of the deleted pod: %v %v", ok, err)
			}
			if len(changes) == 0 || changes[len(changes)-1].Path != "/alice/" || changes[len(changes)-1].Type != ldp.Delete {
				t.Errorf("no Delete change for /alice/: %v", changes)
			}
			if err := s.DeletePod(ctx, "alice"); !errors.Is(err, ldp.ErrNoPod) {
				t.Errorf("deleting again: %v", err)
			}
			if err := s.DeletePod(ctx, "Alice!"); !errors.Is(err, ldp.ErrInvalidPodName) {
				t.Errorf("bad name: %v", err)
			}

			// The name is free again, for a pod as empty as a new one.
			if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{WebID: "https://other.example/#me"}); err != nil {
				t.Fatal(err)
			}
			if n := len(keysUnder(t, b, "r/alice/")); n != seeded {
				t.Errorf("the new pod holds %d objects, a fresh one %d", n, seeded)
			}
			if owner, ok, _ := s.Owner(ctx, "/alice/"); !ok || owner != "https://other.example/#me" {
				t.Errorf("owner of the new pod: %q", owner)
			}
			u, err := s.PodUsage(ctx, "alice")
			if err != nil || u.Bytes == 0 {
				t.Errorf("usage of the new pod: %+v %v", u, err)
			}
		})
	}
	noPods, err := ldp.New(context.Background(), memory.New(), ldp.Config{BaseURL: "https://pods.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := noPods.DeletePod(context.Background(), "alice"); !errors.Is(err, ldp.ErrPodsDisabled) {
		t.Errorf("without pods: %v", err)
	}
}
