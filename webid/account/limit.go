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
	// address (default 10, then one per 30 seconds).
	AccountBurst int
	AccountEvery time.Duration
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
	def(&l.AddressBurst, &l.AddressEvery, 30, 10*time.Second)
	def(&l.SignupBurst, &l.SignupEvery, 10, time.Minute)
	def(&l.ResetBurst, &l.ResetEvery, 3, 10*time.Minute)
	def(&l.ResetAddressBurst, &l.ResetAddressEvery, 10, time.Minute)
	if l.MaxTracked <= 0 {
		l.MaxTracked = 10_000
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
