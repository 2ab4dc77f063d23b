package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// SecretKeySize is the size of Config.SecretKey and PreviousSecretKey.
const SecretKeySize = 32

// ErrSecretKey means the provider's secrets in storage (its signing keys,
// its CSRF key) cannot be read with the configured secret keys: they were
// sealed with another key, or they are sealed and no key is configured.
var ErrSecretKey = errors.New("idp: the provider's secrets in storage are sealed with another secret key, or with one that is not configured")

// sealer encrypts the provider's secrets before they go to storage, so
// that a copy of the bucket or the data folder (a backup, a leaked
// access key) does not hand over the keys that sign every access token.
// The sealed form is a compact JWE (RFC 7516) with direct encryption under
// the secret key and AES-256-GCM (RFC 7518 §4.5, §5.3), made and read by
// go-jose; its kid names the key, so that a record sealed with the
// previous key is read and sealed again with the current one.
//
// The zero sealer stores secrets in the clear (no key configured).
type sealer struct {
	current, previous []byte
}

// keyID names a secret key without revealing it: the first 8 bytes of its
// SHA-256, base64url.
func keyID(k []byte) string {
	sum := sha256.Sum256(k)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// on reports whether secrets are sealed.
func (s sealer) on() bool { return s.current != nil }

// seal encrypts plain under the current key.
func (s sealer) seal(plain []byte) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: s.current, KeyID: keyID(s.current)}, nil)
	if err != nil {
		return "", fmt.Errorf("idp: sealing: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("idp: sealing: %w", err)
	}
	return obj.CompactSerialize()
}

// open decrypts a sealed record; stale reports that it was sealed with
// the previous key and is to be sealed again.
func (s sealer) open(sealed string) (plain []byte, stale bool, err error) {
	obj, err := jose.ParseEncryptedCompact(sealed, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, false, fmt.Errorf("idp: sealed secret unreadable: %w", err)
	}
	var key []byte
	switch kid := obj.Header.KeyID; {
	case s.current != nil && kid == keyID(s.current):
		key = s.current
	case s.previous != nil && kid == keyID(s.previous):
		key, stale = s.previous, true
	default:
		return nil, false, ErrSecretKey
	}
	plain, err = obj.Decrypt(key)
	if err != nil {
		// The kid matched, so the record was changed or corrupted.
		return nil, false, fmt.Errorf("idp: sealed secret does not decrypt: %w", err)
	}
	return plain, stale, nil
}
