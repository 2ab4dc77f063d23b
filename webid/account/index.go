package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// The indexes, so that no request and no sweep reads every account or
// session of the server (doc.go):
//
//	sys/accounts/by-account/<id>/session/<sha256(token)>  an account's sessions
//	sys/accounts/by-pod/<sha256(pod URL)>/<id>            the accounts holding a pod
//	sys/accounts/expiry/<hour>/<kind>.<name>              what expires in that hour
//
// Each is an empty marker written before the record it points to (with
// If-None-Match, so writing it again is harmless), so that a stored record
// is always found through its index; a marker whose record is gone is
// dropped when next met. The expiry markers are storage/expiry's: a
// session "session.<account>.<sha256(token)>", a password reset
// "reset.<sha256(token)>", an account that may be left empty
// "account.<id>", an account with a pending WebID proof "proof.<id>".

// Kinds of expiry markers.
const (
	markerSession = "session."
	markerReset   = "reset."
	markerAccount = "account."
	markerProof   = "proof."
)

// sessionMarker is the expiry marker name of a session.
func sessionMarker(account, sessionDigest string) string {
	return markerSession + account + "." + sessionDigest
}

// accountSessionKey is the key of a session in its account's index.
func accountSessionKey(account, sessionDigest string) string {
	return byAccountPrefix + account + "/session/" + sessionDigest
}

// podKey is the key of an account in a pod's index.
func podKey(podURL, account string) string {
	return byPodPrefix + digest(podURL) + "/" + account
}

// putMarker writes an empty marker at key; one there already is no error.
func (s *Store) putMarker(ctx context.Context, key string) error {
	_, err := s.backend.Put(ctx, key, strings.NewReader(""), storage.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("account: indexing: %w", err)
	}
	return nil
}

// indexSession writes the markers of a session about to be stored: under
// its account, and at its expiry.
func (s *Store) indexSession(ctx context.Context, sessionDigest string, rec sessionRecord) error {
	if err := s.putMarker(ctx, accountSessionKey(rec.Account, sessionDigest)); err != nil {
		return err
	}
	return s.expiry.Add(ctx, rec.Expires, sessionMarker(rec.Account, sessionDigest))
}

// dropSession deletes a session that has ended, if unchanged since read
// (etag; "" for any), and its marker under its account, best effort.
func (s *Store) dropSession(ctx context.Context, sessionDigest, account, etag string) {
	err := s.backend.Delete(ctx, sessionPrefix+sessionDigest, storage.DeleteOptions{IfMatch: etag})
	if (err == nil || errors.Is(err, storage.ErrNotFound)) && validID(account) {
		_ = s.deleteKey(ctx, accountSessionKey(account, sessionDigest))
	}
}

// indexAccount writes the expiry marker of an account about to be stored
// empty: it is swept a day after its creation, or now when that is past,
// unless it holds something by then.
func (s *Store) indexAccount(ctx context.Context, r record) error {
	if !r.empty() {
		return nil
	}
	at := r.Created.Add(emptyAccountLife)
	if now := s.now(); now.After(at) {
		at = now
	}
	return s.expiry.Add(ctx, at, markerAccount+r.ID)
}

// indexPod writes the marker of account id in the index of podURL.
func (s *Store) indexPod(ctx context.Context, podURL, id string) error {
	return s.putMarker(ctx, podKey(podURL, id))
}

// layoutRecord is the object of keyLayout.
type layoutRecord struct {
	Indexed time.Time `json:"indexed"`
}

// isMigrated reports whether every record stored before the indexes
// existed has been indexed: one Stat until the answer is yes, nothing
// after.
func (s *Store) isMigrated(ctx context.Context) (bool, error) {
	if s.migrated.Load() {
		return true, nil
	}
	_, err := s.backend.Stat(ctx, keyLayout)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account: reading the layout: %w", err)
	}
	s.migrated.Store(true)
	return true, nil
}

// Migrate indexes the records stored before the indexes existed: every
// session under its account and at its expiry, every password reset at
// its expiry, every pod under the accounts holding it, every empty
// account and pending WebID proof at its expiry. It reads every record,
// once per storage: the last step marks the storage done, and after that
// Migrate costs nothing. Several processes may run it at once: every
// marker is written with If-None-Match. Until it has run, account
// deletion and ForgetPod also look the slow way, so nothing is missed.
func (s *Store) Migrate(ctx context.Context) error {
	if ok, err := s.isMigrated(ctx); ok || err != nil {
		return err
	}
	ids, err := s.listKeys(ctx, accountPrefix)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, _, err := s.read(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.indexAccount(ctx, r); err != nil {
			return err
		}
		for _, p := range r.Proofs {
			if err := s.expiry.Add(ctx, p.Expires, markerProof+r.ID); err != nil {
				return err
			}
		}
		for _, pod := range r.Pods {
			if err := s.indexPod(ctx, pod, r.ID); err != nil {
				return err
			}
		}
	}
	digests, err := s.listKeys(ctx, sessionPrefix)
	if err != nil {
		return err
	}
	for _, d := range digests {
		var rec sessionRecord
		if _, err := s.readJSON(ctx, sessionPrefix+d, &rec); errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if !validID(rec.Account) {
			continue
		}
		if err := s.indexSession(ctx, d, rec); err != nil {
			return err
		}
	}
	digests, err = s.listKeys(ctx, resetPrefix)
	if err != nil {
		return err
	}
	for _, d := range digests {
		var rec resetRecord
		if _, err := s.readJSON(ctx, resetPrefix+d, &rec); errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := s.expiry.Add(ctx, rec.Expires, markerReset+d); err != nil {
			return err
		}
	}
	if _, err := s.writeJSON(ctx, keyLayout, layoutRecord{Indexed: s.now().UTC()}, storage.PutOptions{}); err != nil {
		return fmt.Errorf("account: marking the layout: %w", err)
	}
	s.migrated.Store(true)
	return nil
}

// listKeys returns the names of the objects directly under prefix.
func (s *Store) listKeys(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	for info, err := range s.backend.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("account: listing %s: %w", prefix, err)
		}
		if !info.IsPrefix {
			names = append(names, strings.TrimPrefix(info.Key, prefix))
		}
	}
	return names, nil
}
