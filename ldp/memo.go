package ldp

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/weconomics/kluis/storage"
)

// Stats remembered within one request.
//
// A write asks the storage about the same keys more than once: the server
// asks whether the target exists and which container above it does, to
// authorize the request (Operation.Exists, Ancestor), then Put asks again
// to decide between creating and replacing, and about the container it
// creates in. On S3 each of those is a HEAD. Under WithStatMemo, what a
// Stat told of a key (its Info, or that it is missing) answers the next
// Stat of that key in the same request, until the Store writes or deletes
// that key.
//
// The answer is no staler than it would be anyway: every write is
// conditional on the state it read (If-Match, If-None-Match), so a write
// made by someone else in between makes the conditional write fail, which
// forgets the key, and the write is tried again from a fresh read, as it
// is when another writer wins between a read and a write without a memo.
type statMemoKey struct{}

type statMemo struct {
	mu sync.Mutex
	m  map[string]memoStat
}

type memoStat struct {
	info    storage.Info
	missing bool
}

// maxMemoKeys bounds what one request remembers.
const maxMemoKeys = 64

// WithStatMemo returns ctx under which the Store's Stats are remembered
// for the rest of the request (see above). For write requests.
func WithStatMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, statMemoKey{}, &statMemo{})
}

func memoOf(ctx context.Context) *statMemo {
	m, _ := ctx.Value(statMemoKey{}).(*statMemo)
	return m
}

func (m *statMemo) get(key string) (memoStat, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[key]
	return s, ok
}

func (m *statMemo) put(key string, s memoStat) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]memoStat)
	}
	if len(m.m) < maxMemoKeys {
		m.m[key] = s
	}
}

func (m *statMemo) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}

// memoBackend is the Store's backend: the backend it was given, with the
// request's Stats remembered under WithStatMemo. Without a memo in the
// context it adds nothing.
type memoBackend struct{ storage.Backend }

func (b memoBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	m := memoOf(ctx)
	if m == nil {
		return b.Backend.Stat(ctx, key)
	}
	if s, ok := m.get(key); ok {
		if s.missing {
			return storage.Info{}, storage.ErrNotFound
		}
		info := s.info
		info.Metadata = storage.CloneMetadata(info.Metadata)
		return info, nil
	}
	info, err := b.Backend.Stat(ctx, key)
	switch {
	case err == nil:
		kept := info
		kept.Metadata = storage.CloneMetadata(info.Metadata)
		m.put(key, memoStat{info: kept})
	case errors.Is(err, storage.ErrNotFound):
		m.put(key, memoStat{missing: true})
	}
	return info, err
}

func (b memoBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	m := memoOf(ctx)
	if m == nil {
		return b.Backend.Put(ctx, key, r, o)
	}
	m.forget(key)
	defer m.forget(key)
	return b.Backend.Put(ctx, key, r, o)
}

func (b memoBackend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	m := memoOf(ctx)
	if m == nil {
		return b.Backend.Delete(ctx, key, o)
	}
	m.forget(key)
	defer m.forget(key)
	return b.Backend.Delete(ctx, key, o)
}

// Version passes storage.Versioner through (storage.VersionOf), not
// remembered: the ACL versions are kept by the server's own rules.
func (b memoBackend) Version(ctx context.Context, key string) (string, error) {
	return storage.VersionOf(ctx, b.Backend, key)
}
