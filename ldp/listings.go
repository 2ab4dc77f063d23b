package ldp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Container listings kept between GETs.
//
// A GET of a container lists its children with their metadata (Solid
// Protocol §4.2): on S3 one listing of 1,000 children takes the bucket
// longer than hundreds of small GETs, since it reads every child's
// metadata. When the Store hears every write that other processes make
// to its storage (Config.Hearing, NATS in the server), a GET answers from
// a listing read less than listingMaxAge ago, in the same epoch of
// hearing, and not dropped since: every write through this Store drops
// the listing of its container and its own (changed), and the server
// hands each write heard from another process to Heard, which does the
// same. So a container's representation follows a write through this
// process at once, one through another as soon as its event arrives, and
// one made without an event (a lost event, objects written to the bucket
// by other means) within listingMaxAge of the end of the listing (which,
// of 10,000 children on a loaded bucket, can take seconds). Only GET uses
// kept listings:
// conditional writes and deletions always list afresh.
type listings struct {
	hearing func() (uint64, bool)
	// drops counts the listings dropped: a listing read while one was
	// dropped is not kept, since it may be older than the change.
	drops atomic.Uint64

	mu      sync.Mutex
	m       map[Path]keptListing
	flights map[Path]*flight
}

type keptListing struct {
	l     *listing
	read  time.Time
	epoch uint64
}

// listingMaxAge bounds how long a kept listing answers.
const listingMaxAge = time.Second

// maxListings bounds the listings kept; when full, all are dropped.
const maxListings = 256

// cachedList is list for GET: a kept listing of p when there is one.
// GETs that miss at the same time share one listing (a flight): 32
// clients asking for a large container list it once, not 32 times over
// a bucket that each listing slows. A GET joins a flight only when no
// write was dropped since it began, and takes its result only when none
// was dropped until it ended; otherwise it lists by itself.
func (s *Store) cachedList(ctx context.Context, p Path) (*listing, error) {
	k := &s.listings
	if k.hearing == nil {
		return s.list(ctx, p)
	}
	epoch, hearing := k.hearing()
	if !hearing {
		return s.list(ctx, p)
	}
	k.mu.Lock()
	e, ok := k.m[p]
	if ok && e.epoch == epoch && time.Since(e.read) < listingMaxAge {
		k.mu.Unlock()
		return e.l, nil
	}
	drops := k.drops.Load()
	f := k.flights[p]
	if f != nil && f.drops == drops && f.epoch == epoch {
		k.mu.Unlock()
		<-f.done
		if f.err == nil && f.kept {
			return f.l, nil
		}
		return s.list(ctx, p)
	}
	f = &flight{drops: drops, epoch: epoch, done: make(chan struct{})}
	if k.flights == nil {
		k.flights = make(map[Path]*flight)
	}
	k.flights[p] = f
	k.mu.Unlock()

	f.l, f.err = s.list(context.WithoutCancel(ctx), p)
	k.mu.Lock()
	if k.flights[p] == f {
		delete(k.flights, p)
	}
	if f.err == nil && k.drops.Load() == drops {
		if k.m == nil || len(k.m) >= maxListings {
			k.m = make(map[Path]keptListing)
		}
		// Kept from the end of the listing: it shows every write that
		// ended before the listing began, and a write without an event
		// at most listingMaxAge after the listing ended.
		k.m[p] = keptListing{l: f.l, read: time.Now(), epoch: epoch}
		f.kept = true
	}
	k.mu.Unlock()
	close(f.done)
	return f.l, f.err
}

// flight is one listing that concurrent GETs share.
type flight struct {
	drops uint64
	epoch uint64
	done  chan struct{}
	// l and err are the listing's outcome; kept tells that no write was
	// dropped while it ran. Set before done is closed.
	l    *listing
	err  error
	kept bool
}

// dropListings forgets what a write of p makes stale: the listing of
// its container (its containment or its metadata there changed) and its
// own, when it is a container.
func (s *Store) dropListings(p Path) {
	k := &s.listings
	if k.hearing == nil {
		return
	}
	k.mu.Lock()
	k.drops.Add(1)
	subject := p
	if kind, sub := p.Aux(); kind != NotAux {
		subject = sub // an auxiliary resource changes its subject's links
	}
	delete(k.m, subject.Parent())
	delete(k.m, subject)
	k.mu.Unlock()
}

// Heard tells the Store of a write another process made at p (a change
// event heard over NATS), so that what it kept of p's container is
// dropped.
func (s *Store) Heard(p Path) { s.dropListings(p) }
