package ldp

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

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
	mu       sync.Mutex
	m        map[string]memoStat
	versions map[string]memoVersion
}

type memoVersion struct {
	version string
	missing bool
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
	delete(m.versions, key)
}

func (m *statMemo) version(key string) (memoVersion, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.versions[key]
	return v, ok
}

func (m *statMemo) putVersion(key string, v memoVersion) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.versions == nil {
		m.versions = make(map[string]memoVersion)
	}
	if len(m.versions) < maxMemoKeys {
		m.versions[key] = v
	}
}

// memoBackend is the Store's backend: the backend it was given, with the
// request's Stats remembered under WithStatMemo (without a memo in the
// context it remembers nothing), and the ACL generation moved on after
// every write of an ACL resource (aclgeneration.go).
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

// Put, Append and Delete forget what the request remembers of key, and
// move the ACL generation on after a write of an ACL resource
// (aclgeneration.go).
func (b memoBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	defer b.wrote(ctx, key)()
	info, err := b.Backend.Put(ctx, key, r, o)
	if err == nil {
		nextACLGeneration(ctx, b.Backend, key)
	}
	return info, err
}

// Append passes storage.Appender through, as Put.
func (b memoBackend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	defer b.wrote(ctx, key)()
	info, err := storage.Append(ctx, b.Backend, key, data, o)
	if err == nil {
		nextACLGeneration(ctx, b.Backend, key)
	}
	return info, err
}

func (b memoBackend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	defer b.wrote(ctx, key)()
	err := b.Backend.Delete(ctx, key, o)
	if err == nil {
		nextACLGeneration(ctx, b.Backend, key)
	}
	return err
}

// wrote forgets what the request remembers of key, now and when the
// function it returns is called.
func (b memoBackend) wrote(ctx context.Context, key string) func() {
	m := memoOf(ctx)
	if m == nil {
		return func() {}
	}
	m.forget(key)
	return func() { m.forget(key) }
}

// Version passes storage.Versioner through (storage.VersionOf), remembered
// for the request as Stat is, so that Prefetch can ask it ahead: what the
// access control asks of the ACLs, beyond the request, is kept by the
// server's own rules.
func (b memoBackend) Version(ctx context.Context, key string) (string, error) {
	m := memoOf(ctx)
	if m == nil {
		return storage.VersionOf(ctx, b.Backend, key)
	}
	if v, ok := m.version(key); ok {
		if v.missing {
			return "", storage.ErrNotFound
		}
		return v.version, nil
	}
	v, err := storage.VersionOf(ctx, b.Backend, key)
	switch {
	case err == nil:
		m.putVersion(key, memoVersion{version: v})
	case errors.Is(err, storage.ErrNotFound):
		m.putVersion(key, memoVersion{missing: true})
	}
	return v, err
}

// Prefetch asks the storage ahead, at once where it is slow (asker), what
// a PUT or a DELETE of p is about to ask it one question after another,
// and remembers the
// answers for the request (under WithStatMemo; without it, it does
// nothing): whether p exists, while alongside runs (the server asks its
// access control's first question then: the version of p's own ACL);
// then, for a PUT that creates p, whether the other form of its name
// (Sibling) and the container it is written in exist. On S3 each is a
// HEAD; asked in a row they were most of a PUT's time (issue 18: "fewer,
// parallel or combined checks"). Now a PUT that replaces waits for one
// round trip where it waited for two, one that creates for two where it
// waited for four, and neither asks more.
func (s *Store) Prefetch(ctx context.Context, p Path, deleting bool, alongside func(context.Context)) {
	if memoOf(ctx) == nil {
		return
	}
	a := newAsker(&s.pace)
	if alongside != nil {
		a.ask(func() { alongside(ctx) })
	}
	var err error
	a.ask(func() { _, err = s.backend.Stat(ctx, p.Key()) })
	a.wait() // what follows depends on it
	if !deleting && errors.Is(err, storage.ErrNotFound) && !p.IsRoot() {
		if q := p.Sibling(); storage.ValidateKey(q.Key()) == nil {
			a.ask(func() { _, _ = s.backend.Stat(ctx, q.Key()) })
		}
		a.ask(func() { _, _ = s.ContainerExists(ctx, p.Parent()) })
	}
	a.wait()
}

// askInline is how long a question may take, on average, for an asker to
// ask questions one after another.
const askInline = 200 * time.Microsecond

// pace is the mean time of the questions askers ask of the storage, as an
// exponentially weighted moving average in nanoseconds.
type pace struct{ ewma atomic.Int64 }

func (p *pace) quick() bool { return p.ewma.Load() < int64(askInline) }

// observe adds one question's time. Updates racing each other may lose
// one: it is an estimate.
func (p *pace) observe(d time.Duration) {
	old := p.ewma.Load()
	p.ewma.Store(old + (int64(d)-old)/8)
}

// asker asks the storage several questions: on this goroutine, one after
// another, while the storage answers quickly (pace) and this request's
// questions have taken less than askInline; else each on a goroutine of
// its own. A Stat on a local disk or from memory takes microseconds; on
// goroutines of their own such questions wait for a processor behind
// every other runnable goroutine, milliseconds at 32 requests on 2 cores
// (issue 18). A HEAD on S3 takes a millisecond or more: those are asked at
// once, so that a request waits for the slowest, not for their sum.
type asker struct {
	pace  *pace
	start time.Time
	wg    sync.WaitGroup
}

func newAsker(p *pace) *asker { return &asker{pace: p, start: time.Now()} }

func (a *asker) ask(f func()) {
	timed := func() {
		start := time.Now()
		f()
		a.pace.observe(time.Since(start))
	}
	if a.pace.quick() && time.Since(a.start) < askInline {
		timed()
		return
	}
	a.wg.Go(timed)
}

// wait waits for the questions asked on other goroutines.
func (a *asker) wait() { a.wg.Wait() }

// ContainerExists tells whether the container at c exists: from what the
// request already asked (WithStatMemo), else from the version kept between
// requests (Config.KeepVersion: on S3 with NATS, the container a PUT
// creates in costs no HEAD), else from the storage.
func (s *Store) ContainerExists(ctx context.Context, c Path) (bool, error) {
	key := c.Key()
	var err error
	if m := memoOf(ctx); m != nil {
		if st, ok := m.get(key); ok {
			return !st.missing, nil
		}
	}
	if s.keepVersion != nil {
		_, err = s.keepVersion(ctx, key, func(ctx context.Context, key string) (string, error) {
			return storage.VersionOf(ctx, s.backend, key)
		})
	} else {
		_, err = s.backend.Stat(ctx, key)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
