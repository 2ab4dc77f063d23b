package idp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// This file holds the in-memory bounds of anonymous registration: a token
// bucket per client address (the rate) and the registered clients of each
// address not yet used for a login (the count). Both are per process, like
// the account rate limits; what is stored is bounded over time by the
// clients' expiry (sweep.go).

// ClientLimits bound dynamic client registration (RFC 7591), which anyone
// may use without an account. Zero fields take the defaults.
type ClientLimits struct {
	// MaxBytes bounds the body of a registration request (default 8 KiB:
	// real registrations are under 4 KiB).
	MaxBytes int
	// Burst and Every limit registrations per client address: Burst at
	// once, then one every Every (default 20, then one per minute).
	Burst int
	Every time.Duration
	// MaxPendingPerAddress is the most clients one client address may have
	// registered that have not yet been used for a login and not expired
	// (default 20).
	MaxPendingPerAddress int
	// MaxPending is the most such clients in all (default 10,000), so that
	// many addresses together cannot store without bound either.
	MaxPending int
	// UnusedLifetime is how long a registered client that never completes
	// a login is kept (default 24 hours).
	UnusedLifetime time.Duration
	// UsedLifetime is how long a client is kept after its last login
	// (default 30 days). It is never less than the refresh-token
	// lifetime, so a client outlives every refresh token issued to it.
	UsedLifetime time.Duration
	// MaxTracked bounds the client addresses the rate limit remembers
	// (default 10,000).
	MaxTracked int
}

// Defaults of ClientLimits.
const (
	DefaultRegistrationBytes = 8 << 10
	DefaultUnusedClientLife  = 24 * time.Hour
	DefaultUsedClientLife    = 30 * 24 * time.Hour
)

func (l ClientLimits) withDefaults() ClientLimits {
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&l.MaxBytes, DefaultRegistrationBytes)
	defInt(&l.Burst, 20)
	defDur(&l.Every, time.Minute)
	defInt(&l.MaxPendingPerAddress, 20)
	defInt(&l.MaxPending, 10_000)
	defDur(&l.UnusedLifetime, DefaultUnusedClientLife)
	defDur(&l.UsedLifetime, DefaultUsedClientLife)
	defInt(&l.MaxTracked, 10_000)
	return l
}

// rateLimiter is a set of token buckets, one per key, in a map of bounded
// size: Burst attempts, regaining one every Every.
type rateLimiter struct {
	burst float64
	every time.Duration
	max   int

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(burst int, every time.Duration, max int) *rateLimiter {
	return &rateLimiter{burst: float64(burst), every: every, max: max, buckets: map[string]*tokenBucket{}}
}

func (l *rateLimiter) refill(b *tokenBucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
}

// take spends one attempt of key at now, or returns how long until the
// next one is due.
func (l *rateLimiter) take(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			// Full buckets hold no information; when none is full, an
			// arbitrary one goes, so memory stays bounded.
			for k, ob := range l.buckets {
				l.refill(ob, now)
				if ob.tokens >= l.burst {
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
		b = &tokenBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return max(time.Duration((1-b.tokens)*float64(l.every)), time.Second), false
	}
	b.tokens--
	return 0, true
}

// pendingClients counts the registered clients that have not been used
// for a login yet, per client address and in all, until they expire.
// Expiry is registration time plus a constant, so the order of
// registration is the order of expiry.
type pendingClients struct {
	perAddress, total int

	mu     sync.Mutex
	byID   map[string]pendingClient
	byAddr map[string][]string // client ids, oldest first
	queue  []string            // every id added, oldest first; removed ones are skipped
}

type pendingClient struct {
	addr    string
	expires time.Time
}

func newPendingClients(perAddress, total int) *pendingClients {
	return &pendingClients{perAddress: perAddress, total: total,
		byID: map[string]pendingClient{}, byAddr: map[string][]string{}}
}

// reserve counts client id of addr, expiring at expires, or returns how
// long until room is made. now is the time of the registration.
func (p *pendingClients) reserve(id, addr string, now, expires time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prune(now)
	if ids := p.byAddr[addr]; len(ids) >= p.perAddress {
		return max(p.byID[ids[0]].expires.Sub(now), time.Second), false
	}
	if len(p.byID) >= p.total {
		for _, qid := range p.queue {
			if c, ok := p.byID[qid]; ok {
				return max(c.expires.Sub(now), time.Second), false
			}
		}
	}
	p.byID[id] = pendingClient{addr: addr, expires: expires}
	p.byAddr[addr] = append(p.byAddr[addr], id)
	p.queue = append(p.queue, id)
	if len(p.queue) > 2*p.total {
		// Released entries pile up at the front: keep the live ones.
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

// release forgets client id: it was used for a login, or never stored.
func (p *pendingClients) release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(id)
}

func (p *pendingClients) remove(id string) {
	c, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	ids := p.byAddr[c.addr]
	for i, x := range ids {
		if x == id {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(p.byAddr, c.addr)
	} else {
		p.byAddr[c.addr] = ids
	}
}

// prune forgets the clients expired at now. p.mu is held.
func (p *pendingClients) prune(now time.Time) {
	i := 0
	for ; i < len(p.queue); i++ {
		c, ok := p.byID[p.queue[i]]
		if ok && now.Before(c.expires) {
			break
		}
		p.remove(p.queue[i])
	}
	p.queue = p.queue[i:]
}

// addressKey is the rate-limit key of a client address: the IP address
// without port, an IPv6 address by its /64 (one subscriber usually holds
// a whole /64), as webid/account counts them.
func addressKey(clientAddr string) string {
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
