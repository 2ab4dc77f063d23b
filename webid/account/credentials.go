package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Client credentials (Solid-OIDC §6 client credentials grant; the
// Community Solid Server's "client credentials tokens"): a script logs in
// as one of the account's WebIDs with an id and a secret, without a
// browser. The secret is shown once, at creation; only its SHA-256 is
// stored.

// CredentialInfo describes a client credential, without its secret.
type CredentialInfo struct {
	// ID is the client id: the sanitised name, "_", and a random UUID, as
	// the Community Solid Server makes them.
	ID      string
	Name    string
	WebID   string
	Created time.Time
}

// credentialItem is a credential in its account's list.
type credentialItem struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	WebID   string    `json:"webId"`
	Created time.Time `json:"created"`
}

func (c credentialItem) info() CredentialInfo {
	return CredentialInfo{ID: c.ID, Name: c.Name, WebID: c.WebID, Created: c.Created}
}

// credentialRecord is a credential as stored for lookup by id.
type credentialRecord struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	WebID   string    `json:"webId"`
	Secret  string    `json:"secretSha256"`
	Created time.Time `json:"created"`
}

// Credential is a client credential as the identity provider's token
// endpoint sees it.
type Credential struct {
	ID        string
	AccountID string
	WebID     string
	// secret is the SHA-256 of the secret.
	secret []byte
}

// Verify reports whether secret is the credential's secret, comparing in
// constant time.
func (c Credential) Verify(secret string) bool {
	if len(c.secret) != sha256.Size {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], c.secret) == 1
}

// maxCredentialName bounds the name part of a client id.
const maxCredentialName = 64

// sanitiseName keeps the letters, digits, "-", "." and "~" of a
// credential's name, and makes every other run of characters one "-".
func sanitiseName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.TrimSpace(name) {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '~'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxCredentialName {
			break
		}
	}
	return b.String()
}

// CreateCredential makes a client credential of account id that logs in
// as webID, which must be linked to the account (ErrNotLinked). It returns
// the credential and its secret, which cannot be read again.
func (s *Store) CreateCredential(ctx context.Context, id, name, webID string) (CredentialInfo, string, error) {
	item := credentialItem{
		ID: sanitiseName(name) + "_" + newID(), Name: strings.TrimSpace(name), WebID: webID, Created: s.now().UTC(),
	}
	if len(item.Name) > 200 {
		return CredentialInfo{}, "", &InputError{Field: "name", Reason: "at most 200 bytes"}
	}
	secret := newToken()
	// The account lists the credential before the credential exists, so a
	// crash in between leaves a listed credential that does not work,
	// never a working one that is not listed.
	_, err := s.update(ctx, id, func(r *record) error {
		if !slices.Contains(r.WebIDs, webID) {
			return ErrNotLinked
		}
		if len(r.Credentials) >= MaxCredentials {
			return fmt.Errorf("%w: at most %d client credentials", ErrTooMany, MaxCredentials)
		}
		r.Credentials = append(r.Credentials, item)
		return nil
	})
	if err != nil {
		return CredentialInfo{}, "", err
	}
	rec := credentialRecord{ID: item.ID, Account: id, WebID: webID, Secret: digest(secret), Created: item.Created}
	if _, err := s.writeJSON(ctx, credPrefix+digest(item.ID), rec, storage.PutOptions{IfNoneMatch: true}); err != nil {
		return CredentialInfo{}, "", fmt.Errorf("account: storing a client credential: %w", err)
	}
	return item.info(), secret, nil
}

// Credentials lists the client credentials of account id.
func (s *Store) Credentials(ctx context.Context, id string) ([]CredentialInfo, error) {
	r, _, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]CredentialInfo, 0, len(r.Credentials))
	for _, c := range r.Credentials {
		out = append(out, c.info())
	}
	return out, nil
}

// DeleteCredential removes the client credential credID of account id;
// ErrNotFound when the account has none of that id.
func (s *Store) DeleteCredential(ctx context.Context, id, credID string) error {
	r, _, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(r.Credentials, func(c credentialItem) bool { return c.ID == credID }) {
		return fmt.Errorf("client credential: %w", ErrNotFound)
	}
	// Revoked first, then unlisted.
	if err := s.backend.Delete(ctx, credPrefix+digest(credID), storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("account: deleting a client credential: %w", err)
	}
	_, err = s.update(ctx, id, func(r *record) error {
		r.Credentials = slices.DeleteFunc(r.Credentials, func(c credentialItem) bool { return c.ID == credID })
		return nil
	})
	return err
}

// ClientCredential returns the client credential with client id credID,
// for the identity provider's token endpoint, or ErrNotFound. A
// credential whose WebID is no longer linked to its account is not found.
func (s *Store) ClientCredential(ctx context.Context, credID string) (Credential, error) {
	if credID == "" || len(credID) > 200 {
		return Credential{}, fmt.Errorf("client credential: %w", ErrNotFound)
	}
	var rec credentialRecord
	_, err := s.readJSON(ctx, credPrefix+digest(credID), &rec)
	if errors.Is(err, storage.ErrNotFound) || err == nil && rec.ID != credID {
		return Credential{}, fmt.Errorf("client credential: %w", ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("account: client credential: %w", err)
	}
	a, err := s.Get(ctx, rec.Account)
	if err != nil {
		return Credential{}, err
	}
	if !a.Linked(rec.WebID) {
		return Credential{}, fmt.Errorf("client credential: WebID unlinked: %w", ErrNotFound)
	}
	sum, err := hex.DecodeString(rec.Secret)
	if err != nil {
		return Credential{}, fmt.Errorf("account: client credential: damaged secret hash")
	}
	return Credential{ID: rec.ID, AccountID: rec.Account, WebID: rec.WebID, secret: sum}, nil
}
