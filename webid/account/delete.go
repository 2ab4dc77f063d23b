package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/weconomics/kluis/storage"
)

// Removing pods from accounts, and deleting accounts. The pods' data is
// not this package's: the server deletes it (ldp.Store.DeletePod) before
// calling RemovePod or Delete.

// RemovePod takes the pod at podURL (its base URL, ending in "/") off
// account id: the pod leaves the account's list, and so do the WebIDs
// inside it, and the client credentials that log in as those WebIDs are
// deleted. ErrNotFound when the account does not hold the pod.
func (s *Store) RemovePod(ctx context.Context, id, podURL string) error {
	var gone []credentialItem
	_, err := s.update(ctx, id, func(r *record) error {
		if !slices.Contains(r.Pods, podURL) {
			return fmt.Errorf("pod: %w", ErrNotFound)
		}
		inPod := func(w string) bool { return inPods(w, []string{podURL}) }
		r.Pods = slices.DeleteFunc(r.Pods, func(p string) bool { return p == podURL })
		r.WebIDs = slices.DeleteFunc(r.WebIDs, inPod)
		gone = gone[:0]
		r.Credentials = slices.DeleteFunc(r.Credentials, func(c credentialItem) bool {
			if inPod(c.WebID) {
				gone = append(gone, c)
				return true
			}
			return false
		})
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.deleteKey(ctx, podKey(podURL, id)); err != nil {
		return fmt.Errorf("account: unindexing a pod: %w", err)
	}
	// Unlinked already, so they no longer work (ClientCredential checks
	// the link); their records go too.
	for _, c := range gone {
		if err := s.deleteKey(ctx, credPrefix+digest(c.ID)); err != nil {
			return fmt.Errorf("account: deleting a client credential: %w", err)
		}
	}
	return nil
}

// ForgetPod takes the pod at podURL off every account that holds it, as
// RemovePod does, for a hoster deleting a pod by name. It finds them
// through the pod's index (index.go): its work does not grow with the
// number of accounts, except on a storage not yet migrated (Migrate),
// where it reads every account.
func (s *Store) ForgetPod(ctx context.Context, podURL string) error {
	migrated, err := s.isMigrated(ctx)
	if err != nil {
		return err
	}
	prefix := byPodPrefix + digest(podURL) + "/"
	if !migrated {
		prefix = accountPrefix
	}
	ids, err := s.listKeys(ctx, prefix)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !validID(id) {
			continue
		}
		if !migrated {
			r, _, err := s.read(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !slices.Contains(r.Pods, podURL) {
				continue
			}
		}
		err := s.RemovePod(ctx, id, podURL)
		if errors.Is(err, ErrNotFound) {
			// A marker without its pod: the account is gone, or a pod
			// creation stopped half-way.
			err = s.deleteKey(ctx, podKey(podURL, id))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Delete removes account id and everything it holds in this package: its
// client credentials, its login sessions, its e-mail index and password
// login, its WebID links and the account record itself. Its pods must be
// deleted first (the caller owns them); their URLs are in Account.Pods.
//
// The credentials and the e-mail go first and the record last, so that a
// deletion cut off half-way leaves an account that can be deleted again.
// The account's sessions are found under it (index.go).
func (s *Store) Delete(ctx context.Context, id string) error {
	r, _, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	for _, c := range r.Credentials {
		if err := s.deleteKey(ctx, credPrefix+digest(c.ID)); err != nil {
			return fmt.Errorf("account %s: deleting a client credential: %w", id, err)
		}
	}
	if r.Email != "" {
		var idx emailIndex
		key := emailPrefix + digest(r.Email)
		etag, err := s.readJSON(ctx, key, &idx)
		switch {
		case err == nil && idx.Account == id:
			err = s.backend.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
			if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrPreconditionFailed) {
				return fmt.Errorf("account %s: releasing the e-mail address: %w", id, err)
			}
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("account %s: releasing the e-mail address: %w", id, err)
		}
	}
	if err := s.deleteSessions(ctx, id); err != nil {
		return fmt.Errorf("account %s: ending sessions: %w", id, err)
	}
	for _, pod := range r.Pods {
		if err := s.deleteKey(ctx, podKey(pod, id)); err != nil {
			return fmt.Errorf("account %s: unindexing a pod: %w", id, err)
		}
	}
	if err := s.deleteKey(ctx, accountPrefix+id); err != nil {
		return fmt.Errorf("account %s: %w", id, err)
	}
	return nil
}

// deleteSessions deletes the sessions of account id, found under it; on
// a storage not yet migrated (Migrate), by reading every session.
func (s *Store) deleteSessions(ctx context.Context, id string) error {
	migrated, err := s.isMigrated(ctx)
	if err != nil {
		return err
	}
	if migrated {
		prefix := byAccountPrefix + id + "/session/"
		digests, err := s.listKeys(ctx, prefix)
		if err != nil {
			return err
		}
		for _, d := range digests {
			if err := s.deleteKey(ctx, sessionPrefix+d); err != nil {
				return err
			}
			if err := s.deleteKey(ctx, prefix+d); err != nil {
				return err
			}
		}
		return nil
	}
	keys, err := s.listKeys(ctx, sessionPrefix)
	if err != nil {
		return err
	}
	for _, d := range keys {
		var rec sessionRecord
		_, err := s.readJSON(ctx, sessionPrefix+d, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if rec.Account != id {
			continue
		}
		if err := s.deleteKey(ctx, sessionPrefix+d); err != nil {
			return err
		}
		if err := s.deleteKey(ctx, accountSessionKey(id, d)); err != nil {
			return err
		}
	}
	return nil
}

// deleteKey deletes the object at key; one already gone is no error.
func (s *Store) deleteKey(ctx context.Context, key string) error {
	err := s.backend.Delete(ctx, key, storage.DeleteOptions{})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}
