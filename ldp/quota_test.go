package ldp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// readCounter counts the bytes read from a body of unknown length, as a
// chunked upload is.
type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// quotaBackends are the backends of the ldp quota tests; the server's
// quota tests add MinIO.
func quotaBackends() map[string]func(t *testing.T) storage.Backend {
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
	}
}

// TestQuotaStreaming checks that a body of unknown length is cut as soon
// as it passes the room left, reading at most one byte more than that, and
// that nothing of it is stored.
func TestQuotaStreaming(t *testing.T) {
	const room = 100 << 10
	cases := []struct {
		name     string
		size     int64 // bytes sent
		replaces int64 // size of the resource replaced, 0 for none
		wantErr  bool
	}{
		{"fits exactly", room, 0, false},
		{"one byte over", room + 1, 0, true},
		{"far over", 8 * room, 0, true},
		// The 500 bytes replaced are free for the new content.
		{"replacing gives its room back", room, 500, false},
		{"replacing, over", room + 1, 500, true},
	}
	for bname, open := range quotaBackends() {
		t.Run(bname, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					b := open(t)
					s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
						t.Fatal(err)
					}
					p := ldp.Path("/alice/file.bin")
					if tc.replaces > 0 {
						if _, err := s.Put(ctx, p, ldp.WriteRequest{Body: bytes.NewReader(make([]byte, tc.replaces)), ContentType: "application/octet-stream"}); err != nil {
							t.Fatal(err)
						}
					}
					before, err := s.PodUsage(ctx, "alice")
					if err != nil {
						t.Fatal(err)
					}
					// room bytes are free once the replaced resource is
					// gone.
					quota := before.Bytes - tc.replaces + room
					if _, err := s.SetPodQuota(ctx, "alice", &quota); err != nil {
						t.Fatal(err)
					}
					body := &readCounter{r: bytes.NewReader(bytes.Repeat([]byte{'x'}, int(tc.size)))}
					_, err = s.Put(ctx, p, ldp.WriteRequest{Body: body, ContentType: "application/octet-stream"})
					after, uerr := s.PodUsage(ctx, "alice")
					if uerr != nil {
						t.Fatal(uerr)
					}
					if !tc.wantErr {
						if err != nil {
							t.Fatalf("Put: %v", err)
						}
						if want := before.Bytes - tc.replaces + tc.size; after.Bytes != want {
							t.Errorf("usage %d, want %d", after.Bytes, want)
						}
						return
					}
					var qe *ldp.QuotaError
					if !errors.As(err, &qe) || !errors.Is(err, ldp.ErrQuotaExceeded) || qe.Pod != "alice" || qe.Quota != quota {
						t.Fatalf("Put: %v, want a QuotaError for alice and %d", err, quota)
					}
					if limit := int64(room + 1); body.n > limit {
						t.Errorf("read %d bytes of the body, want at most %d", body.n, limit)
					}
					info, serr := b.Stat(ctx, p.Key())
					switch {
					case tc.replaces == 0 && !errors.Is(serr, storage.ErrNotFound):
						t.Errorf("Stat after the refused Put: %v %+v, want not found", serr, info)
					case tc.replaces > 0 && (serr != nil || info.Size != tc.replaces):
						t.Errorf("Stat after the refused Put: %v, size %d, want the old %d bytes", serr, info.Size, tc.replaces)
					}
					if after.Bytes != before.Bytes {
						t.Errorf("usage %d after a refused Put, want %d", after.Bytes, before.Bytes)
					}
				})
			}
		})
	}
}

// TestQuotaCounterAfterImport checks that a pod whose objects were written
// without the Store (an import) is counted on first look, and that a
// recount finds what the counter says.
func TestQuotaCounterAfterImport(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	if err := ldp.RegisterPod(ctx, b, ldp.Pod{Name: "bob", Owner: "https://bob.example/#me"}); err != nil {
		t.Fatal(err)
	}
	for key, size := range map[string]int{"r/bob/": 0, "r/bob/a": 10, "r/bob/c/": 7, "r/bob/c/d": 20, "r/bob/c/d.acl": 5} {
		if _, err := b.Put(ctx, key, bytes.NewReader(make([]byte, size)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: 1000})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.PodUsage(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes != 42 || u.Quota != 1000 || u.Own {
		t.Fatalf("usage %+v, want 42 bytes of the default 1000", u)
	}
	if err := s.Delete(ctx, "/bob/c/d", ldp.Conditions{}); err != nil {
		t.Fatal(err)
	}
	u, err = s.PodUsage(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RecountPodUsage(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes != 17 || r.Bytes != 17 {
		t.Fatalf("after deleting d and d.acl: counter %d, recount %d, want 17", u.Bytes, r.Bytes)
	}
	if _, err := s.PodUsage(ctx, "nobody"); !errors.Is(err, ldp.ErrNoPod) {
		t.Fatalf("PodUsage of no pod: %v, want ErrNoPod", err)
	}
}
