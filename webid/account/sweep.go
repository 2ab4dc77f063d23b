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
// returns how many records it deleted or changed. Several processes may
// sweep at once: every delete and change is conditional on the record
// read.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	var total int
	var errs []error
	for _, f := range []func(context.Context) (int, error){s.SweepResets, s.SweepSessions, s.SweepEmptyAccounts, s.SweepProofs} {
		n, err := f(ctx)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// SweepSessions deletes the sessions that have expired and returns how
// many it deleted.
func (s *Store) SweepSessions(ctx context.Context) (int, error) {
	return sweep(ctx, s, sessionPrefix, "sessions", func(r sessionRecord, now time.Time) bool {
		return !now.Before(r.Expires)
	})
}

// SweepEmptyAccounts deletes the accounts made more than a day ago that
// hold nothing: no login, WebID, pod or client credential. Such an account
// can only be reached with the session it was made with, which has no way
// to get it back once lost. It returns how many it deleted.
func (s *Store) SweepEmptyAccounts(ctx context.Context) (int, error) {
	return sweep(ctx, s, accountPrefix, "empty accounts", func(r record, now time.Time) bool {
		return r.empty() && !now.Before(r.Created.Add(emptyAccountLife))
	})
}

// empty reports whether the account holds nothing: no login, WebID, pod
// or client credential.
func (r record) empty() bool {
	return r.Email == "" && r.Password == "" && len(r.WebIDs) == 0 && len(r.Pods) == 0 && len(r.Credentials) == 0
}

// SweepProofs drops the pending proofs of WebID control that have expired
// (a WebID link asked for and never finished) from the accounts that hold
// some, and returns how many accounts it changed.
func (s *Store) SweepProofs(ctx context.Context) (int, error) {
	var ids []string
	for info, err := range s.backend.List(ctx, accountPrefix) {
		if err != nil {
			return 0, fmt.Errorf("account: listing accounts: %w", err)
		}
		if !info.IsPrefix {
			ids = append(ids, strings.TrimPrefix(info.Key, accountPrefix))
		}
	}
	n := 0
	var firstErr error
	for _, id := range ids {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		r, _, err := s.read(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err == nil && !hasExpiredProof(r, s.now()) {
			continue
		}
		if err == nil {
			_, err = s.update(ctx, id, func(r *record) error {
				now := s.now()
				for webID, p := range r.Proofs {
					if !now.Before(p.Expires) {
						delete(r.Proofs, webID)
					}
				}
				return nil
			})
		}
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrNotFound):
		case firstErr == nil:
			firstErr = err
		}
	}
	if firstErr != nil {
		return n, fmt.Errorf("account: sweeping pending WebID proofs: %w", firstErr)
	}
	return n, nil
}

func hasExpiredProof(r record, now time.Time) bool {
	for _, p := range r.Proofs {
		if !now.Before(p.Expires) {
			return true
		}
	}
	return false
}

// sweep deletes the JSON records under prefix for which expired holds,
// each with If-Match on what was read, so that a record changed meanwhile
// stays. It goes on past a failing record and returns the first problem.
func sweep[T any](ctx context.Context, s *Store, prefix, what string, expired func(T, time.Time) bool) (int, error) {
	var keys []string
	for info, err := range s.backend.List(ctx, prefix) {
		if err != nil {
			return 0, fmt.Errorf("account: listing %s: %w", what, err)
		}
		if !info.IsPrefix {
			keys = append(keys, info.Key)
		}
	}
	n := 0
	now := s.now()
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, key := range keys {
		if ctx.Err() != nil {
			keep(ctx.Err())
			break
		}
		var rec T
		etag, err := s.readJSON(ctx, key, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			keep(err)
			continue
		}
		if !expired(rec, now) {
			continue
		}
		err = s.backend.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
		switch {
		case err == nil:
			n++
		case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrPreconditionFailed):
		default:
			keep(err)
		}
	}
	if firstErr != nil {
		return n, fmt.Errorf("account: sweeping %s: %w", what, firstErr)
	}
	return n, nil
}
