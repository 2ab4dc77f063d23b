package expiry_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/storage/s3/s3test"
)

// backends are memory, the filesystem and, when configured, S3.
func backends(t *testing.T) map[string]func(t *testing.T) storage.Backend {
	return map[string]func(t *testing.T) storage.Backend{
		"memory": func(*testing.T) storage.Backend { return memory.New() },
		"filesystem": func(t *testing.T) storage.Backend {
			b, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
		"s3": func(t *testing.T) storage.Backend { return s3test.Open(t) },
	}
}

var t0 = time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)

// TestIndexSweep: a sweep visits the markers of the hours begun, oldest
// first, and no others; drops those done with, keeps the others while
// their hour lasts and drops them once it is over.
func TestIndexSweep(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			x := expiry.Index{Backend: open(t), Prefix: "sys/x/expiry/"}
			add := func(at time.Time, name string) {
				if err := x.Add(ctx, at, name); err != nil {
					t.Fatal(err)
				}
			}
			add(t0.Add(-3*time.Hour), "old.a")
			add(t0.Add(-3*time.Hour), "old.a") // again: no error
			add(t0.Add(-2*time.Hour), "moved.b")
			add(t0.Add(10*time.Minute), "now.c")
			add(t0.Add(30*time.Minute), "now.d")
			add(t0.Add(2*time.Hour), "later.e")
			var seen []string
			// Everything is "not done", except old.a.
			visit := func(_ context.Context, name string) (bool, error) {
				seen = append(seen, name)
				return name == "old.a", nil
			}
			if err := x.Sweep(ctx, t0, visit); err != nil {
				t.Fatal(err)
			}
			if want := []string{"old.a", "moved.b"}; !slices.Equal(seen[:2], want) {
				t.Fatalf("visited %v, want %v first", seen, want)
			}
			slices.Sort(seen[2:])
			if want := []string{"old.a", "moved.b", "now.c", "now.d"}; !slices.Equal(seen, want) {
				t.Fatalf("visited %v, want %v", seen, want)
			}
			// Past hours are empty now; the current hour's markers stay,
			// as do the later ones.
			seen = nil
			if err := x.Sweep(ctx, t0, visit); err != nil {
				t.Fatal(err)
			}
			slices.Sort(seen)
			if want := []string{"now.c", "now.d"}; !slices.Equal(seen, want) {
				t.Fatalf("second sweep visited %v, want %v", seen, want)
			}
			seen = nil
			if err := x.Sweep(ctx, t0.Add(3*time.Hour), visit); err != nil {
				t.Fatal(err)
			}
			slices.Sort(seen)
			if want := []string{"later.e", "now.c", "now.d"}; !slices.Equal(seen, want) {
				t.Fatalf("third sweep visited %v, want %v", seen, want)
			}
			// All hours are over: nothing is left, not even an empty
			// level for the next sweep to list.
			for info, err := range x.Backend.List(ctx, x.Prefix) {
				if err != nil {
					t.Fatal(err)
				}
				t.Errorf("left: %s", info.Key)
			}
		})
	}
}

// TestLease: of processes asking at once, exactly one gets the lease;
// no one else gets it while it is held; once its time is up, the next
// asker takes it over (its holder died).
func TestLease(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			leases := make([]expiry.Lease, 8)
			for i := range leases {
				leases[i] = expiry.Lease{Backend: b, Key: "sys/lease", Holder: string(rune('a' + i))}
			}
			var mu sync.Mutex
			var winners []string
			var wg sync.WaitGroup
			for _, l := range leases {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := l.Acquire(ctx, t0, time.Hour)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						winners = append(winners, l.Holder)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("winners %v, want one", winners)
			}
			holder, until, err := leases[0].Held(ctx)
			if err != nil || holder != winners[0] || !until.Equal(t0.Add(time.Hour)) {
				t.Fatalf("Held = %q, %v, %v", holder, until, err)
			}
			// Still held a moment before its time is up, by anyone.
			for _, l := range leases {
				if ok, err := l.Acquire(ctx, t0.Add(59*time.Minute), time.Hour); ok || err != nil {
					t.Fatalf("%s took a held lease: %v", l.Holder, err)
				}
			}
			// The holder died: at its end, the next asker takes it, and
			// only one.
			var got []string
			for _, l := range leases {
				ok, err := l.Acquire(ctx, t0.Add(time.Hour), time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got = append(got, l.Holder)
				}
			}
			if len(got) != 1 || got[0] != "a" {
				t.Fatalf("taken over by %v, want a alone", got)
			}
		})
	}
}
