package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// counting wraps a backend and counts its operations (a listing counts
// once, however many entries it yields).
type counting struct {
	storage.Backend
	ops atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	c.ops.Add(1)
	return c.Backend.Get(ctx, key, o)
}
func (c *counting) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.ops.Add(1)
	return c.Backend.Stat(ctx, key)
}
func (c *counting) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	c.ops.Add(1)
	return c.Backend.Put(ctx, key, r, o)
}
func (c *counting) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	c.ops.Add(1)
	return c.Backend.Delete(ctx, key, o)
}
func (c *counting) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	c.ops.Add(1)
	return c.Backend.List(ctx, prefix)
}

// seedAccounts stores n accounts with a login and a pod each, written as
// records (no password hashing), each with two sessions started the real
// way, and returns their ids.
func seedAccounts(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		r := record{ID: newID(), Created: s.now().UTC(), Email: fmt.Sprintf("p%d@example.org", i), Password: "x"}
		if _, err := s.writeJSON(ctx, accountPrefix+r.ID, r, storage.PutOptions{IfNoneMatch: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPod(ctx, r.ID, fmt.Sprintf("https://pods.example/p%d/", i), ""); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.NewSession(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		ids[i] = r.ID
	}
	return ids
}

// TestIndexedWork: deleting an account, forgetting a pod and sweeping when
// nothing expired cost the same number of storage operations with ten
// times as many accounts and sessions on the server.
func TestIndexedWork(t *testing.T) {
	ctx := context.Background()
	type cost struct{ deleteAccount, forgetPod, sweep int64 }
	measure := func(n int) cost {
		b := &counting{Backend: backends()[0].open(t)}
		c := newClock()
		s := newStore(b, c, nil)
		ids := seedAccounts(t, s, n)
		if _, err := s.Sweep(ctx); err != nil { // migrates (nothing to do) once
			t.Fatal(err)
		}
		var k cost
		b.ops.Store(0)
		if err := s.Delete(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}
		k.deleteAccount = b.ops.Swap(0)
		if err := s.ForgetPod(ctx, "https://pods.example/p2/"); err != nil {
			t.Fatal(err)
		}
		k.forgetPod = b.ops.Swap(0)
		if a, err := s.Get(ctx, ids[2]); err != nil || len(a.Pods) != 0 {
			t.Fatalf("after ForgetPod: %+v, %v", a, err)
		}
		b.ops.Store(0)
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v", n, err)
		}
		k.sweep = b.ops.Swap(0)
		// Only the deleted account's sessions are gone.
		if left := len(keysUnder(t, b, sessionPrefix)); left != 2*(n-1) {
			t.Fatalf("%d sessions left, want %d", left, 2*(n-1))
		}
		return k
	}
	small, large := measure(10), measure(100)
	if small != large {
		t.Fatalf("storage operations grow with the server: %+v at 10 accounts, %+v at 100", small, large)
	}
	t.Logf("operations: %+v", small)
}

func keysUnder(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		if !info.IsPrefix {
			keys = append(keys, info.Key)
		}
	}
	return keys
}

// TestMigrate: records stored before the indexes (no markers) are still
// found: by the slow way before the migration, through the indexes after
// it, which several processes may run at once, and only once.
func TestMigrate(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			b := be.open(t)
			c := newClock()
			s := newStore(b, c, func(o *Options) { o.SessionTTL = time.Hour })
			// The old layout: records only.
			old := func(pod string) (string, string) {
				r := record{ID: newID(), Created: c.Now().UTC(), Email: pod + "@example.org", Password: "x", Pods: []string{"https://pods.example/" + pod + "/"}}
				if _, err := s.writeJSON(ctx, accountPrefix+r.ID, r, storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
				tok := newToken()
				rec := sessionRecord{Account: r.ID, Created: c.Now().UTC(), Expires: c.Now().Add(time.Hour).UTC()}
				if _, err := s.writeJSON(ctx, sessionPrefix+digest(tok), rec, storage.PutOptions{}); err != nil {
					t.Fatal(err)
				}
				return r.ID, tok
			}
			a, aTok := old("a")
			bID, bTok := old("b")
			d, dTok := old("d")
			empty := record{ID: newID(), Created: c.Now().UTC()}
			if _, err := s.writeJSON(ctx, accountPrefix+empty.ID, empty, storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			// Before the migration, deleting an account and a pod still
			// find what they must.
			if err := s.Delete(ctx, a); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionAccount(ctx, aTok); !errors.Is(err, ErrNoSession) {
				t.Fatalf("session of the deleted account: %v", err)
			}
			if err := s.ForgetPod(ctx, "https://pods.example/b/"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, bID); len(got.Pods) != 0 {
				t.Fatalf("pod not forgotten: %v", got.Pods)
			}
			// Two processes migrate at once.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = newStore(b, c, nil).Migrate(ctx)
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			// After it, through the indexes only.
			s2 := newStore(b, c, nil)
			if ok, err := s2.isMigrated(ctx); !ok || err != nil {
				t.Fatalf("isMigrated = %v, %v", ok, err)
			}
			if got := keysUnder(t, b, byAccountPrefix+d+"/session/"); len(got) != 1 {
				t.Fatalf("d's session index: %v", got)
			}
			if err := s2.ForgetPod(ctx, "https://pods.example/d/"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s2.Get(ctx, d); len(got.Pods) != 0 {
				t.Fatalf("pod not forgotten through the index: %v", got.Pods)
			}
			if _, err := s2.SessionAccount(ctx, bTok); err != nil {
				t.Fatalf("b's session: %v", err)
			}
			if err := s2.Delete(ctx, d); err != nil {
				t.Fatal(err)
			}
			if _, err := s2.SessionAccount(ctx, dTok); !errors.Is(err, ErrNoSession) {
				t.Fatalf("session of the deleted account: %v", err)
			}
			// A day on, b's old session and the old empty account are
			// swept through the expiry index.
			c.Advance(25 * time.Hour)
			if n, err := s2.Sweep(ctx); err != nil || n != 2 {
				t.Fatalf("Sweep = %d, %v; want b's session and the empty account", n, err)
			}
			if _, err := s2.Get(ctx, empty.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the empty account: %v", err)
			}
			if got := keysUnder(t, b, sessionPrefix); len(got) != 0 {
				t.Fatalf("sessions left: %v", got)
			}
		})
	}
}

// TestAddPodRefusedLeavesNoMarker: a pod the account may not add leaves
// no marker in the pod's index.
func TestAddPodRefusedLeavesNoMarker(t *testing.T) {
	ctx := context.Background()
	b := backends()[0].open(t)
	s := newStore(b, newClock(), func(o *Options) { o.MaxPods = 1 })
	a, err := s.Register(ctx, "a@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPod(ctx, a.ID, "https://pods.example/one/", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPod(ctx, a.ID, "https://pods.example/two/", ""); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a second pod: %v, want ErrTooMany", err)
	}
	if got := keysUnder(t, b, byPodPrefix+digest("https://pods.example/two/")+"/"); len(got) != 0 {
		t.Fatalf("markers of the refused pod: %v", got)
	}
	if got := keysUnder(t, b, byPodPrefix+digest("https://pods.example/one/")+"/"); len(got) != 1 {
		t.Fatalf("markers of the pod: %v", got)
	}
}
