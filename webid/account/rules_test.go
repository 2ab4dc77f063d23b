package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage/memory"
)

func readAll(r io.ReadCloser) string {
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password string
		ok       bool
	}{
		{"", false},
		{"        ", false},
		{"1234567", false},
		{"12345678", true},
		{"ééééééé", false}, // 7 characters, 14 bytes
		{"éééééééé", true},
		{"correct horse battery staple", true},
		{strings.Repeat("x", MaxPasswordBytes), true},
		{strings.Repeat("x", MaxPasswordBytes+1), false},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", false},
	}
	for _, tc := range tests {
		err := CheckPassword(tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok %v", tc.password, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Errorf("CheckPassword(%q) = %v, not ErrInvalidInput", tc.password, err)
		}
	}
}

func TestNormaliseEmail(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"alice@example.org", "alice@example.org"},
		{"  Alice@Example.ORG\n", "alice@example.org"},
		{"a.b+c@sub.example.org", "a.b+c@sub.example.org"},
		{"", ""},
		{"alice", ""},
		{"@example.org", ""},
		{"alice@", ""},
		{"Alice <alice@example.org>", ""},
		{"a@b@c", ""},
		{"a b@example.org", ""},
		{strings.Repeat("a", 250) + "@example.org", ""},
	}
	for _, tc := range tests {
		got, err := NormaliseEmail(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormaliseEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	salt := []byte("0123456789abcdef")
	h := hashPassword("secret password", salt, fastArgon2())
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if !verifyPassword("secret password", h) {
		t.Fatal("the right password does not verify")
	}
	parts := strings.Split(h, "$")
	tests := []struct {
		name, password, encoded string
	}{
		{"wrong password", "secret passworD", h},
		{"empty", "secret password", ""},
		{"other algorithm", "secret password", strings.Replace(h, "argon2id", "argon2i", 1)},
		{"other version", "secret password", strings.Replace(h, "v=19", "v=16", 1)},
		{"huge memory", "secret password", strings.Replace(h, "m=64", "m=99999999", 1)},
		{"zero time", "secret password", strings.Replace(h, "t=1", "t=0", 1)},
		{"bad salt", "secret password", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")},
		{"no hash", "secret password", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], ""}, "$")},
	}
	for _, tc := range tests {
		if verifyPassword(tc.password, tc.encoded) {
			t.Errorf("%s: verified", tc.name)
		}
	}
	// Two hashes of one password differ (random salt).
	s := New(memory.New(), Options{Argon2: fastArgon2()})
	a, _ := s.hash(context.Background(), "same")
	b, _ := s.hash(context.Background(), "same")
	if a == b {
		t.Fatal("two hashes of a password are equal")
	}
	if got := (Argon2Params{}).withDefaults(); got != DefaultArgon2() {
		t.Fatalf("zero Argon2Params = %+v", got)
	}
}

func TestLimiter(t *testing.T) {
	c := newClock()
	l := newLimiter(c.Now, 3, 10*time.Second, 100)
	for i := range 3 {
		if err := l.take("k"); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	err := l.take("k")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Second || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("fourth attempt: %v", err)
	}
	if err := l.take("other"); err != nil {
		t.Fatalf("another key is limited: %v", err)
	}
	c.Advance(5 * time.Second)
	if err := l.take("k"); !errors.As(err, &rl) || rl.RetryAfter != 5*time.Second {
		t.Fatalf("half refilled: %v", err)
	}
	c.Advance(5 * time.Second)
	if err := l.take("k"); err != nil {
		t.Fatalf("refilled: %v", err)
	}
	l.give("k")
	if err := l.take("k"); err != nil {
		t.Fatalf("after give: %v", err)
	}
	// Refilling never passes the burst.
	c.Advance(time.Hour)
	for range 3 {
		_ = l.take("k")
	}
	if err := l.take("k"); err == nil {
		t.Fatal("burst exceeded after a long pause")
	}
}

func TestLimiterBounded(t *testing.T) {
	c := newClock()
	l := newLimiter(c.Now, 2, time.Minute, 10)
	for i := range 1000 {
		_ = l.take(string(rune('a'+i%26)) + strings.Repeat("x", i))
	}
	if n := l.tracked(); n > 10 {
		t.Fatalf("limiter tracks %d keys, more than its bound 10", n)
	}
	// Full buckets go first: a key in debt survives a flood of keys that
	// have refilled.
	l = newLimiter(c.Now, 1, time.Minute, 3)
	_ = l.take("victim")
	_ = l.take("b")
	_ = l.take("c")
	c.Advance(time.Minute)
	_ = l.take("victim") // in debt again
	_ = l.take("d")      // b and c have refilled and are dropped
	if err := l.take("victim"); err == nil {
		t.Fatal("the victim's debt was forgotten")
	}
}

