package account

import (
	"time"

	"github.com/weconomics/kluis/webid/limit"
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

// limiter is a set of token buckets (limit.Buckets) on the store's
// clock, whose refusals are *RateLimitedError.
type limiter struct {
	now func() time.Time
	b   *limit.Buckets
}

func newLimiter(now func() time.Time, burst int, every time.Duration, max int) *limiter {
	return &limiter{now: now, b: limit.NewBuckets(burst, every, max)}
}

// take spends one attempt of key, or returns a *RateLimitedError saying
// when the next one is due.
func (l *limiter) take(key string) error {
	if wait, ok := l.b.Take(key, l.now()); !ok {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}

// give returns an attempt taken by a request that succeeded.
func (l *limiter) give(key string) { l.b.Give(key, l.now()) }

// tracked is how many keys the limiter remembers, for tests.
func (l *limiter) tracked() int { return l.b.Tracked() }

// addressKey is the rate-limit key of a client address (limit.AddressKey).
func addressKey(clientAddr string) string { return limit.AddressKey(clientAddr) }

// pendingAccounts counts the accounts made without a login, per client
// address and in all, until they get one or are a day old (limit.Pending).
type pendingAccounts struct{ p *limit.Pending }

func newPendingAccounts(perAddress, total int) *pendingAccounts {
	return &pendingAccounts{limit.NewPending(perAddress, total)}
}

// reserve counts account id of addr until expires, or returns a
// *RateLimitedError saying when there is room.
func (p *pendingAccounts) reserve(id, addr string, now, expires time.Time) error {
	if wait, ok := p.p.Reserve(id, addr, now, expires); !ok {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}

// release forgets account id: it got a login, or was never stored.
func (p *pendingAccounts) release(id string) { p.p.Release(id) }
