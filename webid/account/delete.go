package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// RemovePod does, for a hoster deleting a pod by name. It reads every
// account, so it is for the command line, not for requests.
func (s *Store) ForgetPod(ctx context.Context, podURL string) error {
	var ids []string
	for info, err := range s.backend.List(ctx, accountPrefix) {
		if err != nil {
			return fmt.Errorf("account: listing accounts: %w", err)
		}
		if !info.IsPrefix {
			ids = append(ids, strings.TrimPrefix(info.Key, accountPrefix))
		}
	}
	for _, id := range ids {
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
		if err := s.RemovePod(ctx, id, podURL); err != nil && !errors.Is(err, ErrNotFound) {
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
// Finding the sessions reads every session of the server.
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
	if err := s.deleteKey(ctx, accountPrefix+id); err != nil {
		return fmt.Errorf("account %s: %w", id, err)
	}
	return nil
}

// deleteSessions deletes the sessions of account id.
func (s *Store) deleteSessions(ctx context.Context, id string) error {
	var keys []string
	for info, err := range s.backend.List(ctx, sessionPrefix) {
		if err != nil {
			return err
		}
		if !info.IsPrefix {
			keys = append(keys, info.Key)
		}
	}
	for _, key := range keys {
		var rec sessionRecord
		_, err := s.readJSON(ctx, key, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if rec.Account != id {
			continue
		}
		if err := s.deleteKey(ctx, key); err != nil {
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