// TestAuthenticateRateLimits: too many failed logins for one e-mail
// address from one client, or from one client in all, are refused for a
// while, right password or not; a successful login does not count.
func TestAuthenticateRateLimits(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(memory.New(), c, func(o *Options) {
		o.Limits = Limits{AccountBurst: 3, AccountEvery: time.Minute, AddressBurst: 5, AddressEvery: time.Minute}
	})
	if _, err := s.Register(ctx, "r@example.org", "long enough", ""); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.Authenticate(ctx, "r@example.org", "long enough", "192.0.2.1"); err != nil {
			t.Fatalf("successful logins are limited: %v", err)
		}
	}
	for i := range 3 {
		if _, err := s.Authenticate(ctx, "r@example.org", "wrong!!!", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Per account from that address: even the right password.
	if _, err := s.Authenticate(ctx, "r@example.org", "long enough", "192.0.2.1"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after 3 failures: %v", err)
	}
	c.Advance(time.Minute)
	if _, err := s.Authenticate(ctx, "r@example.org", "long enough", "192.0.2.1"); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	// Per client address: guessing many accounts from one place.
	for i := range 5 {
		if _, err := s.Authenticate(ctx, "nobody"+strings.Repeat("x", i)+"@example.org", "whatever1", "2001:db8::1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := s.Authenticate(ctx, "someone@example.org", "whatever1", "[2001:db8::2]:5555"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("sixth guess from the same /64: %v", err)
	}
	// Sign-ups per address.
	s = newStore(memory.New(), c, func(o *Options) { o.Limits = Limits{SignupBurst: 2, SignupEvery: time.Hour} })
	for i := range 2 {
		if _, err := s.Create(ctx, "192.0.2.50"); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	if _, err := s.Register(ctx, "x@example.org", "long enough", "192.0.2.50"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("third sign-up: %v", err)
	}
}

// TestLoginLockoutByOthers: ten failed logins from one address once
// locked the real owner out for 30 s wherever they were (issue 13): a
// lockout anyone could trigger. The limit per account now counts per
// client address, under a much higher ceiling for all addresses together.
func TestLoginLockoutByOthers(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(memory.New(), c, nil)
	if _, err := s.Register(ctx, "owner@example.org", "long enough", ""); err != nil {
		t.Fatal(err)
	}
	attack := func(addr string, n int) (refused int) {
		for range n {
			_, err := s.Authenticate(ctx, "owner@example.org", "guess!!!", addr)
			switch {
			case errors.Is(err, ErrRateLimited):
				refused++
			case !errors.Is(err, ErrBadCredentials):
				t.Fatalf("guess from %s: %v", addr, err)
			}
		}
		return refused
	}
	if refused := attack("203.0.113.66", 12); refused != 2 {
		t.Fatalf("%d of 12 guesses from one address refused, want 2 (past the burst of 10)", refused)
	}
	if _, err := s.Authenticate(ctx, "owner@example.org", "long enough", "192.0.2.10"); err != nil {
		t.Fatalf("the owner from their own address: %v", err)
	}
	// Many addresses together reach the account's ceiling (100), which
	// then holds for the owner too, until it refills.
	for i := range 9 {
		attack(fmt.Sprintf("198.51.100.%d", i), 10)
	}
	if refused := attack("198.51.100.200", 10); refused == 0 {
		t.Fatal("the ceiling per account from all addresses did not hold")
	}
	if _, err := s.Authenticate(ctx, "owner@example.org", "long enough", "192.0.2.10"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the owner under a distributed attack: %v, want the ceiling", err)
	}
	c.Advance(30 * time.Second)
	if _, err := s.Authenticate(ctx, "owner@example.org", "long enough", "192.0.2.10"); err != nil {
		t.Fatalf("the owner once the ceiling refilled one attempt: %v", err)
	}
}

// TestPendingSignups: accounts made without a login (the JSON API's first
// step) are bounded per client address and in all, and their sessions
// expire with them unless the sign-up goes on.
func TestPendingSignups(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(memory.New(), c, func(o *Options) {
		o.Limits = Limits{SignupBurst: 100, PendingPerAddress: 3, MaxPending: 5}
	})
	var first, second Account
	for i := range 3 {
		a, err := s.Create(ctx, "192.0.2.1")
		if err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
		switch i {
		case 0:
			first = a
		case 1:
			second = a
		}
	}
	if _, err := s.Create(ctx, "192.0.2.1"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("a fourth account without a login: %v", err)
	}
	if _, err := s.Create(ctx, "192.0.2.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// Giving an account a login makes room.
	sess, err := s.NewSession(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPasswordLogin(ctx, first.ID, "first@example.org", "long enough"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "192.0.2.1"); err != nil {
		t.Fatalf("after a login was added: %v", err)
	}
	// In all: 3 + 1 held, one more, then full.
	if _, err := s.Create(ctx, "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "192.0.2.4"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("past MaxPending: %v", err)
	}
	// A session begun while the account was empty is stored to end with
	// the account, unless the sign-up went on: then, used, it gets its
	// full lifetime.
	other, err := s.NewSession(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if _, err := s.SessionAccount(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	c.Advance(emptyAccountLife)
	if _, err := s.SessionAccount(ctx, sess.Token); err != nil {
		t.Fatalf("the session of the account with a login: %v", err)
	}
	// Five empty accounts and the session of one.
	if n, err := s.Sweep(ctx); err != nil || n != 5+1 {
		t.Fatalf("Sweep = %d, %v; want 6", n, err)
	}
	if _, err := s.SessionAccount(ctx, other.Token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("the session of a swept empty account: %v", err)
	}
	if _, err := s.Create(ctx, "192.0.2.4"); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

func TestSanitiseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"my-token", "my-token"},
		{"  my token  ", "my-token"},
		{"a//b", "a-b"},
		{"ünïcode", "-n-code"},
		{strings.Repeat("a", 100), strings.Repeat("a", maxCredentialName)},
		{"", ""},
	}
	for _, tc := range tests {
		if got := sanitiseName(tc.in); got != tc.want {
			t.Errorf("sanitiseName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHashingBounded: no more password hashes run at once than allowed; a
// caller that gives up waiting leaves nothing behind.
func TestHashingBounded(t *testing.T) {
	s := New(memory.New(), Options{Argon2: fastArgon2(), MaxHashing: 1})
	s.hashing <- struct{}{} // one hash in progress
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Register(ctx, "a@example.org", "long enough", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Register while the hasher is busy and the request gone: %v", err)
	}
	<-s.hashing
	if _, err := s.Register(context.Background(), "a@example.org", "long enough", ""); err != nil {
		t.Fatalf("the address was not released: %v", err)
	}
}
