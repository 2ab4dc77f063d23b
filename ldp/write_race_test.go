package ldp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/storage/s3"
	"github.com/weconomics/kluis/storage/s3/s3test"
)

// sharedBackends open two handles on one store, as two Kluis processes
// have: one memory store (one process), two filesystem backends on one
// folder (flock between them), and two S3 clients on one prefix of MinIO
// (skipped without KLUIS_S3_ENDPOINT, failed with CI=true).
func sharedBackends() map[string]func(t *testing.T) [2]storage.Backend {
	return map[string]func(t *testing.T) [2]storage.Backend{
		"memory": func(*testing.T) [2]storage.Backend {
			b := memory.New()
			return [2]storage.Backend{b, b}
		},
		"filesystem": func(t *testing.T) [2]storage.Backend {
			dir := filepath.Join(t.TempDir(), "data")
			var out [2]storage.Backend
			for i := range out {
				b, err := filesystem.New(dir)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				out[i] = b
			}
			return out
		},
		"minio": func(t *testing.T) [2]storage.Backend {
			cfg := s3test.Config(t)
			var out [2]storage.Backend
			for i := range out {
				b, err := s3.New(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = b
			}
			return out
		},
	}
}

// podStores makes the pod alice with the given quota and returns two
// Stores on the two handles.
func podStores(t *testing.T, bs [2]storage.Backend, quota int64) [2]*ldp.Store {
	t.Helper()
	ctx := context.Background()
	var out [2]*ldp.Store
	for i, b := range bs {
		s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: quota})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
	}
	if _, err := out[0].CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkUsageExact fails t unless the pod's counter, read through s, equals
// a recount, once s and the other Stores writing the pod (processes) have
// stored the counts their answered writes queued (ldp/usage.go).
func checkUsageExact(t *testing.T, s *ldp.Store, others ...*ldp.Store) int64 {
	t.Helper()
	ctx := context.Background()
	for _, o := range append(others, s) {
		if err := o.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.PodUsage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RecountPodUsage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes != r.Bytes || u.Bytes < 0 {
		t.Errorf("usage counter %d, recount %d", u.Bytes, r.Bytes)
	}
	return r.Bytes
}

// TestQuotaConcurrentOverwrites is finding #7 of issue 13: a large PUT,
// then parallel small overwrites of it, round after round, through two
// Stores on one backend. Each overwrite must subtract the size it really
// replaced, so the counter stays equal to a recount (before, every
// overwrite subtracted the large size and the counter went negative);
// and of parallel PUTs creating one resource exactly one is 201 Created.
func TestQuotaConcurrentOverwrites(t *testing.T) {
	const (
		quota   = 4 << 20
		large   = 1 << 20
		writers = 8
		rounds  = 6
	)
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			stores := podStores(t, open(t), quota)
			for round := range rounds {
				p := ldp.Path(fmt.Sprintf("/alice/race/%d.bin", round))
				if _, err := stores[0].Put(ctx, p, ldp.WriteRequest{Body: bytes.NewReader(make([]byte, large)),
					ContentType: "application/octet-stream", ContentLength: large}); err != nil {
					t.Fatalf("round %d, large PUT: %v", round, err)
				}
				created := make([]bool, writers)
				fresh := p + ".new"
				var wg sync.WaitGroup
				for i := range writers {
					wg.Go(func() {
						s := stores[i%2]
						if _, err := s.Put(ctx, p, ldp.WriteRequest{Body: bytes.NewReader([]byte{'x'}),
							ContentType: "application/octet-stream", ContentLength: 1}); err != nil {
							t.Errorf("overwrite %d: %v", i, err)
						}
						// A body of unknown length, as a chunked upload.
						res, err := s.Put(ctx, fresh, ldp.WriteRequest{Body: io.MultiReader(bytes.NewReader([]byte{'y'})),
							ContentType: "application/octet-stream"})
						if err != nil {
							t.Errorf("create %d: %v", i, err)
						}
						created[i] = res.Created
					})
				}
				wg.Wait()
				n := 0
				for _, c := range created {
					if c {
						n++
					}
				}
				if n != 1 {
					t.Errorf("round %d: %d of %d parallel PUTs of one new resource were Created, want 1", round, n, writers)
				}
				if used := checkUsageExact(t, stores[1], stores[0]); used > quota {
					t.Fatalf("round %d: the pod holds %d bytes, over its quota of %d", round, used, quota)
				}
			}
		})
	}
}

// TestQuotaParallelWritesCannotPass checks that writers in parallel, each
// of whom would fit alone, cannot together take a pod past its quota:
// each takes its room in the counter before it writes. Half of them
// announce their length, half stream it, and half write through RDF
// (PATCH), across two Stores on one backend.
func TestQuotaParallelWritesCannotPass(t *testing.T) {
	const (
		quota   = 1 << 20
		size    = 300 << 10
		writers = 8
	)
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			stores := podStores(t, open(t), quota)
			before := checkUsageExact(t, stores[0], stores[1])
			fit := (quota - before) / size
			ok := make([]bool, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					s := stores[i%2]
					req := ldp.WriteRequest{Body: bytes.NewReader(make([]byte, size)), ContentType: "application/octet-stream"}
					if i%4 < 2 {
						req.ContentLength = size
					}
					var err error
					if i%4 == 3 {
						_, err = s.Post(ctx, "/alice/", ldp.PostRequest{WriteRequest: req})
					} else {
						_, err = s.Put(ctx, ldp.Path(fmt.Sprintf("/alice/big/%d", i)), req)
					}
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
			used := checkUsageExact(t, stores[0], stores[1])
			if used > quota || int64(n) > fit {
				t.Errorf("%d writers of %d bytes stored, the pod holds %d bytes; quota %d leaves room for %d", n, size, used, quota, fit)
			}
			if n == 0 {
				t.Error("no writer stored anything")
			}
		})
	}
}

