package idp

import "time"

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
