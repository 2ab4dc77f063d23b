package ldp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// TestUsageBatchesRefuseAlone checks the batched counter (usage.go): 32
// writers of one pod in one Store, twice as many as its quota has room
// for, with announced lengths. Their holds are applied together in
// batches, and a hold refused in a batch must leave the others' as they
// were: exactly as many writes succeed as fit, the rest are QuotaErrors,
// and the counter equals a recount; then deletions from both Stores bring
// it back to what the pod held before.
func TestUsageBatchesRefuseAlone(t *testing.T) {
	const (
		size    = 10 << 10
		fit     = 16
		writers = 2 * fit
	)
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			bs := open(t)
			probe := podStores(t, bs, 0)
			before := checkUsageExact(t, probe[0])
			// A second pair of Stores with the quota: fit writes of size
			// bytes, and a little room that no write fits in.
			stores := [2]*ldp.Store{}
			for i, b := range bs {
				s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: before + fit*size + size/2})
				if err != nil {
					t.Fatal(err)
				}
				stores[i] = s
			}
			ok := make([]bool, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					_, err := stores[0].Put(ctx, ldp.Path(fmt.Sprintf("/alice/batch/%d", i)), ldp.WriteRequest{
						Body: bytes.NewReader(make([]byte, size)), ContentType: "application/octet-stream", ContentLength: size})
					switch {
					case err == nil:
						ok[i] = true
					case !isQuota(err):
						t.Errorf("writer %d: %v, want success or a QuotaError", i, err)
					}
				})
			}
			wg.Wait()
			n := 0
			for _, o := range ok {
				if o {
					n++
				}
			}
			if n != fit {
				t.Errorf("%d of %d writers stored, want exactly the %d that fit", n, writers, fit)
			}
			if used := checkUsageExact(t, stores[1], stores[0]); used != before+int64(n)*size {
				t.Errorf("the pod holds %d bytes, want %d", used, before+int64(n)*size)
			}
			for i := range writers {
				if ok[i] {
					wg.Go(func() {
						if err := stores[i%2].Delete(ctx, ldp.Path(fmt.Sprintf("/alice/batch/%d", i)), ldp.Conditions{}); err != nil {
							t.Errorf("delete %d: %v", i, err)
						}
					})
				}
			}
			wg.Wait()
			if used := checkUsageExact(t, stores[0], stores[1]); used != before {
				t.Errorf("after the deletions the pod holds %d bytes, want %d", used, before)
			}
		})
	}
}

// gatedUsage holds every write of a usage counter until open is closed.
type gatedUsage struct {
	storage.Backend
	open chan struct{}
}

func (g *gatedUsage) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if strings.HasPrefix(key, "sys/usage/") {
		select {
		case <-g.open:
		case <-ctx.Done():
			return storage.Info{}, ctx.Err()
		}
	}
	return g.Backend.Put(ctx, key, r, o)
}

