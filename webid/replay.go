package webid

import (
	"fmt"
	"sync"
	"time"
)

// replayCache remembers the jti of every accepted proof (keyed with its
// key's thumbprint) until the proof's iat leaves the acceptance window
// (RFC 9449 §11.1). It holds at most max entries. When it is full of
// unexpired entries it forgets the oldest and raises floor to its iat:
// from then on no proof with an iat at or before floor is accepted, so a
// forgotten proof can never be replayed; the window shrinks instead.
type replayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[[32]byte]struct{}
	queue []replayEntry // oldest first, from head
	head  int
	floor time.Time
}

type replayEntry struct {
	key   [32]byte
	iat   time.Time
	until time.Time // the last instant the proof is acceptable
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[32]byte]struct{})}
}

// check records key and reports ErrReplay if it was already there.
func (r *replayCache) check(key [32]byte, iat, until, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.head < len(r.queue) && !r.queue[r.head].until.After(now) {
		r.drop()
	}
	if _, ok := r.seen[key]; ok {
		return authErr("DPoP proof was already used", ErrReplay)
	}
	if !iat.After(r.floor) {
		return authErr("DPoP proof is too old for the server's current load; retry with a new proof",
			fmt.Errorf("%w: replay cache full, proofs up to %s refused", ErrProofTime, r.floor.UTC().Format(time.RFC3339)))
	}
	r.insert(key, iat, until)
	return nil
}

// record remembers key, a proof accepted by another process, as check
// does but without answering: one already known is left as it is.
func (r *replayCache) record(key [32]byte, iat, until, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !until.After(now) {
		return // out of the window already: refused by its iat anyway
	}
	if _, ok := r.seen[key]; ok {
		return
	}
	r.insert(key, iat, until)
}

// insert adds key, making room first: when the cache is full it forgets
// the oldest entries and raises floor to their iat. r.mu is held.
func (r *replayCache) insert(key [32]byte, iat, until time.Time) {
	for len(r.seen) >= r.max && r.head < len(r.queue) {
		if e := r.queue[r.head]; e.iat.After(r.floor) {
			r.floor = e.iat
		}
		r.drop()
	}
	r.seen[key] = struct{}{}
	r.queue = append(r.queue, replayEntry{key: key, iat: iat, until: until})
}

// drop forgets the oldest entry, compacting the queue now and then.
func (r *replayCache) drop() {
	delete(r.seen, r.queue[r.head].key)
	r.queue[r.head] = replayEntry{}
	r.head++
	if r.head > 1024 && r.head*2 > len(r.queue) {
		n := copy(r.queue, r.queue[r.head:])
		r.queue = r.queue[:n]
		r.head = 0
	}
}
