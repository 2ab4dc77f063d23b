package account

import (
	"context"
	"github.com/weconomics/kluis/storage/s3/s3test"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fastArgon2 keeps the tests quick; production uses DefaultArgon2.
func fastArgon2() Argon2Params { return Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1} }

// backend is a way to make an empty storage.Backend.
type backend struct {
	name string
	open func(t *testing.T) storage.Backend
}

// backends are those every store test runs on: memory and filesystem
// always, S3 when KLUIS_S3_ENDPOINT is set (and required when CI=true).
func backends() []backend {
	return []backend{
		{"memory", func(*testing.T) storage.Backend { return memory.New() }},
		{"filesystem", func(t *testing.T) storage.Backend {
			b, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}},
		{"s3", openS3},
	}
}

// openS3 connects to the test S3 server below a fresh prefix and removes
// what is left there when the test ends.
func openS3(t *testing.T) storage.Backend {
	t.Helper()
	b := s3test.Open(t)
	t.Cleanup(func() { removeAll(t, b, "") })
	return b
}

// removeAll deletes every object below prefix.
func removeAll(t *testing.T, b storage.Backend, prefix string) {
	ctx := context.Background()
	var keys, levels []string
	for info, err := range b.List(ctx, prefix) {
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if info.IsPrefix {
			levels = append(levels, info.Key)
		} else {
			keys = append(keys, info.Key)
		}
	}
	for _, l := range levels {
		removeAll(t, b, l)
	}
	for _, k := range keys {
		if err := b.Delete(ctx, k, storage.DeleteOptions{}); err != nil {
			t.Errorf("cleanup %s: %v", k, err)
		}
	}
}

// newStore makes a Store over b with fast hashing and the clock c.
func newStore(b storage.Backend, c *clock, mutate func(*Options)) *Store {
	o := Options{Now: c.Now, Argon2: fastArgon2()}
	if mutate != nil {
		mutate(&o)
	}
	return New(b, o)
}
