package ldp_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
			// An access log segment and an owner's retention.
			for _, k := range []string{"sys/access-log/alice/99970000/seg", "sys/access-log-settings/alice"} {
				if _, err := b.Put(ctx, k, strings.NewReader("{}"), storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			bobBefore := keysUnder(t, b, "r/bob/")

			if err := s.DeletePod(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if left := keysUnder(t, b, "r/alice/"); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			for _, k := range []string{"r/alice/", "sys/pods/alice", "sys/usage/alice", "sys/access-log-settings/alice", "sys/access-log/alice/99970000/seg"} {
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

// racingBackend lands one more object in the pod right after the first
// listing of its root, as a write that passed its checks before the pod
// was marked would.
type racingBackend struct {
	storage.Backend
	prefix, key string
	once        sync.Once
}

func (r *racingBackend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	seq := r.Backend.List(ctx, prefix)
	if prefix != r.prefix {
		return seq
	}
	return func(yield func(storage.Info, error) bool) {
		for info, err := range seq {
			if !yield(info, err) {
				return
			}
		}
		r.once.Do(func() {
			if _, err := r.Backend.Put(ctx, r.key, strings.NewReader("late"), storage.PutOptions{}); err != nil {
				panic(err)
			}
		})
	}
}

// TestDeletePodWhileWritten: a pod being deleted refuses writes, in this
// process at once and in another within the pod index's 10 s; a write
// that lands after the first listing is deleted too; and a deletion cut
// off after marking the pod goes on when run again.
func TestDeletePodWhileWritten(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	b := &racingBackend{Backend: mem, prefix: "r/alice/", key: "r/alice/late.txt"}
	c := &podClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newPodStore(t, b, c)
	other := newPodStore(t, b, c)
	for _, n := range []string{"alice", "carol"} {
		if _, err := s.CreatePod(ctx, n, ldp.PodOwner{}); err != nil {
			t.Fatal(err)
		}
	}
	write := func(st *ldp.Store, p ldp.Path) error {
		_, err := st.Put(ctx, p, ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"})
		return err
	}
	if err := write(other, "/alice/before.txt"); err != nil {
		t.Fatal(err)
	}

	if err := s.DeletePod(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if left := keysUnder(t, mem, "r/alice/"); len(left) != 0 {
		t.Fatalf("left behind, the late write included: %v", left)
	}

	// A deletion cut off after the mark: the record says Deleting. The
	// other process has carol's record cached from a write before.
	if err := write(other, "/carol/first.txt"); err != nil {
		t.Fatal(err)
	}
	rec := `{"name":"carol","owner":"https://pods.example/carol/profile/card#me","created":"2026-01-01T00:00:00Z","deleting":true}`
	if _, err := mem.Put(ctx, "sys/pods/carol", strings.NewReader(rec), storage.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	// Another process still believes its cached record for up to 10 s.
	if err := write(other, "/carol/still.txt"); err != nil {
		t.Fatalf("before the cached record is old: %v", err)
	}
	c.advance(11 * time.Second)
	var conflict *ldp.ConflictError
	for _, st := range []*ldp.Store{s, other} {
		if err := write(st, "/carol/notes.txt"); !errors.As(err, &conflict) {
			t.Errorf("PUT into a pod being deleted: %v", err)
		}
		if _, err := st.Post(ctx, "/carol/", ldp.PostRequest{WriteRequest: ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}}); !errors.As(err, &conflict) {
			t.Errorf("POST into a pod being deleted: %v", err)
		}
	}
	if err := s.DeletePod(ctx, "carol"); err != nil {
		t.Fatalf("running the deletion again: %v", err)
	}
	if left := keysUnder(t, mem, "r/carol/"); len(left) != 0 || exists(t, mem, "sys/pods/carol") {
		t.Fatalf("carol's pod is not gone: %v", left)
	}
}
