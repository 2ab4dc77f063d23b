package limit

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// AddressKey is the key of a client address ("host:port" or a bare IP):
// the IP address without port or zone, an IPv4-mapped address as IPv4,
// and an IPv6 address by its /64, since one subscriber usually holds a
// whole /64. What does not parse keys as itself, cut to 64 bytes.
func AddressKey(clientAddr string) string {
	host := clientAddr
	if h, _, err := net.SplitHostPort(clientAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		if len(host) > 64 {
			host = host[:64]
		}
		return "?" + host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Buckets are token buckets, one per key, in a map of at most max keys:
// each holds burst attempts and regains one every every. A bucket that
// has refilled holds no information, so it is the first to go when the
// map is full; when none has, an arbitrary one goes, so that memory stays
// bounded whatever clients do. Buckets are safe for concurrent use.
type Buckets struct {
	burst float64
	every time.Duration
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets returns empty buckets.
func NewBuckets(burst int, every time.Duration, max int) *Buckets {
	return &Buckets{burst: float64(burst), every: every, max: max, buckets: map[string]*bucket{}}
}

func (l *Buckets) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
}

// Take spends one attempt of key at now. When none is left it returns
// false and how long until the next one (at least a second).
func (l *Buckets) Take(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return max(time.Duration((1-b.tokens)*float64(l.every)), time.Second), false
	}
	b.tokens--
	return 0, true
}

// Give returns an attempt taken by a request that succeeded.
func (l *Buckets) Give(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		l.refill(b, now)
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// Tracked is how many keys the buckets remember.
func (l *Buckets) Tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// makeRoom keeps the map below its bound. l.mu is held.
func (l *Buckets) makeRoom(now time.Time) {
	if len(l.buckets) < l.max {
		return
	}
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, k)
	}
}

// Pending counts records that are not settled yet (an account without a
// login, a client never used for one), per client address and in all,
// until each is released or expires. Records must be reserved in the
// order of their expiry (creation time plus a constant). Pending is safe
// for concurrent use.
type Pending struct {
	perAddress, total int

	mu     sync.Mutex
	byID   map[string]pendingRecord
	byAddr map[string][]string // ids, oldest first
	queue  []string            // every id reserved, oldest first; released ones are skipped
}

type pendingRecord struct {
	addr    string
	expires time.Time
}

// NewPending counts at most perAddress records of one address, and total
// in all.
func NewPending(perAddress, total int) *Pending {
	return &Pending{perAddress: perAddress, total: total,
		byID: map[string]pendingRecord{}, byAddr: map[string][]string{}}
}

// Reserve counts record id of addr (an AddressKey) until expires. When
// addr or everyone together has no room left at now, it returns false and
// how long until there is (at least a second).
func (p *Pending) Reserve(id, addr string, now, expires time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prune(now)
	wait := func(until time.Time) (time.Duration, bool) { return max(until.Sub(now), time.Second), false }
	if ids := p.byAddr[addr]; len(ids) >= p.perAddress {
		return wait(p.byID[ids[0]].expires)
	}
	if len(p.byID) >= p.total {
		for _, qid := range p.queue {
			if r, ok := p.byID[qid]; ok {
				return wait(r.expires)
			}
		}
	}
	p.byID[id] = pendingRecord{addr: addr, expires: expires}
	p.byAddr[addr] = append(p.byAddr[addr], id)
	p.queue = append(p.queue, id)
	if len(p.queue) > 2*p.total {
		// Released records pile up at the front: keep the live ones.
		live := p.queue[:0]
		for _, qid := range p.queue {
			if _, ok := p.byID[qid]; ok {
				live = append(live, qid)
			}
		}
		p.queue = live
	}
	return 0, true
}

// Release forgets record id: it was settled, or never stored.
func (p *Pending) Release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(id)
}

func (p *Pending) remove(id string) {
	r, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	ids := p.byAddr[r.addr]
	for i, x := range ids {
		if x == id {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(p.byAddr, r.addr)
	} else {
		p.byAddr[r.addr] = ids
	}
}

// prune forgets the records expired at now. p.mu is held.
func (p *Pending) prune(now time.Time) {
	i := 0
	for ; i < len(p.queue); i++ {
		r, ok := p.byID[p.queue[i]]
		if ok && now.Before(r.expires) {
			break
		}
		p.remove(p.queue[i])
	}
	p.queue = p.queue[i:]
}
