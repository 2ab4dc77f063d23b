package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
)

// aclVersions keeps the versions of ACL resources between requests, for
// processes that share a storage and hear each other's changes over a
// notify.Feed (NATS); and, by the same rules, those of container markers,
// which tell the Store whether a container exists (ldp.Config.KeepVersion:
// the container a PUT creates in, asked on every PUT).
//
// Access control asks the version of the ACL resource of a resource and
// of every container above it on every request (acl.Source.ACLVersion),
// so that a compiled ACL is never used after a change: on S3 that was four
// HEADs beside the one GET of an anonymous read (issue 18). A version
// kept here answers instead, while all of these hold:
//
//   - the Feed hears the other processes now, and has heard them without
//     a break since the version was read (notify.Feed.Hearing's epoch):
//     every change of the ACL made elsewhere since then would have been
//     heard, and would have dropped it;
//   - no change of that ACL resource was heard since, from this process
//     (ldp.Config.OnChange, at once, before the writing request is
//     answered) or another (the Feed);
//   - it was read less than aclVersionMaxAge ago.
//
// So an ACL change through this process takes effect on its next request;
// through another process, as soon as the event reaches this one (NATS
// delivery, milliseconds), and in any case within aclVersionMaxAge: the
// bound when an event is lost (the writer lost its own connection and
// buffers it, the notification queue overflowed) or the change was made
// without an event (pod deletion, kluis pod import, writes to the bucket
// by other means).
//
// A deletion of a resource deletes its ACL resource too, and its event
// names the resource only: that drops the resource's ACL version as well.
//
// Without a Feed (one process on a folder; several without NATS), and
// while the Feed does not hear, the versions are kept by the same rules
// with the ACL generation in place of the Feed's epoch
// (ldp/aclgeneration.go): a version read while the generation object had
// one version answers while it still has it. Every
// write of an ACL resource through a Store, in any process, rewrites that
// object before its request is answered; so each request asks one
// version, the generation's, instead of one per ACL resource, and an ACL
// change through another process still takes effect on the next request.
// A change that did not rewrite it (the process ended in between, writes
// by other means) takes effect within aclVersionMaxAge.
type aclVersions struct {
	feed notify.Feed
	// generation reads the ACL generation's version
	// (ldp.Store.ACLGeneration), asked when feed does not hear.
	generation func(context.Context) (string, error)
	now        func() time.Time
	maxAge     time.Duration

	// drops counts the versions dropped: a version read while one was
	// dropped is not kept, since it may be older than the change.
	drops atomic.Uint64

	mu      sync.RWMutex
	m       map[string]aclVersion     // by the ACL resource's storage key
	flights map[string]*versionFlight // reads under way, by key
}

// aclVersion is one kept answer of the backend for an ACL resource.
type aclVersion struct {
	version string // "" with missing
	missing bool
	read    time.Time // when the read began
	under   basis     // what it was read under
}

// basis is what kept versions are good under: the Feed's epoch while it
// hears, else the ACL generation's version.
type basis struct {
	heard bool
	epoch uint64
	gen   string
}

// aclVersionMaxAge bounds how long a kept version answers without a look
// at the backend, whatever the Feed says.
const aclVersionMaxAge = time.Second

// maxACLVersions bounds the versions kept; when full, all are dropped.
const maxACLVersions = 1 << 16

// newACLVersions keeps versions while feed hears, and otherwise (feed nil,
// or not hearing) under the ACL generation that generation reads; with
// both nil, none.
func newACLVersions(feed notify.Feed, generation func(context.Context) (string, error), now func() time.Time) *aclVersions {
	if now == nil {
		now = time.Now
	}
	return &aclVersions{feed: feed, generation: generation, now: now, maxAge: aclVersionMaxAge, m: make(map[string]aclVersion)}
}

// keeping reports whether versions may be kept and used now, and under
// what: the Feed's epoch while it hears, else the ACL generation's
// version, asked once per request (withGeneration).
func (v *aclVersions) keeping(ctx context.Context, byGeneration bool) (basis, bool) {
	if v.feed != nil {
		if epoch, ok := v.feed.Hearing(); ok {
			return basis{heard: true, epoch: epoch}, true
		}
	}
	if v.generation == nil || !byGeneration {
		return basis{}, false
	}
	if g, _ := ctx.Value(generationKey{}).(*generationOnce); g != nil {
		g.once.Do(func() { g.v, g.err = v.generation(ctx) })
		return basis{gen: g.v}, g.err == nil
	}
	gen, err := v.generation(ctx)
	return basis{gen: gen}, err == nil
}

type generationKey struct{}

type generationOnce struct {
	once sync.Once
	v    string
	err  error
}

// withGeneration returns ctx under which the ACL generation is asked at
// most once: for one request's check.
func withGeneration(ctx context.Context) context.Context {
	if _, ok := ctx.Value(generationKey{}).(*generationOnce); ok {
		return ctx
	}
	return context.WithValue(ctx, generationKey{}, &generationOnce{})
}

