// Package seal encrypts secrets before they go to storage, so that a copy
// of the bucket or the data folder (a backup, a leaked access key) does
// not hand over the keys that sign access tokens and credentials. The
// identity provider (webid/idp) and the credential service (credential)
// seal their signing keys with the server's secret key (KLUIS_SECRET_KEY)
// through it.
//
// The sealed form is a compact JWE (RFC 7516) with direct encryption under
// the secret key and AES-256-GCM (RFC 7518 §4.5, §5.3), made and read by
// go-jose; its kid names the key, so that a record sealed with the
// previous key is read and sealed again with the current one.
//
// This package imports nothing of Kluis.
package seal

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySize is the size of a secret key.
const KeySize = 32

// ErrKey means a sealed record cannot be opened with the configured
// secret keys: it was sealed with another key, or no key is configured.
var ErrKey = errors.New("seal: the secrets in storage are sealed with another secret key, or with one that is not configured")

// Sealer seals with Current and opens what Current or Previous sealed.
// The zero Sealer is off: its users store secrets in the clear.
type Sealer struct {
	Current, Previous []byte
}

// keyID names a secret key without revealing it: the first 8 bytes of its
// SHA-256, base64url.
func keyID(k []byte) string {
	sum := sha256.Sum256(k)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// On reports whether secrets are sealed.
func (s Sealer) On() bool { return s.Current != nil }

// Seal encrypts plain under the current key.
func (s Sealer) Seal(plain []byte) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: s.Current, KeyID: keyID(s.Current)}, nil)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return obj.CompactSerialize()
}

// Open decrypts a sealed record; stale reports that it was sealed with
// the previous key and is to be sealed again.
func (s Sealer) Open(sealed string) (plain []byte, stale bool, err error) {
	obj, err := jose.ParseEncryptedCompact(sealed, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, false, fmt.Errorf("seal: sealed secret unreadable: %w", err)
	}
	var key []byte
	switch kid := obj.Header.KeyID; {
	case s.Current != nil && kid == keyID(s.Current):
		key = s.Current
	case s.Previous != nil && kid == keyID(s.Previous):
		key, stale = s.Previous, true
	default:
		return nil, false, ErrKey
	}
	plain, err = obj.Decrypt(key)
	if err != nil {
		// The kid matched, so the record was changed or corrupted.
		return nil, false, fmt.Errorf("seal: sealed secret does not decrypt: %w", err)
	}
	return plain, stale, nil
}
