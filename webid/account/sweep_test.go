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
			s := newStore(be.open(t), c, func(o *Options) { o.SessionTTL = time.Hour; o.ProofTTL = 2 * time.Hour })

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
			// A link to an external WebID, started and never finished.
			var perr *ProofRequiredError
			if err := s.LinkWebID(ctx, full.ID, "https://ext.example/profile#me"); !errors.As(err, &perr) {
				t.Fatalf("LinkWebID: %v, want a proof to make", err)
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
			// The fresh session has expired too, the empty account is a
			// day old, and the pending proof is past its 2 hours; the full
			// account stays, without it.
			if n, err := s.Sweep(ctx); err != nil || n != 3 {
				t.Fatalf("Sweep = %d, %v; want a session, an account and a proof", n, err)
			}
			if r, _, err := s.read(ctx, full.ID); err != nil || len(r.Proofs) != 0 {
				t.Fatalf("the full account's pending proofs: %v, %v", r.Proofs, err)
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
