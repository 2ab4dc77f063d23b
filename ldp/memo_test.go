package ldp

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

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
