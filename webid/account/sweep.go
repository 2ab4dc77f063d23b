package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// emptyAccountLife is how long an account with nothing in it (no login,
// WebID, pod or client credential) is kept: long enough to finish a
// sign-up through the JSON API, which makes the account first and adds
// its login next.
const emptyAccountLife = 24 * time.Hour

// Sweep deletes what has expired and is otherwise only removed when next
// looked at: password resets, sessions, and accounts left empty for a
// day, and drops expired pending WebID proofs from the accounts. It
// returns how many records it deleted or changed.
//
// It finds them through the expiry index (index.go), so it reads what
// expired and nothing else, after indexing the records stored before the
// index existed once per storage (Migrate). Several processes may sweep
// at once: every delete and change is conditional on the record read; the
// server lets one at a time do it (storage/expiry.Lease).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	if err := s.Migrate(ctx); err != nil {
		return 0, err
	}
	return s.sweepKinds(ctx, markerSession, markerReset, markerAccount, markerProof)
}

// sweepKinds sweeps the expiry markers of the kinds given (and leaves the
// others) and returns how many records it deleted or changed.
func (s *Store) sweepKinds(ctx context.Context, kinds ...string) (int, error) {
	n := 0
	now := s.now()
	err := s.expiry.Sweep(ctx, now, func(ctx context.Context, name string) (bool, error) {
		kind, rest, _ := strings.Cut(name, ".")
		kind += "."
		want := false
		for _, k := range kinds {
			want = want || k == kind
		}
		if !want {
			return false, nil
		}
		var changed, done bool
		var err error
		switch kind {
		case markerSession:
			changed, done, err = s.expireSession(ctx, rest, now)
		case markerReset:
			changed, done, err = expireRecord(ctx, s, resetPrefix+rest, func(r resetRecord) bool { return !now.Before(r.Expires) })
		case markerAccount:
			changed, done, err = expireRecord(ctx, s, accountPrefix+rest, func(r record) bool {
				return r.empty() && !now.Before(r.Created.Add(emptyAccountLife))
			})
		case markerProof:
			changed, done, err = s.expireProofs(ctx, rest, now)
		default:
			// Not a marker of this package: leave it to its hour's end.
			return false, nil
		}
		if changed {
			n++
		}
		return done, err
	})
	if err != nil {
		return n, fmt.Errorf("account: sweeping: %w", err)
	}
	return n, nil
}

// expireSession deletes the session of a marker "<account>.<digest>" when
// it has expired, with its marker under the account.
func (s *Store) expireSession(ctx context.Context, name string, now time.Time) (changed, done bool, err error) {
	account, d, ok := strings.Cut(name, ".")
	if !ok || !validID(account) {
		return false, true, nil
	}
	changed, done, err = expireRecord(ctx, s, sessionPrefix+d, func(r sessionRecord) bool { return !now.Before(r.Expires) })
	if err == nil && done {
		err = s.deleteKey(ctx, accountSessionKey(account, d))
	}
	return changed, done, err
}

// expireProofs drops the expired pending proofs of account id.
func (s *Store) expireProofs(ctx context.Context, id string, now time.Time) (changed, done bool, err error) {
	r, _, err := s.read(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	if !hasExpiredProof(r, now) {
		// Later proofs have markers of their own.
		return false, false, nil
	}
	_, err = s.update(ctx, id, func(r *record) error {
		for webID, p := range r.Proofs {
			if !now.Before(p.Expires) {
				delete(r.Proofs, webID)
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, true, nil
	}
	return err == nil, err == nil, err
}

// empty reports whether the account holds nothing: no login, WebID, pod
// or client credential.
func (r record) empty() bool {
	return r.Email == "" && r.Password == "" && len(r.WebIDs) == 0 && len(r.Pods) == 0 && len(r.Credentials) == 0
}

func hasExpiredProof(r record, now time.Time) bool {
	for _, p := range r.Proofs {
		if !now.Before(p.Expires) {
			return true
		}
	}
	return false
}

// expireRecord deletes the JSON record at key when expired holds for it,
// with If-Match on what was read, so that a record changed meanwhile
// stays. It reports whether it deleted it, and whether the record's
// marker is done with (deleted, or gone already).
func expireRecord[T any](ctx context.Context, s *Store, key string, expired func(T) bool) (changed, done bool, err error) {
	var rec T
	etag, err := s.readJSON(ctx, key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	if !expired(rec) {
		return false, false, nil
	}
	err = s.backend.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, true, nil
	case errors.Is(err, storage.ErrPreconditionFailed):
		// Changed since read: its new state has its own marker if it
		// still expires.
		return false, false, nil
	}
	return false, false, err
}
