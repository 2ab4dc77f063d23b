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
// by other means). While the Feed does not hear, every version is read
// again, as without a Feed.
//
// A deletion of a resource deletes its ACL resource too, and its event
// names the resource only: that drops the resource's ACL version as well.
type aclVersions struct {
	feed   notify.Feed
	now    func() time.Time
	maxAge time.Duration

	// drops counts the versions dropped: a version read while one was
	// dropped is not kept, since it may be older than the change.
	drops atomic.Uint64

	mu sync.RWMutex
	m  map[string]aclVersion // by the ACL resource's storage key
}

// aclVersion is one kept answer of the backend for an ACL resource.
type aclVersion struct {
	version string // "" with missing
	missing bool
	read    time.Time // when the read began
	epoch   uint64    // the Feed's epoch then
}

// aclVersionMaxAge bounds how long a kept version answers without a look
// at the backend, whatever the Feed says.
const aclVersionMaxAge = time.Second

// maxACLVersions bounds the versions kept; when full, all are dropped.
const maxACLVersions = 1 << 16

func newACLVersions(feed notify.Feed, now func() time.Time) *aclVersions {
	if now == nil {
		now = time.Now
	}
	return &aclVersions{feed: feed, now: now, maxAge: aclVersionMaxAge, m: make(map[string]aclVersion)}
}

// version returns the version of the ACL resource at key, kept or read
// by read (storage.ErrNotFound when there is none).
func (v *aclVersions) version(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error) {
	epoch, hearing := v.feed.Hearing()
	now := v.now()
	if hearing {
		v.mu.RLock()
		e, ok := v.m[key]
		v.mu.RUnlock()
		if ok && e.epoch == epoch && now.Sub(e.read) < v.maxAge && !now.Before(e.read) {
			if e.missing {
				return "", storage.ErrNotFound
			}
			return e.version, nil
		}
	}
	drops := v.drops.Load()
	ver, err := read(ctx, key)
	missing := errors.Is(err, storage.ErrNotFound)
	if !hearing || (err != nil && !missing) || v.drops.Load() != drops {
		return ver, err
	}
	v.mu.Lock()
	if len(v.m) >= maxACLVersions {
		clear(v.m)
	}
	// A drop between the check above and this lock is caught by the
	// next reader: drops moved on, and the version is read again then
	// (drop holds the lock while it deletes, so this entry is either
	// deleted by it or written after it, under a counter it changed).
	if v.drops.Load() == drops {
		v.m[key] = aclVersion{version: ver, missing: missing, read: now, epoch: epoch}
	}
	v.mu.Unlock()
	return ver, err
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
