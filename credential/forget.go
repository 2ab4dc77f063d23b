package credential

import (
	"context"
	"errors"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
)

// Retention is how long a credential is kept once it has ended (expired,
// revoked or cancelled): then it is deleted, with its status and its
// place in its parties' lists, so that those lists, and what an agent
// makes Kluis store, do not grow for good. The records in the person's
// pod (server/consent) are theirs and stay.
const Retention = 90 * 24 * time.Hour

// prefixForget is the index of the credentials to delete, by the hour
// they are due: the end of their validity, or of their revocation, plus
// Retention (storage/expiry).
const prefixForget = "sys/consent/forget/"

func (s *Service) forgets() expiry.Index {
	return expiry.Index{Backend: s.cfg.Store, Prefix: prefixForget}
}

// sweepForgotten deletes the credentials whose Retention has passed, once
// across processes (a deletion twice is harmless).
func (s *Service) sweepForgotten(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.forgets().Sweep(ctx, now, func(ctx context.Context, id string) (bool, error) {
		st, err := s.load(ctx, s.cfg.Base+"vc/"+id)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		acc := st.access
		end := acc.Expires
		at, err := s.revokedAt(ctx, acc.ID)
		if err != nil {
			return false, err
		}
		if !at.IsZero() && (end.IsZero() || at.Before(end)) {
			end = at
		}
		if end.IsZero() || now.Before(end.Add(Retention)) {
			return false, nil // not yet: its marker of a later hour holds it
		}
		if err := s.forget(ctx, id, acc); err != nil {
			return false, err
		}
		n++
		return true, nil
	})
	return n, err
}

// forget deletes the credential id and what refers to it; the credential
// itself goes last, so that a failure leaves it to the next sweep.
func (s *Service) forget(ctx context.Context, id string, acc *Access) error {
	keys := []string{prefixStatus + id, prefixAnswer + id, prefixExpired + id}
	for _, party := range uniq(acc.Subject, acc.Requestor, acc.Owner) {
		keys = append(keys, prefixParty+partyKey(party)+"/"+id)
	}
	for _, e := range liveRoles(acc) {
		keys = append(keys, liveKey(e, id))
	}
	keys = append(keys, prefixCredentials+id)
	for _, k := range keys {
		if err := s.cfg.Store.Delete(ctx, k, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	s.mu.Lock()
	delete(s.docs, id)
	s.mu.Unlock()
	s.forgetActive(acc.Requestor)
	return nil
}