// version returns the version of the ACL resource at key, kept or read
// by read (storage.ErrNotFound when there is none).
func (v *aclVersions) version(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error) {
	return v.kept(ctx, key, read, true)
}

// markerVersion is version for the marker of a container
// (ldp.Config.KeepVersion): kept only while the Feed hears, since the
// ACL generation does not move with containers.
func (v *aclVersions) markerVersion(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error) {
	return v.kept(ctx, key, read, false)
}

// kept is version, under the ACL generation too when byGeneration.
//
// Requests that miss one key at the same time share one read of it (a
// flight): a version kept for a second is otherwise read again by every
// request that comes while the first re-read is on its way, up to 32 HEADs
// of one ACL at 32 clients on S3, each second, for each ACL above the
// resources they ask for. A request joins a flight only when no version
// was dropped since the flight began, and takes its answer only when the
// flight kept it (none was dropped until it ended), which are the rules
// of a kept version; otherwise it reads by itself.
func (v *aclVersions) kept(ctx context.Context, key string, read func(context.Context, string) (string, error), byGeneration bool) (string, error) {
	under, hearing := v.keeping(ctx, byGeneration)
	if !hearing {
		return read(ctx, key)
	}
	now := v.now()
	v.mu.RLock()
	e, ok := v.m[key]
	v.mu.RUnlock()
	if ok && e.under == under && now.Sub(e.read) < v.maxAge && !now.Before(e.read) {
		if e.missing {
			return "", storage.ErrNotFound
		}
		return e.version, nil
	}
	drops := v.drops.Load()
	v.mu.Lock()
	if f := v.flights[key]; f != nil && f.under == under && f.drops == drops {
		v.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if f.kept {
			return f.version, f.err
		}
		ver, _, err := v.readAndKeep(ctx, key, read, under, now, drops)
		return ver, err
	}
	f := &versionFlight{under: under, drops: drops, done: make(chan struct{})}
	if v.flights == nil {
		v.flights = make(map[string]*versionFlight)
	}
	v.flights[key] = f
	v.mu.Unlock()
	ver, kept, err := v.readAndKeep(ctx, key, read, under, now, drops)
	f.version, f.err, f.kept = ver, err, kept
	v.mu.Lock()
	if v.flights[key] == f {
		delete(v.flights, key)
	}
	v.mu.Unlock()
	close(f.done)
	return ver, err
}

// versionFlight is one read of a version that requests missing it at the
// same time share.
type versionFlight struct {
	under basis
	drops uint64
	done  chan struct{}
	// Set before done is closed.
	version string
	err     error
	kept    bool
}

// readAndKeep reads the version at key and keeps it under under, unless a
// version was dropped since drops was read; kept tells whether it was.
func (v *aclVersions) readAndKeep(ctx context.Context, key string, read func(context.Context, string) (string, error), under basis, now time.Time, drops uint64) (string, bool, error) {
	ver, err := read(ctx, key)
	missing := errors.Is(err, storage.ErrNotFound)
	if (err != nil && !missing) || v.drops.Load() != drops {
		return ver, false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxACLVersions {
		clear(v.m)
	}
	// A drop between the check above and this lock is caught by the
	// next reader: drops moved on, and the version is read again then
	// (drop holds the lock while it deletes, so this entry is either
	// deleted by it or written after it, under a counter it changed).
	if v.drops.Load() != drops {
		return ver, false, err
	}
	v.m[key] = aclVersion{version: ver, missing: missing, read: now, under: under}
	return ver, true, err
}

// drop forgets the version of the ACL resource at key.
func (v *aclVersions) drop(key string) {
	v.mu.Lock()
	v.drops.Add(1)
	delete(v.m, key)
	v.mu.Unlock()
}

// changed drops what a change of the resource at p makes stale: its own
// version when p is an ACL resource or a container (whose marker's
// version tells the Store whether it exists, ldp.Config.KeepVersion), and,
// for a deletion, the version of p's ACL resource, deleted with it.
func (v *aclVersions) changed(p ldp.Path, t ldp.ChangeType) {
	if kind, _ := p.Aux(); kind == ldp.ACL || p.IsContainer() {
		v.drop(p.Key())
		if kind == ldp.ACL {
			return
		}
	}
	if t == ldp.Delete {
		if kind, _ := p.Aux(); kind == ldp.NotAux {
			v.drop(p.ACL().Key())
		}
	}
}

// heard drops what an event of another process makes stale.
func (v *aclVersions) heard(store *ldp.Store, e notify.Event) {
	if e.Type != "Create" && e.Type != "Update" && e.Type != "Delete" {
		return // Add and Remove repeat a Create or Delete for the container
	}
	p, ok := store.PathOf(e.Object)
	if !ok {
		return
	}
	t := ldp.Update
	if e.Type == "Delete" {
		t = ldp.Delete
	}
	v.changed(p, t)
}
