package account

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage/expiry"
	"github.com/weconomics/kluis/storage/s3"
	"github.com/weconomics/kluis/storage/s3/s3test"
)

// TestTwoSweepers: two processes (two stores, each with its own S3
// client, over one MinIO bucket and prefix) sweeping as the server's
// Maintain does: at each tick, only the one that takes the lease sweeps;
// when the holder dies holding it, the other takes it over once it runs
// out; every expired session is swept exactly once, none missed.
func TestTwoSweepers(t *testing.T) {
	cfg := s3test.Config(t)
	ctx := context.Background()
	c := newClock()
	procs := make([]*Store, 2)
	leases := make([]expiry.Lease, 2)
	for i := range procs {
		b, err := s3.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		procs[i] = newStore(b, c, func(o *Options) { o.SessionTTL = time.Hour })
		leases[i] = expiry.Lease{Backend: b, Key: "sys/sweep-lease", Holder: []string{"A", "B"}[i]}
	}
	t.Cleanup(func() { removeAll(t, procs[0].backend, "") })
	const hold = 54 * time.Minute

	swept := 0
	// tick runs one tick of the processes given, at once, and returns
	// who swept.
	tick := func(who ...int) []string {
		var mu sync.Mutex
		var sweepers []string
		active := 0
		var wg sync.WaitGroup
		for _, i := range who {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := leases[i].Acquire(ctx, c.Now(), hold)
				if err != nil || !ok {
					if err != nil {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				active++
				if active > 1 {
					t.Error("two sweepers at once")
				}
				mu.Unlock()
				n, err := procs[i].Sweep(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				active--
				swept += n
				sweepers = append(sweepers, leases[i].Holder)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return sweepers
	}

	// 20 accounts with two sessions each, expiring in an hour.
	ids := seedAccounts(t, procs[0], 20)
	// Nothing has expired; one of the two sweeps.
	if got := tick(0, 1); len(got) != 1 || swept != 0 {
		t.Fatalf("first tick: sweepers %v, swept %d", got, swept)
	}
	// Half an hour on, ten more sessions, and the lease is still held:
	// no one sweeps.
	c.Advance(30 * time.Minute)
	for _, id := range ids[:10] {
		if _, err := procs[1].NewSession(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	const sessions = 50
	if got := tick(0, 1); len(got) != 0 {
		t.Fatalf("tick under a held lease: sweepers %v", got)
	}
	// An hour after the start, the first 40 have expired: one sweeps them.
	c.Advance(30 * time.Minute)
	if got := tick(0, 1); len(got) != 1 || swept != 40 {
		t.Fatalf("second sweep: sweepers %v, swept %d, want 40", got, swept)
	}
	// Later, A takes the lease and dies before sweeping the other ten.
	c.Advance(time.Hour)
	if ok, err := leases[0].Acquire(ctx, c.Now(), hold); !ok || err != nil {
		t.Fatalf("A takes the lease: %v, %v", ok, err)
	}
	c.Advance(30 * time.Minute)
	if got := tick(1); len(got) != 0 {
		t.Fatalf("B swept under A's lease: %v", got)
	}
	c.Advance(hold - 30*time.Minute)
	if got := tick(1); len(got) != 1 || got[0] != "B" || swept != sessions {
		t.Fatalf("B taking over: sweepers %v, swept %d, want %d", got, swept, sessions)
	}
	if left := keysUnder(t, procs[0].backend, sessionPrefix); len(left) != 0 {
		t.Fatalf("sessions missed: %v", left)
	}
	// And nothing is swept twice: one more tick finds nothing.
	c.Advance(time.Hour)
	if got := tick(0, 1); len(got) != 1 || swept != sessions {
		t.Fatalf("a last sweep: sweepers %v, swept %d", got, swept)
	}
}
