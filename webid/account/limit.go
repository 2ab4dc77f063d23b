package account

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits are the rate limits of a Store: token buckets that hold Burst
// attempts and regain one every Every. Zero fields take the defaults.
type Limits struct {
	// AccountBurst and AccountEvery limit login attempts per e-mail
	// address from one client address (default 10, then one per 30
	// seconds). Failed logins from one address lock out that address, not
	// the account's owner elsewhere.
	AccountBurst int
	AccountEvery time.Duration
	// AccountTotalBurst and AccountTotalEvery limit login attempts per
	// e-mail address from all client addresses together (default 100,
	// then one per 30 seconds): the ceiling on guessing one password from
	// many addresses. Only an attack from many addresses at once reaches
	// it, and then locks out the owner too, until it stops.
	AccountTotalBurst int
	AccountTotalEvery time.Duration
	// AddressBurst and AddressEvery limit login attempts per client
	// address (default 30, then one per 10 seconds).
	AddressBurst int
	AddressEvery time.Duration
	// SignupBurst and SignupEvery limit new accounts per client address
	// (default 10, then one per minute).
	SignupBurst int
	SignupEvery time.Duration
	// ResetBurst and ResetEvery limit password reset requests per e-mail
	// address, whether or not it has a login (default 3, then one per 10
	// minutes): each may send a mail.
	ResetBurst int
	ResetEvery time.Duration
	// ResetAddressBurst and ResetAddressEvery limit password reset
	// requests per client address (default 10, then one per minute).
	ResetAddressBurst int
	ResetAddressEvery time.Duration
	// PendingPerAddress is the most accounts without a login (made by
	// Create, the first step of a sign-up through the JSON API) that one
	// client address may have made in the last day and not yet given a
	// login (default 20); MaxPending is the most in all (default 10,000).
	// Such accounts are deleted after a day (Sweep). Both count per
	// process.
	PendingPerAddress int
	MaxPending        int
	// MaxTracked bounds the keys each limiter remembers (default 10,000).
	MaxTracked int
}

func (l Limits) withDefaults() Limits {
	def := func(n *int, d *time.Duration, burst int, every time.Duration) {
		if *n <= 0 {
			*n = burst
		}
		if *d <= 0 {
			*d = every
		}
	}
	def(&l.AccountBurst, &l.AccountEvery, 10, 30*time.Second)
	def(&l.AccountTotalBurst, &l.AccountTotalEvery, 100, 30*time.Second)
	def(&l.AddressBurst, &l.AddressEvery, 30, 10*time.Second)
	def(&l.SignupBurst, &l.SignupEvery, 10, time.Minute)
	def(&l.ResetBurst, &l.ResetEvery, 3, 10*time.Minute)
	def(&l.ResetAddressBurst, &l.ResetAddressEvery, 10, time.Minute)
	if l.MaxTracked <= 0 {
		l.MaxTracked = 10_000
	}
	if l.PendingPerAddress <= 0 {
		l.PendingPerAddress = 20
	}
	if l.MaxPending <= 0 {
		l.MaxPending = 10_000
	}
	return l
}

// limiter is a set of token buckets, one per key, in a map of bounded
// size. A bucket that has refilled holds no information, so it is the
// first to go when the map is full.
type limiter struct {
	now   func() time.Time
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

func newLimiter(now func() time.Time, burst int, every time.Duration, max int) *limiter {
	return &limiter{now: now, burst: float64(burst), every: every, max: max, buckets: map[string]*bucket{}}
}

// refill brings b up to date at now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
}

// take spends one attempt of key, or returns a *RateLimitedError saying
// when the next one is due.
func (l *limiter) take(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(l.every))
		return &RateLimitedError{RetryAfter: max(wait, time.Second)}
	}
	b.tokens--
	return nil
}

// give returns an attempt taken by a request that succeeded.
func (l *limiter) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		l.refill(b, l.now())
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// makeRoom keeps the map below its bound: it drops the buckets that have
// refilled, and when every bucket still holds a debt, an arbitrary one
// (the map's order), so that memory stays bounded whatever clients do.
func (l *limiter) makeRoom(now time.Time) {
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

// tracked is how many keys the limiter remembers, for tests.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// addressKey is the rate-limit key of a client address: the IP address
// without port, an IPv6 address by its /64 (one subscriber usually holds
// a whole /64).
func addressKey(clientAddr string) string {
	host := clientAddr
	if h, _, err := net.SplitHostPort(clientAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "?" + truncate(clientAddr)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// pendingAccounts counts the accounts made without a login, per client
// address and in all, until they get one or are a day old. Expiry is
// creation time plus a constant, so the order of creation is the order
// of expiry.
type pendingAccounts struct {
	perAddress, total int

	mu     sync.Mutex
	byID   map[string]pendingAccount
	byAddr map[string][]string // account ids, oldest first
	queue  []string            // every id added, oldest first; removed ones are skipped
}

type pendingAccount struct {
	addr    string
	expires time.Time
}

func newPendingAccounts(perAddress, total int) *pendingAccounts {
	return &pendingAccounts{perAddress: perAddress, total: total,
		byID: map[string]pendingAccount{}, byAddr: map[string][]string{}}
}

// reserve counts account id of addr until expires, or returns a
// *RateLimitedError saying when there is room.
func (p *pendingAccounts) reserve(id, addr string, now, expires time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prune(now)
	wait := func(until time.Time) error {
		return &RateLimitedError{RetryAfter: max(until.Sub(now), time.Second)}
	}
	if ids := p.byAddr[addr]; len(ids) >= p.perAddress {
		return wait(p.byID[ids[0]].expires)
	}
	if len(p.byID) >= p.total {
		for _, qid := range p.queue {
			if a, ok := p.byID[qid]; ok {
				return wait(a.expires)
			}
		}
	}
	p.byID[id] = pendingAccount{addr: addr, expires: expires}
	p.byAddr[addr] = append(p.byAddr[addr], id)
	p.queue = append(p.queue, id)
	if len(p.queue) > 2*p.total {
		live := p.queue[:0]
		for _, qid := range p.queue {
			if _, ok := p.byID[qid]; ok {
				live = append(live, qid)
			}
		}
		p.queue = live
	}
	return nil
}

// release forgets account id: it got a login, or was never stored.
func (p *pendingAccounts) release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(id)
}

func (p *pendingAccounts) remove(id string) {
	a, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	ids := p.byAddr[a.addr]
	for i, x := range ids {
		if x == id {
			ids = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(p.byAddr, a.addr)
	} else {
		p.byAddr[a.addr] = ids
	}
}

// prune forgets the accounts expired at now. p.mu is held.
func (p *pendingAccounts) prune(now time.Time) {
	i := 0
	for ; i < len(p.queue); i++ {
		a, ok := p.byID[p.queue[i]]
		if ok && now.Before(a.expires) {
			break
		}
		p.remove(p.queue[i])
	}
	p.queue = p.queue[i:]
}
