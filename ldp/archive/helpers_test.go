package archive_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/weconomics/kluis/storage/s3/s3test"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

// backend opens an empty storage backend for a test.
type backend struct {
	name string
	open func(t *testing.T) storage.Backend
}

// backends are those the round trips run on: memory and filesystem
// always, MinIO when KLUIS_S3_ENDPOINT is set (and required when CI=true).
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

// removeAll deletes every object below prefix, deepest first.
func removeAll(t *testing.T, b storage.Backend, prefix string) {
	ctx := context.Background()
	for _, o := range objects(t, b, prefix) {
		if err := b.Delete(ctx, o.Key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// object is a stored object as a test compares it.
type object struct {
	Key, ContentType string
	Body             []byte
}

// objects reads every object below prefix (markers included), sorted by
// key.
func objects(t testing.TB, b storage.Backend, prefix string) []object {
	t.Helper()
	ctx := context.Background()
	var out []object
	if prefix != "" {
		if o, ok := read(t, b, prefix); ok {
			out = append(out, o)
		}
	}
	var levels []string
	for info, err := range b.List(ctx, prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		if info.IsPrefix {
			levels = append(levels, info.Key)
			continue
		}
		if o, ok := read(t, b, info.Key); ok {
			out = append(out, o)
		}
	}
	for _, l := range levels {
		out = append(out, objects(t, b, l)...)
	}
	slices.SortFunc(out, func(a, b object) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func read(t testing.TB, b storage.Backend, key string) (object, bool) {
	t.Helper()
	body, info, err := b.Get(context.Background(), key, storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return object{}, false
	}
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return object{Key: key, ContentType: info.ContentType, Body: data}, true
}

func put(t testing.TB, b storage.Backend, key, contentType string, body []byte) {
	t.Helper()
	if _, err := b.Put(context.Background(), key, bytes.NewReader(body), storage.PutOptions{ContentType: contentType}); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}