// TestQuotaConcurrentPatches runs parallel PATCHes that grow one
// document through two Stores, and checks the counter against a recount.
func TestQuotaConcurrentPatches(t *testing.T) {
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			stores := podStores(t, open(t), 1<<20)
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					s := stores[i%2]
					patch, err := s.ParsePatch(context.Background(), "/alice/doc", bytes.NewReader([]byte(fmt.Sprintf(
						`INSERT DATA { <#i%d> <http://example.org/n> %d . }`, i, i))), "application/sparql-update")
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := s.Patch(ctx, "/alice/doc", patch, ldp.Conditions{}); err != nil {
						t.Errorf("patch %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			checkUsageExact(t, stores[0], stores[1])
		})
	}
}

func isQuota(err error) bool { return errors.Is(err, ldp.ErrQuotaExceeded) }

// interloper is a backend on which another writer, through its own Store,
// changes a key just before the first write to it: the race of finding #7
// made deterministic.
type interloper struct {
	storage.Backend
	key    string
	write  func()
	mu     sync.Mutex
	called bool
}

func (b *interloper) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	b.mu.Lock()
	first := key == b.key && !b.called
	b.called = b.called || first
	b.mu.Unlock()
	if first {
		b.write()
	}
	return b.Backend.Put(ctx, key, r, o)
}

// TestPutLosesRace checks what a PUT does when another writer replaces
// the resource between its read and its write: a small body is written
// again over what the other wrote, a large streamed one is a
// ConflictError (it cannot be read twice), and in both cases the counter
// equals a recount.
func TestPutLosesRace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		conflict bool
	}{
		{"small body written again", 10, false},
		{"large streamed body", 256 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			inner := memory.New()
			other, err := ldp.New(ctx, inner, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
				t.Fatal(err)
			}
			p := ldp.Path("/alice/f")
			if _, err := other.Put(ctx, p, ldp.WriteRequest{Body: bytes.NewReader(make([]byte, 100)), ContentType: "application/octet-stream"}); err != nil {
				t.Fatal(err)
			}
			b := &interloper{Backend: inner, key: p.Key(), write: func() {
				if _, err := other.Put(ctx, p, ldp.WriteRequest{Body: bytes.NewReader(make([]byte, 50)), ContentType: "application/octet-stream"}); err != nil {
					t.Errorf("the other writer: %v", err)
				}
			}}
			s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Put(ctx, p, ldp.WriteRequest{Body: io.MultiReader(bytes.NewReader(make([]byte, tc.size))), ContentType: "application/octet-stream"})
			var conflict *ldp.ConflictError
			switch {
			case tc.conflict && !errors.As(err, &conflict):
				t.Fatalf("PUT: %v, want a ConflictError", err)
			case !tc.conflict && (err != nil || res.Created):
				t.Fatalf("PUT: %v, created %v; want a replacement", err, res.Created)
			}
			info, err := inner.Stat(ctx, p.Key())
			want := int64(tc.size)
			if tc.conflict {
				want = 50
			}
			if err != nil || info.Size != want {
				t.Errorf("stored %d bytes (%v), want %d", info.Size, err, want)
			}
			checkUsageExact(t, s, other)
		})
	}
}

// TestPutStreamsBodyWhole checks that a streamed body, shorter or longer
// than the part a PUT keeps to write again, is stored byte for byte, with
// and without a quota, of known and unknown length.
func TestPutStreamsBodyWhole(t *testing.T) {
	for name, open := range quotaBackends() {
		for _, quota := range []int64{0, 8 << 20} {
			for _, size := range []int{0, 1, 64 << 10, 64<<10 + 1, 3<<20 + 7} {
				for _, announced := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/quota %d/%d bytes/announced %v", name, quota, size, announced), func(t *testing.T) {
						ctx := context.Background()
						b := open(t)
						s := podStores(t, [2]storage.Backend{b, b}, quota)[0]
						body := make([]byte, size)
						for i := range body {
							body[i] = byte(i * 7)
						}
						req := ldp.WriteRequest{Body: io.MultiReader(bytes.NewReader(body)), ContentType: "application/octet-stream"}
						if announced {
							req.ContentLength = int64(size)
						}
						if _, err := s.Put(ctx, "/alice/f", req); err != nil {
							t.Fatal(err)
						}
						r, _, err := b.Get(ctx, ldp.Path("/alice/f").Key(), storage.GetOptions{})
						if err != nil {
							t.Fatal(err)
						}
						got, err := io.ReadAll(r)
						r.Close()
						if err != nil || !bytes.Equal(got, body) {
							t.Fatalf("stored %d bytes (%v), not the %d sent", len(got), err, size)
						}
						checkUsageExact(t, s)
					})
				}
			}
		}
	}
}