// gatedPod is a Store with a pod "alice" over a memory backend (inner)
// behind gate, whose counter is stored and whose gate is then shut: the
// next write's count waits at it until the test closes gate.open. put
// writes a small resource into the pod.
func gatedPod(t *testing.T) (s *ldp.Store, gate *gatedUsage, inner storage.Backend, put func(name string) error) {
	t.Helper()
	ctx := context.Background()
	inner = memory.New()
	gate = &gatedUsage{Backend: inner, open: make(chan struct{})}
	close(gate.open)
	s, err := ldp.New(ctx, gate, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	put = func(name string) error {
		_, err := s.Put(ctx, ldp.Path("/alice/"+name), ldp.WriteRequest{Body: strings.NewReader("some bytes"), ContentType: "text/plain"})
		return err
	}
	if err := put("first"); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	gate.open = make(chan struct{})
	return s, gate, inner, put
}

// TestUsageCountAfterAnswer checks that a write into a pod without a quota
// answers without waiting for its pod's counter to be stored (usage.go),
// that Drain waits for it, and that it is then stored exactly: another
// Store on the backend (another process) reads the counter equal to a
// recount.
func TestUsageCountAfterAnswer(t *testing.T) {
	ctx := context.Background()
	s, gate, inner, put := gatedPod(t)
	done := make(chan error, 1)
	go func() { done <- put("second") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(gate.open)
		t.Fatal("the PUT waited for its pod's counter to be stored")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.Drain(short); err == nil {
		t.Error("Drain returned while a count could not be stored")
	}
	close(gate.open)
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := ldp.New(ctx, inner, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	checkUsageExact(t, other)
}

// TestUsageQuotaSetElsewhere checks the counter a write's quota check may
// read from what its Store last stored (usage.go): a quota set through
// the same Store refuses the next growing write at once, and one set
// through another Store (another process) refuses it soon after.
func TestUsageQuotaSetElsewhere(t *testing.T) {
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			stores := podStores(t, open(t), 0)
			grow := func(s *ldp.Store, i int) error {
				_, err := s.Put(ctx, ldp.Path(fmt.Sprintf("/alice/grow/%d", i)), ldp.WriteRequest{Body: strings.NewReader("more bytes"), ContentType: "text/plain"})
				return err
			}
			if err := grow(stores[0], 0); err != nil {
				t.Fatal(err)
			}
			used := checkUsageExact(t, stores[0], stores[1])

			// Through the same Store: at once.
			if _, err := stores[0].SetPodQuota(ctx, "alice", &used); err != nil {
				t.Fatal(err)
			}
			if err := grow(stores[0], 1); !isQuota(err) {
				t.Fatalf("a growing write after the quota was set: %v, want a QuotaError", err)
			}
			zero := int64(0)
			if _, err := stores[0].SetPodQuota(ctx, "alice", &zero); err != nil {
				t.Fatal(err)
			}
			if err := grow(stores[0], 2); err != nil {
				t.Fatalf("a write with the quota lifted: %v", err)
			}

			// Through the other Store: within usageKeptFor.
			used = checkUsageExact(t, stores[0], stores[1])
			if _, err := stores[1].SetPodQuota(ctx, "alice", &used); err != nil {
				t.Fatal(err)
			}
			for i := 3; ; i++ {
				err := grow(stores[0], i)
				if isQuota(err) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if i > 100 {
					t.Fatal("a quota set through another Store was not seen after 100 writes")
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Writes let in before it was seen were counted all the same.
			checkUsageExact(t, stores[0], stores[1])
		})
	}
}

// TestDeletePodWaitsForCounts checks that a pod's deletion waits for the
// counts its answered writes queued (usage.go) before it deletes the
// counter: a count stored after would make the counter of a deleted pod
// again, which a new pod of that name would then start from.
func TestDeletePodWaitsForCounts(t *testing.T) {
	ctx := context.Background()
	s, gate, inner, put := gatedPod(t)
	if err := put("second"); err != nil { // answered; its count waits at the gate
		t.Fatal(err)
	}
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeletePod(ctx, "alice") }()
	select {
	case err := <-deleted:
		t.Fatalf("the pod was deleted (%v) while a count of it was still to be stored", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate.open)
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Stat(ctx, "sys/usage/alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after the deletion the counter of the pod is there: %v", err)
	}
}

// usageWrites counts the writes of usage counters.
type usageWrites struct {
	storage.Backend
	n atomic.Int64
}

func (u *usageWrites) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if strings.HasPrefix(key, "sys/usage/") {
		u.n.Add(1)
	}
	return u.Backend.Put(ctx, key, r, o)
}

// TestUsageCountsLinger checks that the counts answered writes queue wait
// a little for each other (usageLinger) before their batch is stored: 40
// writes one after another, each answered before its count is stored,
// make a few writes of the counter, not one each. A read of the counter
// does not wait for the lingering counts to be stored apart: it joins
// their batch, and sees them all.
func TestUsageCountsLinger(t *testing.T) {
	ctx := context.Background()
	b := &usageWrites{Backend: memory.New()}
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	before := b.n.Load()
	const writes = 40
	for i := range writes {
		if _, err := s.Put(ctx, ldp.Path(fmt.Sprintf("/alice/linger/%d", i)), ldp.WriteRequest{Body: strings.NewReader("some bytes"), ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
		// Give the batch goroutine its chance to store each count
		// alone, as it would without the linger.
		runtime.Gosched()
	}
	u, err := s.PodUsage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RecountPodUsage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes != r.Bytes {
		t.Errorf("usage read right after the writes: %d, recount %d", u.Bytes, r.Bytes)
	}
	if n := b.n.Load() - before; n > writes/4 {
		t.Errorf("%d writes stored their counts with %d writes of the counter, want at most %d", writes, n, writes/4)
	}
}
