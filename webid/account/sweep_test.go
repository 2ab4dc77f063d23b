package account

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSweep: housekeeping removes expired sessions and accounts left empty
// for a day, and nothing that is still in use, on every backend.
func TestSweep(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			s := newStore(be.open(t), c, func(o *Options) { o.SessionTTL = time.Hour })

			// A full account with an old and a new session, and an
			// account made through the JSON API that never got a login.
			full, err := s.Register(ctx, "full@example.org", "long enough", "")
			if err != nil {
				t.Fatal(err)
			}
			old, err := s.NewSession(ctx, full.ID)
			if err != nil {
				t.Fatal(err)
			}
			empty, err := s.Create(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			c.Advance(50 * time.Minute)
			fresh, err := s.NewSession(ctx, full.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Not yet: nothing expired, the empty account is young.
			if n, err := s.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("Sweep = %d, %v; want 0", n, err)
			}
			c.Advance(20 * time.Minute) // the old session has expired
			if n, err := s.Sweep(ctx); err != nil || n != 1 {
				t.Fatalf("Sweep = %d, %v; want the old session", n, err)
			}
			if _, err := s.SessionAccount(ctx, fresh.Token); err != nil {
				t.Fatalf("the live session: %v", err)
			}
			if _, err := s.SessionAccount(ctx, old.Token); !errors.Is(err, ErrNoSession) {
				t.Fatalf("the swept session: %v", err)
			}
			c.Advance(24 * time.Hour)
			// The fresh session has expired too, and the empty account is a
			// day old; the full one stays.
			if n, err := s.Sweep(ctx); err != nil || n != 2 {
				t.Fatalf("Sweep = %d, %v; want a session and an account", n, err)
			}
			if _, err := s.Get(ctx, empty.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the empty account: %v", err)
			}
			if _, err := s.Get(ctx, full.ID); err != nil {
				t.Fatalf("the full account: %v", err)
			}
			if n, err := s.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("Sweep again = %d, %v; want 0", n, err)
			}
		})
	}
}
