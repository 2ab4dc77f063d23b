package account

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// TestPasswordReset runs the password reset records on every backend.
func TestPasswordReset(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Run("reset", func(t *testing.T) { testReset(t, be.open(t)) })
			t.Run("expiry and sweep", func(t *testing.T) { testResetExpiry(t, be.open(t)) })
			t.Run("password changes void tokens", func(t *testing.T) { testResetStamp(t, be.open(t)) })
			t.Run("one token, two resets", func(t *testing.T) { testResetRace(t, be.open(t)) })
		})
	}
}

// resetKeys lists the stored reset records.
func resetKeys(t *testing.T, b storage.Backend) []string {
	t.Helper()
	var keys []string
	for info, err := range b.List(context.Background(), resetPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func testReset(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "r@example.org", "old password", "")
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}

	// An address without a login: nothing is stored.
	if _, err := s.NewReset(ctx, "nobody@example.org"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("NewReset for an unknown address: %v", err)
	}
	if keys := resetKeys(t, b); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}

	r, err := s.NewReset(ctx, "r@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if r.Account.ID != a.ID || len(r.Token) != tokenLength || !r.Expires.Equal(newClock().Now().Add(DefaultResetTTL)) {
		t.Fatalf("NewReset = %+v", r)
	}
	assertNotStored(t, b, r.Token)
	if err := s.CheckReset(ctx, r.Token); err != nil {
		t.Fatalf("CheckReset: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", tokenLength), r.Token + "A", "../../../r/.acl"} {
		if err := s.CheckReset(ctx, bad); !errors.Is(err, ErrResetInvalid) {
			t.Errorf("CheckReset(%q) = %v", bad, err)
		}
		if _, err := s.ResetPassword(ctx, bad, "new password", ""); !errors.Is(err, ErrResetInvalid) {
			t.Errorf("ResetPassword(%q) = %v", bad, err)
		}
	}

	// A weak password does not use the token up.
	var in *InputError
	if _, err := s.ResetPassword(ctx, r.Token, "short", ""); !errors.As(err, &in) {
		t.Fatalf("weak password: %v", err)
	}
	if !a.SignedOutAt.IsZero() {
		t.Fatalf("a new account is signed out at %v", a.SignedOutAt)
	}
	got, err := s.ResetPassword(ctx, r.Token, "new password", "")
	if err != nil || got.ID != a.ID {
		t.Fatalf("ResetPassword = %v, %v", got.ID, err)
	}
	// Every sign-in before the reset ends, for the identity provider too.
	if stored, err := s.Get(ctx, a.ID); err != nil || !stored.SignedOutAt.Equal(newClock().Now()) || !got.SignedOutAt.Equal(stored.SignedOutAt) {
		t.Fatalf("SignedOutAt after the reset: %v (stored %v, %v)", got.SignedOutAt, stored.SignedOutAt, err)
	}
	if _, err := s.ResetPassword(ctx, r.Token, "newer password", ""); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("the token again: %v", err)
	}
	if keys := resetKeys(t, b); len(keys) != 0 {
		t.Fatalf("the used record is still stored: %v", keys)
	}
	if _, err := s.Authenticate(ctx, "r@example.org", "old password", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "r@example.org", "new password", ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// The reset ended the session made before it, not those made after.
	if _, err := s.SessionAccount(ctx, old.Token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session from before the reset: %v", err)
	}
	fresh, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, fresh.Token); err != nil {
		t.Fatalf("session from after the reset: %v", err)
	}

	// A reset whose mail could not be sent is cancelled.
	r2, err := s.NewReset(ctx, "r@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CancelReset(ctx, r2.Token); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckReset(ctx, r2.Token); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := s.CancelReset(ctx, r2.Token); err != nil {
		t.Fatalf("cancelling twice: %v", err)
	}

	// Deleting the account voids its tokens.
	r3, err := s.NewReset(ctx, "r@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, r3.Token, "new password", ""); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("token of a deleted account: %v", err)
	}
}

