package account

import (
	"context"
	"errors"
	"testing"
)

// TestDelete: removing a pod takes its WebIDs and their credentials off
// the account; deleting the account ends its login, sessions, client
// credentials and e-mail claim, and leaves other accounts alone.
func TestDelete(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			b := be.open(t)
			s := newStore(b, newClock(), nil)
			a, err := s.Register(ctx, "Ann@example.org", "long enough", "10.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.Register(ctx, "other@example.org", "long enough", "10.0.0.2")
			if err != nil {
				t.Fatal(err)
			}
			const pod1, pod2 = "https://pods.example/ann/", "https://pods.example/ann-work/"
			web1, web2 := pod1+"profile/card#me", pod2+"profile/card#me"
			for _, p := range [][2]string{{pod1, web1}, {pod2, web2}} {
				if err := s.AddPod(ctx, a.ID, p[0], p[1]); err != nil {
					t.Fatal(err)
				}
			}
			c1, sec1, err := s.CreateCredential(ctx, a.ID, "one", web1)
			if err != nil {
				t.Fatal(err)
			}
			c2, _, err := s.CreateCredential(ctx, a.ID, "two", web2)
			if err != nil {
				t.Fatal(err)
			}
			sess1, _ := s.NewSession(ctx, a.ID)
			sess2, _ := s.NewSession(ctx, a.ID)
			otherSess, _ := s.NewSession(ctx, other.ID)

			if err := s.RemovePod(ctx, a.ID, pod1); err != nil {
				t.Fatal(err)
			}
			if err := s.RemovePod(ctx, a.ID, pod1); !errors.Is(err, ErrNotFound) {
				t.Errorf("removing again: %v", err)
			}
			got, _ := s.Get(ctx, a.ID)
			if len(got.Pods) != 1 || got.Pods[0] != pod2 || got.Linked(web1) || !got.Linked(web2) {
				t.Errorf("after RemovePod: %+v", got)
			}
			if _, err := s.ClientCredential(ctx, c1.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("credential of the removed pod's WebID: %v", err)
			}
			if exists(t, s, credPrefix+digest(c1.ID)) {
				t.Error("the credential's record is left")
			}
			if cr, err := s.ClientCredential(ctx, c2.ID); err != nil || cr.Verify(sec1) {
				t.Errorf("credential of the other pod: %v", err)
			}

			// A hoster forgets a pod by URL, whichever account holds it.
			if err := s.ForgetPod(ctx, pod2); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, a.ID); len(got.Pods) != 0 || len(got.WebIDs) != 0 {
				t.Errorf("after ForgetPod: %+v", got)
			}
			if err := s.AddPod(ctx, a.ID, pod2, web2); err != nil {
				t.Fatal(err)
			}
			c3, _, err := s.CreateCredential(ctx, a.ID, "three", web2)
			if err != nil {
				t.Fatal(err)
			}

			if err := s.Delete(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, a.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete: %v", err)
			}
			if _, err := s.Authenticate(ctx, "ann@example.org", "long enough", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("login after Delete: %v", err)
			}
			for _, tok := range []string{sess1.Token, sess2.Token} {
				if _, err := s.SessionAccount(ctx, tok); !errors.Is(err, ErrNoSession) {
					t.Errorf("session after Delete: %v", err)
				}
			}
			if _, err := s.ClientCredential(ctx, c3.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("credential after Delete: %v", err)
			}
			for _, k := range []string{accountPrefix + a.ID, emailPrefix + digest("ann@example.org"), credPrefix + digest(c3.ID),
				sessionPrefix + digest(sess1.Token), sessionPrefix + digest(sess2.Token)} {
				if exists(t, s, k) {
					t.Errorf("%s is left", k)
				}
			}
			if err := s.Delete(ctx, a.ID); !errors.Is(err, ErrNotFound) {
				t.Error("deleting again is not ErrNotFound")
			}
			// The other account is untouched, and the address is free.
			if acc, err := s.SessionAccount(ctx, otherSess.Token); err != nil || acc.ID != other.ID {
				t.Errorf("the other account's session: %v", err)
			}
			if _, err := s.Register(ctx, "ann@example.org", "long enough", "10.0.0.3"); err != nil {
				t.Errorf("registering the address again: %v", err)
			}
		})
	}
}

func exists(t *testing.T, s *Store, key string) bool {
	t.Helper()
	_, err := s.backend.Stat(context.Background(), key)
	return err == nil
}
