package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Backend is an in-memory storage.Backend. The zero value is not usable; call
// New.
type Backend struct {
	now func() time.Time

	mu      sync.RWMutex
	objects map[string]object
}

type object struct {
	data     []byte // never changed once stored
	info     storage.Info
	appended int64 // bytes appended since the last Put
}

// New returns an empty in-memory backend.
func New() *Backend {
	return &Backend{now: time.Now, objects: make(map[string]object)}
}

// Check always succeeds: memory is always reachable.
func (b *Backend) Check(ctx context.Context) error { return ctx.Err() }

// Get returns a reader over a snapshot of the object.
func (b *Backend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	obj, err := b.lookup(ctx, "get", key)
	if err != nil {
		return nil, storage.Info{}, err
	}
	data := obj.data
	if o.Range != nil {
		off, n, err := o.Range.Resolve(int64(len(data)))
		if err != nil {
			return nil, storage.Info{}, fmt.Errorf("memory: get %s: %w", key, err)
		}
		data = data[off : off+n]
	}
	return io.NopCloser(bytes.NewReader(data)), cloneInfo(obj.info), nil
}

// Stat returns the object's Info.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Info, error) {
	obj, err := b.lookup(ctx, "stat", key)
	if err != nil {
		return storage.Info{}, err
	}
	return cloneInfo(obj.info), nil
}

func (b *Backend) lookup(ctx context.Context, op, key string) (object, error) {
	if err := storage.ValidateKey(key); err != nil {
		return object{}, fmt.Errorf("memory: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return object{}, err
	}
	b.mu.RLock()
	obj, ok := b.objects[key]
	b.mu.RUnlock()
	if !ok {
		return object{}, fmt.Errorf("memory: %s %s: %w", op, key, storage.ErrNotFound)
	}
	return obj, nil
}

// Put reads r to its end, then stores it if the conditions hold.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if err := storage.CheckPut(key, o); err != nil {
		return storage.Info{}, fmt.Errorf("memory: put: %w", err)
	}
	data, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return storage.Info{}, fmt.Errorf("memory: put %s: %w", key, err)
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	info := storage.Info{
		Key:         key,
		Size:        int64(len(data)),
		ETag:        newETag(),
		ContentType: ct,
		Modified:    b.now().UTC().Truncate(time.Millisecond),
		Metadata:    storage.CloneMetadata(o.Metadata),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, exists := b.objects[key]
	if o.IfNoneMatch && exists || o.IfMatch != "" && (!exists || cur.info.ETag != o.IfMatch) {
		return storage.Info{}, fmt.Errorf("memory: put %s: %w", key, storage.ErrPreconditionFailed)
	}
	b.objects[key] = object{data: data, info: info}
	return cloneInfo(info), nil
}

// Append stores a copy of the object with data added, if the condition
// holds.
func (b *Backend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	if err := storage.CheckAppend(key, o); err != nil {
		return storage.Info{}, fmt.Errorf("memory: append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, exists := b.objects[key]
	if !exists || cur.info.ETag != o.IfMatch {
		return storage.Info{}, fmt.Errorf("memory: append %s: %w", key, storage.ErrPreconditionFailed)
	}
	if cur.appended+int64(len(data)) > storage.MaxAppended {
		return storage.Info{}, fmt.Errorf("memory: append %s: %w", key, storage.ErrAppendFull)
	}
	info := cur.info
	info.Size += int64(len(data))
	info.ETag = newETag()
	info.Modified = b.now().UTC().Truncate(time.Millisecond)
	info.Metadata = storage.CloneMetadata(o.Metadata)
	b.objects[key] = object{data: slices.Concat(cur.data, data), info: info, appended: cur.appended + int64(len(data))}
	return cloneInfo(info), nil
}

// Delete removes the object if the condition holds.
func (b *Backend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("memory: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, exists := b.objects[key]
	if !exists {
		return fmt.Errorf("memory: delete %s: %w", key, storage.ErrNotFound)
	}
	if o.IfMatch != "" && cur.info.ETag != o.IfMatch {
		return fmt.Errorf("memory: delete %s: %w", key, storage.ErrPreconditionFailed)
	}
	delete(b.objects, key)
	return nil
}

// List yields the direct children of prefix from a snapshot taken when the
// iteration starts.
func (b *Backend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.Info{}, fmt.Errorf("memory: list: %w", err))
			return
		}
		var out []storage.Info
		seen := make(map[string]bool)
		b.mu.RLock()
		for k, obj := range b.objects {
			if !strings.HasPrefix(k, prefix) || k == prefix {
				continue
			}
			rest := k[len(prefix):]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				p := prefix + rest[:i+1]
				if !seen[p] {
					seen[p] = true
					out = append(out, storage.Info{Key: p, IsPrefix: true})
				}
				continue
			}
			out = append(out, cloneInfo(obj.info))
		}
		b.mu.RUnlock()
		slices.SortFunc(out, func(a, b storage.Info) int { return strings.Compare(a.Key, b.Key) })
		for _, info := range out {
			if err := ctx.Err(); err != nil {
				yield(storage.Info{}, err)
				return
			}
			if !yield(info, nil) {
				return
			}
		}
	}
}

func cloneInfo(i storage.Info) storage.Info {
	i.Metadata = storage.CloneMetadata(i.Metadata)
	return i
}

func newETag() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
