package ldp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// countingStats counts the Stats that reach the backend.
type countingStats struct {
	storage.Backend
	n atomic.Int64
}

func (c *countingStats) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.n.Add(1)
	return c.Backend.Stat(ctx, key)
}

// TestStatMemo: under WithStatMemo a Stat answers the next Stat of its key,
// found or missing, until the key is written or deleted through the Store's
// backend, and a failed conditional write forgets it too; without a memo
// every Stat reaches the backend.
func TestStatMemo(t *testing.T) {
	inner := &countingStats{Backend: memory.New()}
	b := memoBackend{inner}
	ctx := WithStatMemo(context.Background())
	stat := func(ctx context.Context, key string, reach int64, want error) storage.Info {
		t.Helper()
		before := inner.n.Load()
		info, err := b.Stat(ctx, key)
		if !errors.Is(err, want) {
			t.Fatalf("Stat %s: %v, want %v", key, err, want)
		}
		if got := inner.n.Load() - before; got != reach {
			t.Fatalf("Stat %s reached the backend %d times, want %d", key, got, reach)
		}
		return info
	}
	stat(ctx, "k", 1, storage.ErrNotFound)
	stat(ctx, "k", 0, storage.ErrNotFound) // remembered missing
	put, err := b.Put(ctx, "k", strings.NewReader("one"), storage.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := stat(ctx, "k", 1, nil); got.ETag != put.ETag {
		t.Fatalf("after the write: %q, want %q", got.ETag, put.ETag)
	}
	stat(ctx, "k", 0, nil)
	// Another writer (no memo) changes the key: the memo still answers,
	// and the conditional write on the remembered tag fails and forgets.
	if _, err := inner.Put(context.Background(), "k", strings.NewReader("two"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	stat(ctx, "k", 0, nil)
	if _, err := b.Put(ctx, "k", strings.NewReader("three"), storage.PutOptions{IfMatch: put.ETag}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("the write on a stale tag: %v", err)
	}
	if got := stat(ctx, "k", 1, nil); got.ETag == put.ETag {
		t.Fatal("after a failed write the memo still answers the old tag")
	}
	if err := b.Delete(ctx, "k", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	stat(ctx, "k", 1, storage.ErrNotFound)
	// Without a memo every Stat reaches the backend.
	stat(context.Background(), "k", 1, storage.ErrNotFound)
	stat(context.Background(), "k", 1, storage.ErrNotFound)
}

// keyStats counts the Stats that reach the backend, by key.
type keyStats struct {
	storage.Backend
	mu sync.Mutex
	n  map[string]int
}

func (c *keyStats) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
	return c.Backend.Stat(ctx, key)
}

// take returns the counts since the last take.
func (c *keyStats) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// aclVersion asks the version of the ACL of /c/new, as the server's access
// control does alongside Prefetch.
func aclVersion(s *Store) func(context.Context) {
	return func(ctx context.Context) { _, _ = storage.VersionOf(ctx, s.Backend(), "r/c/new.acl") }
}

// TestPrefetch checks that Prefetch asks what a PUT is about to ask, and no
// more: for a new resource its key, its ACL's, its sibling's and its
// container's, each once, none again during the PUT; for a resource that
// exists only its own and its ACL's; and that the answers it remembers
// still refuse a resource beside a container of the same name.
func TestPrefetch(t *testing.T) {
	inner := &keyStats{Backend: memory.New(), n: map[string]int{}}
	s, err := New(context.Background(), inner, Config{BaseURL: "http://pod.example/"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(ctx context.Context, p Path) error {
		_, err := s.Put(ctx, p, WriteRequest{Body: strings.NewReader("<#a> <#b> <#c> ."), ContentType: "text/turtle"})
		return err
	}
	if err := put(context.Background(), "/c/x"); err != nil {
		t.Fatal(err)
	}
	inner.take()

	ctx := WithStatMemo(context.Background())
	s.Prefetch(ctx, "/c/new", false, aclVersion(s))
	asked := inner.take()
	for _, key := range []string{"r/c/new", "r/c/new.acl", "r/c/new/", "r/c/"} {
		if asked[key] != 1 {
			t.Errorf("Prefetch of a new resource asked %s %d times, want once (%v)", key, asked[key], asked)
		}
	}
	if err := put(ctx, "/c/new"); err != nil {
		t.Fatal(err)
	}
	for key, n := range inner.take() {
		if asked[key] > 0 {
			t.Errorf("the PUT asked %s again, %d times", key, n)
		}
	}

	ctx = WithStatMemo(context.Background())
	s.Prefetch(ctx, "/c/new", false, aclVersion(s))
	if asked := inner.take(); len(asked) != 2 || asked["r/c/new"] != 1 || asked["r/c/new.acl"] != 1 {
		t.Errorf("Prefetch of a resource that exists asked %v, want it and its ACL once", asked)
	}

	if err := put(context.Background(), "/c/d/x"); err != nil {
		t.Fatal(err)
	}
	ctx = WithStatMemo(context.Background())
	s.Prefetch(ctx, "/c/d", false, nil)
	var conflict *ConflictError
	if err := put(ctx, "/c/d"); !errors.As(err, &conflict) {
		t.Errorf("PUT /c/d beside /c/d/: %v, want a ConflictError", err)
	}
}

// TestContainerExistsKept checks that, with Config.KeepVersion, whether the
// container a PUT creates in exists is asked of the keeper, not the
// storage, and that the keeper hears of the containers the Store creates.
func TestContainerExistsKept(t *testing.T) {
	inner := &keyStats{Backend: memory.New(), n: map[string]int{}}
	kept := map[string]bool{}
	var s *Store
	s, err := New(context.Background(), inner, Config{
		BaseURL: "http://pod.example/",
		KeepVersion: func(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error) {
			if e, ok := kept[key]; ok {
				if !e {
					return "", storage.ErrNotFound
				}
				return "kept", nil
			}
			v, err := read(ctx, key)
			kept[key] = err == nil
			return v, err
		},
		OnChange: func(c Change) {
			if c.Path.IsContainer() {
				delete(kept, c.Path.Key())
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	put := func(p Path) {
		t.Helper()
		if _, err := s.Put(context.Background(), p, WriteRequest{Body: strings.NewReader("<#a> <#b> <#c> ."), ContentType: "text/turtle"}); err != nil {
			t.Fatal(err)
		}
	}
	put("/c/x") // creates /c/, which the keeper hears of
	put("/c/y") // reads that it exists
	inner.take()
	put("/c/z")
	if n := inner.take()["r/c/"]; n != 0 {
		t.Errorf("the third PUT into /c/ asked the storage whether it exists %d times", n)
	}
	if !kept["r/c/"] {
		t.Error("the keeper does not know that /c/ exists")
	}
}

// pairedStats makes each Stat wait until another is in flight, or until
// 300 ms have passed, and tells how many were in flight at once, at most.
type pairedStats struct {
	storage.Backend
	mu             sync.Mutex
	waiting        chan struct{}
	inFlight, most int
}

func (c *pairedStats) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.mu.Lock()
	c.inFlight++
	c.most = max(c.most, c.inFlight)
	var met chan struct{}
	if c.waiting != nil {
		close(c.waiting)
		c.waiting = nil
	} else {
		met = make(chan struct{})
		c.waiting = met
	}
	c.mu.Unlock()
	if met != nil {
		select {
		case <-met:
		case <-time.After(300 * time.Millisecond):
			c.mu.Lock()
			if c.waiting == met {
				c.waiting = nil
			}
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	c.inFlight--
	c.mu.Unlock()
	return c.Backend.Stat(ctx, key)
}

func (c *pairedStats) reset() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	most := c.most
	c.most = 0
	return most
}

// TestPrefetchAsksSlowStorageAtOnce: once the storage has been found slow,
// Prefetch asks its questions two at a time (the resource and its ACL,
// then its sibling and its container), not one after another.
func TestPrefetchAsksSlowStorageAtOnce(t *testing.T) {
	inner := &pairedStats{Backend: memory.New()}
	s, err := New(context.Background(), inner, Config{BaseURL: "http://pod.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "/c/x", WriteRequest{Body: strings.NewReader("<#a> <#b> <#c> ."), ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	s.Prefetch(WithStatMemo(context.Background()), "/c/new", false, aclVersion(s))
	if s.pace.quick() {
		t.Fatal("a storage whose Stats took 300 ms each is still deemed quick")
	}
	inner.reset()
	s.Prefetch(WithStatMemo(context.Background()), "/c/new", false, aclVersion(s))
	if most := inner.reset(); most != 2 {
		t.Errorf("%d questions in flight at once, want 2", most)
	}
}
