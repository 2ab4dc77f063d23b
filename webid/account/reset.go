package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Password reset by e-mail, the Community Solid Server's "forgot
// password": a person who forgot their password asks for a reset with
// their e-mail address; when the address has a login, the server mails a
// link holding a reset token; the token sets a new password once.
//
// This package keeps the records and the rules; sending the mail is the
// server's. Nothing here tells a caller more than the person asking may
// know: AllowReset answers the same whether or not an address has a
// login, and NewReset, which does tell, is for work done after the answer
// has gone (the server sends the mail in the background).
//
// A reset record is stored under sys/accounts/reset/<sha256(token)>, like
// the sessions: the token itself (256 random bits) is never stored. The
// record names the account and a stamp of the password hash it was made
// for, so that any change of the password, by another reset or by its
// owner, voids every reset record made before it. A reset also ends every
// session of the account (Account's session generation).

// DefaultResetTTL is how long a password reset link works, unless
// Options.ResetTTL says otherwise.
const DefaultResetTTL = time.Hour

// resetRecord is a pending password reset as stored.
type resetRecord struct {
	Account string    `json:"account"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Stamp is the digest of the password hash the reset replaces.
	Stamp string `json:"stamp"`
}

// Reset is a password reset just made: the token to mail, and to whom.
type Reset struct {
	// Token goes into the link; only its SHA-256 is stored.
	Token string
	// Account is the account whose password the token resets.
	Account Account
	// Expires is when the token stops working.
	Expires time.Time
}

// AllowReset checks a request for a password reset by e-mail before
// anything is looked up: it returns the normalised address (an
// *InputError when it is none) and takes one attempt from the limits per
// address and per client address (a *RateLimitedError). Both answers are
// the same whether or not the address has a login.
func (s *Store) AllowReset(email, clientAddr string) (string, error) {
	email, err := NormaliseEmail(email)
	if err != nil {
		return "", err
	}
	addr, acct := addressKey(clientAddr), digest(email)
	if err := s.resetsPerAddress.take(addr); err != nil {
		return "", err
	}
	if err := s.resetsPerAccount.take(acct); err != nil {
		s.resetsPerAddress.give(addr)
		return "", err
	}
	return email, nil
}

// NewReset makes a password reset record for the login of email (as
// AllowReset normalised it) and returns its token. ErrNotFound means no
// account logs in with the address; nothing is stored then. Only work
// whose outcome the asker never sees may call it, since its answer tells
// whether the address has a login.
func (s *Store) NewReset(ctx context.Context, email string) (Reset, error) {
	var idx emailIndex
	_, err := s.readJSON(ctx, emailPrefix+digest(email), &idx)
	if errors.Is(err, storage.ErrNotFound) {
		return Reset{}, fmt.Errorf("login: %w", ErrNotFound)
	}
	if err != nil {
		return Reset{}, fmt.Errorf("account: password reset: %w", err)
	}
	r, _, err := s.read(ctx, idx.Account)
	if err != nil {
		return Reset{}, err
	}
	if r.Email != email || r.Password == "" {
		// A claim whose account never stored the address.
		return Reset{}, fmt.Errorf("login: %w", ErrNotFound)
	}
	tok := newToken()
	now := s.now().UTC()
	rec := resetRecord{Account: r.ID, Created: now, Expires: now.Add(s.resetTTL), Stamp: digest(r.Password)}
	if err := s.expiry.Add(ctx, rec.Expires, markerReset+digest(tok)); err != nil {
		return Reset{}, err
	}
	if _, err := s.writeJSON(ctx, resetPrefix+digest(tok), rec, storage.PutOptions{IfNoneMatch: true}); err != nil {
		return Reset{}, fmt.Errorf("account: storing a password reset: %w", err)
	}
	return Reset{Token: tok, Account: r.account(), Expires: rec.Expires}, nil
}

// CancelReset deletes the reset record of token (its mail could not be
// sent); an unknown token is no error.
func (s *Store) CancelReset(ctx context.Context, token string) error {
	if !validToken(token) {
		return nil
	}
	if err := s.deleteKey(ctx, resetPrefix+digest(token)); err != nil {
		return fmt.Errorf("account: cancelling a password reset: %w", err)
	}
	return nil
}

// CheckReset reports whether token would reset a password now: nil, or
// ErrResetInvalid. It changes nothing but the removal of an expired
// record, so the reset page can tell a dead link before asking for a new
// password.
func (s *Store) CheckReset(ctx context.Context, token string) error {
	_, _, err := s.readReset(ctx, token)
	return err
}

// readReset reads the live reset record of token with its ETag.
func (s *Store) readReset(ctx context.Context, token string) (resetRecord, string, error) {
	if !validToken(token) {
		return resetRecord{}, "", ErrResetInvalid
	}
	key := resetPrefix + digest(token)
	var rec resetRecord
	etag, err := s.readJSON(ctx, key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return resetRecord{}, "", ErrResetInvalid
	}
	if err != nil {
		return resetRecord{}, "", fmt.Errorf("account: password reset: %w", err)
	}
	if !s.now().Before(rec.Expires) {
		_ = s.backend.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
		return resetRecord{}, "", ErrResetInvalid
	}
	return rec, etag, nil
}

// ResetPassword sets the password of the account that token was made for,
// consumes the token and ends every session of the account. The password
// follows CheckPassword (an *InputError, checked first, so a weak password
// does not use the token up). A token that is unknown, used, expired or
// made for a password that has changed since is ErrResetInvalid; such
// attempts count against the login limit of the client address.
func (s *Store) ResetPassword(ctx context.Context, token, password, clientAddr string) (Account, error) {
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	addr := addressKey(clientAddr)
	if err := s.perAddress.take(addr); err != nil {
		return Account{}, err
	}
	rec, etag, err := s.readReset(ctx, token)
	if err != nil {
		return Account{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return Account{}, err
	}
	// Consume first, conditionally: of two resets with one token, exactly
	// one gets past this.
	err = s.backend.Delete(ctx, resetPrefix+digest(token), storage.DeleteOptions{IfMatch: etag})
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrPreconditionFailed) {
		return Account{}, ErrResetInvalid
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: consuming a password reset: %w", err)
	}
	r, err := s.update(ctx, rec.Account, func(r *record) error {
		if r.Email == "" || r.Password == "" || digest(r.Password) != rec.Stamp {
			return ErrResetInvalid
		}
		r.Password = hash
		r.SessionGen++
		r.SignedOutAt = s.now()
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrResetInvalid
	}
	if err != nil {
		return Account{}, err
	}
	s.perAddress.give(addr)
	return r.account(), nil
}

// SweepResets deletes the reset records that have expired, which are
// otherwise only removed when their link is used, and returns how many it
// deleted. It reads only what expired (Sweep).
func (s *Store) SweepResets(ctx context.Context) (int, error) {
	return s.sweepKinds(ctx, markerReset)
}