func testResetExpiry(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	c := newClock()
	s := newStore(b, c, func(o *Options) { o.ResetTTL = 10 * time.Minute })
	if _, err := s.Register(ctx, "e@example.org", "old password", ""); err != nil {
		t.Fatal(err)
	}
	early, err := s.NewReset(ctx, "e@example.org")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	late, err := s.NewReset(ctx, "e@example.org")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	// early expires now, late in 5 minutes.
	if n, err := s.SweepResets(ctx); err != nil || n != 1 {
		t.Fatalf("SweepResets = %d, %v; want 1", n, err)
	}
	if _, err := s.ResetPassword(ctx, early.Token, "new password", ""); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("expired token: %v", err)
	}
	if err := s.CheckReset(ctx, late.Token); err != nil {
		t.Fatalf("live token: %v", err)
	}
	c.Advance(5 * time.Minute)
	if err := s.CheckReset(ctx, late.Token); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("expired token: %v", err)
	}
	if keys := resetKeys(t, b); len(keys) != 0 {
		t.Fatalf("an expired record looked at is still stored: %v", keys)
	}
	if n, err := s.SweepResets(ctx); err != nil || n != 0 {
		t.Fatalf("SweepResets = %d, %v; want 0", n, err)
	}
}

func testResetStamp(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "p@example.org", "old password", "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.NewReset(ctx, "p@example.org")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.NewReset(ctx, "p@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, second.Token, "new password", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, first.Token, "other password", ""); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("a token from before another reset: %v", err)
	}
	third, err := s.NewReset(ctx, "p@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, a.ID, "new password", "changed password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, third.Token, "other password", ""); !errors.Is(err, ErrResetInvalid) {
		t.Fatalf("a token from before a password change: %v", err)
	}
	if _, err := s.Authenticate(ctx, "p@example.org", "changed password", ""); err != nil {
		t.Fatalf("the changed password: %v", err)
	}
}

// testResetRace: of several resets with one token at once, exactly one
// succeeds.
func testResetRace(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	if _, err := s.Register(ctx, "race@example.org", "old password", ""); err != nil {
		t.Fatal(err)
	}
	r, err := s.NewReset(ctx, "race@example.org")
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.ResetPassword(ctx, r.Token, "password number "+string(rune('a'+i)), "")
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("resets %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrResetInvalid):
			t.Fatalf("reset %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no reset succeeded")
	}
	if _, err := s.Authenticate(ctx, "race@example.org", "password number "+string(rune('a'+won)), ""); err != nil {
		t.Fatalf("the winner's password: %v", err)
	}
}

// TestAllowReset: reset requests are limited per e-mail address and per
// client address, the same whether or not the address has a login.
func TestAllowReset(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(backends()[0].open(t), c, func(o *Options) {
		o.Limits = Limits{ResetBurst: 2, ResetEvery: time.Hour, ResetAddressBurst: 5, ResetAddressEvery: time.Hour}
	})
	if _, err := s.Register(ctx, "known@example.org", "long enough", ""); err != nil {
		t.Fatal(err)
	}
	var in *InputError
	if _, err := s.AllowReset("not an address", "192.0.2.1"); !errors.As(err, &in) {
		t.Fatalf("bad address: %v", err)
	}
	for _, email := range []string{"known@example.org", "unknown@example.org"} {
		for i, wantLimited := range []bool{false, false, true} {
			got, err := s.AllowReset(" "+strings.ToUpper(email), "192.0.2.1")
			var rl *RateLimitedError
			if wantLimited != errors.As(err, &rl) || !wantLimited && (err != nil || got != email) {
				t.Fatalf("%s, attempt %d: %q, %v", email, i, got, err)
			}
		}
	}
	// 4 taken by 192.0.2.1 (the limited ones were given back): one more.
	if _, err := s.AllowReset("third@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var rl *RateLimitedError
	if _, err := s.AllowReset("fourth@example.org", "192.0.2.1"); !errors.As(err, &rl) {
		t.Fatalf("client address over its limit: %v", err)
	}
	if _, err := s.AllowReset("fourth@example.org", "198.51.100.7"); err != nil {
		t.Fatalf("another client address: %v", err)
	}
	c.Advance(time.Hour)
	if _, err := s.AllowReset("known@example.org", "192.0.2.1"); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}
