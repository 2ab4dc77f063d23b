package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Session is a login session: the token the client keeps (in the
// css-account cookie or an Authorization: CSS-Account-Token header) and
// when it expires. Only the token's SHA-256 is stored.
type Session struct {
	Token   string
	Expires time.Time
}

// sessionRecord is a session as stored.
type sessionRecord struct {
	Account string    `json:"account"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Gen is the account's session generation when the session began.
	Gen int `json:"gen,omitempty"`
	// Provisional marks a session of an account that held nothing when
	// it began: it expires with the account, a day after its creation,
	// unless the account holds something by then, when it gets its full
	// lifetime at its next use.
	Provisional bool `json:"provisional,omitempty"`
}

// tokenLength is the length of a session token or client secret: 32
// random bytes in unpadded base64url.
const tokenLength = 43

// newToken returns 256 random bits as unpadded base64url.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validToken reports whether t could be a token newToken made.
func validToken(t string) bool {
	if len(t) != tokenLength {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// NewSession starts a login session for account id. The session of an
// account that holds nothing yet (Create) is stored to expire with the
// account, so that anonymous sign-ups leave nothing for longer than a
// day; Session.Expires is the expiry it gets once the account holds
// something (a login, say).
func (s *Store) NewSession(ctx context.Context, id string) (Session, error) {
	r, _, err := s.read(ctx, id)
	if err != nil {
		return Session{}, err
	}
	tok := newToken()
	now := s.now().UTC()
	rec := sessionRecord{Account: id, Created: now, Expires: now.Add(s.session), Gen: r.SessionGen}
	full := rec.Expires
	if r.empty() {
		rec.Provisional = true
		if end := r.Created.Add(emptyAccountLife).UTC(); end.Before(rec.Expires) {
			rec.Expires = end
		}
	}
	if err := s.indexSession(ctx, digest(tok), rec); err != nil {
		return Session{}, err
	}
	if _, err := s.writeJSON(ctx, sessionPrefix+digest(tok), rec, storage.PutOptions{IfNoneMatch: true}); err != nil {
		return Session{}, fmt.Errorf("account: starting a session: %w", err)
	}
	return Session{Token: tok, Expires: full}, nil
}

// SessionAccount returns the account of a live session, or ErrNoSession.
// This is how the identity provider's authorize endpoint learns who the
// browser's css-account cookie belongs to.
func (s *Store) SessionAccount(ctx context.Context, token string) (Account, error) {
	if !validToken(token) {
		return Account{}, ErrNoSession
	}
	key := sessionPrefix + digest(token)
	var rec sessionRecord
	etag, err := s.readJSON(ctx, key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return Account{}, ErrNoSession
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: session: %w", err)
	}
	if !s.now().Before(rec.Expires) {
		s.dropSession(ctx, digest(token), rec.Account, etag)
		return Account{}, ErrNoSession
	}
	r, _, err := s.read(ctx, rec.Account)
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrNoSession
	}
	if err != nil {
		return Account{}, err
	}
	if rec.Gen != r.SessionGen {
		// Ended by a password reset.
		s.dropSession(ctx, digest(token), rec.Account, etag)
		return Account{}, ErrNoSession
	}
	if rec.Provisional && !r.empty() {
		// The sign-up went on: the session gets its full lifetime. Losing
		// a race with another request that does the same is fine.
		rec.Provisional, rec.Expires = false, rec.Created.Add(s.session)
		if s.expiry.Add(ctx, rec.Expires, sessionMarker(rec.Account, digest(token))) == nil {
			_, _ = s.writeJSON(ctx, key, rec, storage.PutOptions{IfMatch: etag})
		}
	}
	return r.account(), nil
}

// EndSession ends the session of token (logging out); an unknown token is
// no error.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if !validToken(token) {
		return nil
	}
	d := digest(token)
	var rec sessionRecord
	_, err := s.readJSON(ctx, sessionPrefix+d, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: ending a session: %w", err)
	}
	if err := s.deleteKey(ctx, sessionPrefix+d); err != nil {
		return fmt.Errorf("account: ending a session: %w", err)
	}
	if validID(rec.Account) {
		if err := s.deleteKey(ctx, accountSessionKey(rec.Account, d)); err != nil {
			return fmt.Errorf("account: ending a session: %w", err)
		}
	}
	return nil
}
