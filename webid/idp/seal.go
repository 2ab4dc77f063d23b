package idp

import (
	"github.com/weconomics/kluis/storage/seal"
)

// SecretKeySize is the size of Config.SecretKey and PreviousSecretKey.
const SecretKeySize = seal.KeySize

// ErrSecretKey means the provider's secrets in storage (its signing keys,
// its CSRF key) cannot be read with the configured secret keys: they were
// sealed with another key, or they are sealed and no key is configured.
var ErrSecretKey = seal.ErrKey

// sealer encrypts the provider's secrets before they go to storage
// (storage/seal), so that a copy of the bucket or the data folder does
// not hand over the keys that sign every access token. The zero sealer
// stores secrets in the clear (no key configured).
type sealer struct {
	current, previous []byte
}

func (s sealer) box() seal.Sealer { return seal.Sealer{Current: s.current, Previous: s.previous} }

// on reports whether secrets are sealed.
func (s sealer) on() bool { return s.box().On() }

// seal encrypts plain under the current key.
func (s sealer) seal(plain []byte) (string, error) { return s.box().Seal(plain) }

// open decrypts a sealed record; stale reports that it was sealed with
// the previous key and is to be sealed again.
func (s sealer) open(sealed string) (plain []byte, stale bool, err error) {
	return s.box().Open(sealed)
}
